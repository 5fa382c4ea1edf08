"""What several screens share: how a step or a name is said, the day asked
for, and where a form sends the user back to."""

from datetime import date

from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from ris.dicom.person_name import PersonName
from ris.scheduling.models import ScheduledProcedureStep
from ris.web.forms import FIRST_DAY, LAST_DAY


def day_asked(value: str) -> date:
    """The day of a ?date= query, today when it is missing or no usable date."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return timezone.localdate()
    return day if FIRST_DAY <= day <= LAST_DAY else timezone.localdate()


def name_shown(value: str) -> str:
    """A DICOM person name as the board shows one: "MÜLLER, Jürgen"."""
    name = PersonName.parse(str(value or ""))
    given = " ".join(part for part in (name.given, name.middle) if part)
    if name.family and given:
        return f"{name.family.upper()}, {given}"
    return name.family.upper() or given or name.readable()


def step_shown(step: ScheduledProcedureStep) -> str:
    start = timezone.localtime(step.start)
    patient = step.requested_procedure.order.patient
    return f"{step.description} of {patient} at {start:%H:%M} on {start:%Y-%m-%d}"


def to_board(step: ScheduledProcedureStep):
    """The board of the step's day, scrolled to it."""
    return redirect(f"{reverse('web:board')}{board_query(step)}#step-{step.pk}")


def board_query(step: ScheduledProcedureStep) -> str:
    return f"?date={timezone.localdate(step.start):%Y-%m-%d}"


def back_to(request, url_name: str, *, otherwise: str = "", fragment: str = ""):
    """To the list or board the form was on: its query (filter, page, day) is
    kept if it is a relative query, and nothing else is followed; without one,
    the query `otherwise`."""
    back = request.POST.get("next", "")
    if not (back.startswith("?") and url_has_allowed_host_and_scheme(back, allowed_hosts=None)):
        back = otherwise
    return redirect(f"{reverse(url_name)}{back}{fragment}")
