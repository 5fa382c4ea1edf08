"""The day board: the home page, each station a column with its steps in time
order, kept current by ris.js polling for the board's fragment."""

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Max, Sum
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from ris.scheduling.models import Modality, ScheduledProcedureStep, Station, StepStatus
from ris.scheduling.selectors import scheduled_steps_on_day, starting_on
from ris.scheduling.services import PENDING_STEP_STATUSES
from ris.web.models import usual_modality, usual_modality_remember
from ris.web.views.common import day_asked

# What a scheduler calls a step an MPPS has started.
STATUS_LABELS = {StepStatus.STARTED: "In progress"}
REFRESH_HEADER = "X-Board-Version"


@dataclass
class Column:
    title: str
    subtitle: str = ""
    steps: list[ScheduledProcedureStep] = field(default_factory=list)


@login_required
@permission_required("scheduling.view_scheduledprocedurestep", raise_exception=True)
def board(request):
    day = day_asked(request.GET.get("date", ""))
    modality = _modality(request)
    version = _version(day, modality)
    if REFRESH_HEADER in request.headers:
        return _refresh(request, day, modality, version)
    return render(
        request,
        "web/board.html",
        {
            "nav": "board",
            "day": day,
            "today": timezone.localdate(),
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "modality": modality,
            "modalities": Modality.choices,
            "board": render_to_string("web/_board.html", _board_context(day, modality), request),
            "version": version,
            "refresh_seconds": settings.RIS_WEB_BOARD_REFRESH,
        },
    )


def _refresh(request, day: date, modality: str, version: str) -> HttpResponse:
    """The fragment for ris.js, or 204 when the board shows this version already
    (what most polls get, for the price of one aggregate query)."""
    if request.headers[REFRESH_HEADER] == version:
        response = HttpResponse(status=204)
    else:
        fragment = render_to_string("web/_board.html", _board_context(day, modality), request)
        response = HttpResponse(fragment)
    response[REFRESH_HEADER] = version
    response["Cache-Control"] = "no-store"
    return response


def _modality(request) -> str:
    """The modality asked for, else the user's usual one. Choosing one makes it
    the usual one (not on the board's own polls, which only repeat the choice)."""
    if "modality" not in request.GET:
        return usual_modality(request.user)
    modality = request.GET["modality"]
    if modality and modality not in Modality.values:
        modality = ""
    if REFRESH_HEADER not in request.headers and modality != usual_modality(request.user):
        usual_modality_remember(request.user, modality)
    return modality


def _board_context(day: date, modality: str) -> dict:
    steps = scheduled_steps_on_day(day=day)
    stations = Station.objects.filter(active=True)
    if modality:
        steps = steps.filter(modality=modality)
        stations = stations.filter(modality=modality)
    steps = list(steps)
    for step in steps:
        mark_status(step)
    columns = _columns(list(stations), steps)
    _mark_next_up(columns)
    return {
        "day": day,
        "columns": columns,
        "counts": _counts(steps),
        "arrivable": StepStatus.SCHEDULED,
        "modality": modality,
    }


def mark_status(step: ScheduledProcedureStep) -> None:
    """What a screen shows of a step's status, and whether it may still change."""
    step.board_status = STATUS_LABELS.get(step.status, step.get_status_display())
    step.pending = step.status in PENDING_STEP_STATUSES


def _version(day: date, modality: str) -> str:
    """What the board shows, as a short digest, from one aggregate query: it
    changes when a step of the day is booked, moved in or out, or changed, or
    its order or patient changes (each bumps an updated_at), or a station does.
    (The rendered board cannot serve: its forms carry a fresh CSRF token each
    time.)"""
    steps = ScheduledProcedureStep.objects.filter(starting_on(day))
    if modality:
        steps = steps.filter(modality=modality)
    summary = steps.aggregate(
        count=Count("pk"),
        keys=Sum("pk"),
        steps=Max("updated_at"),
        orders=Max("requested_procedure__order__updated_at"),
        patients=Max("requested_procedure__order__patient__updated_at"),
    )
    stations = list(Station.objects.values_list("pk", "name", "location", "modality", "active"))
    shown = (sorted(summary.items()), stations)
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:20]


def _columns(stations: list[Station], steps: list[ScheduledProcedureStep]) -> list[Column]:
    """A column per station in service, then one per station out of service that
    still has steps that day, then the steps booked without a station."""
    by_station: dict[int | None, list] = {}
    for step in steps:
        by_station.setdefault(step.station_id, []).append(step)
    columns = [_station_column(station, by_station.pop(station.pk, [])) for station in stations]
    unassigned = by_station.pop(None, [])
    for station_steps in by_station.values():
        columns.append(_station_column(station_steps[0].station, station_steps))
    if unassigned:
        columns.append(Column("No station", "booked without a station", unassigned))
    return columns


def _mark_next_up(columns: list[Column]) -> None:
    """In each column, the first step not yet done with: where ris.js scrolls the
    column to, so that today's board opens on what is happening now."""
    for column in columns:
        for step in column.steps:
            if step.pending or step.status == StepStatus.STARTED:
                step.next_up = True
                break


def _station_column(station: Station, steps: list) -> Column:
    subtitle = " · ".join(part for part in (station.modality, station.location) if part)
    if not station.active:
        subtitle += " · out of service"
    return Column(station.name, subtitle, steps)


def _counts(steps: list[ScheduledProcedureStep]) -> list[tuple[str, str, int]]:
    """How many steps of the day stand in each status, in workflow order."""
    counted = Counter(step.status for step in steps)
    return [
        (status.value, STATUS_LABELS.get(status, status.label), counted[status])
        for status in StepStatus
        if counted[status]
    ]
