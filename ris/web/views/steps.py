"""What a scheduler or technologist does to one step from the board."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ris.scheduling.models import ScheduledProcedureStep
from ris.scheduling.services import (
    SchedulingConflict,
    scheduled_step_cancel,
    scheduled_step_mark_arrived,
    scheduled_step_reschedule,
)
from ris.web.forms import SlotForm
from ris.web.views.common import back_to, board_query, step_shown, to_board

can_change_steps = permission_required(
    "scheduling.change_scheduledprocedurestep", raise_exception=True
)


def _step(pk: int) -> ScheduledProcedureStep:
    return get_object_or_404(
        ScheduledProcedureStep.objects.select_related(
            "station", "requested_procedure__order__patient"
        ),
        pk=pk,
    )


@login_required
@can_change_steps
def reschedule(request, pk: int):
    step = _step(pk)
    local_start = timezone.localtime(step.start)
    initial = {
        "station": step.station_id,
        "day": local_start.date(),
        "start_time": local_start.time(),
    }
    form = SlotForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            moved = scheduled_step_reschedule(
                step=step, start=form.start(), station=form.cleaned_data["station"]
            )
        except SchedulingConflict as conflict:
            form.refuse(conflict)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Moved {step_shown(moved)}.")
            return to_board(moved)
    return render(request, "web/reschedule.html", {"nav": "board", "step": step, "form": form})


@require_POST
@login_required
@can_change_steps
def cancel(request, pk: int):
    return _change(request, pk, scheduled_step_cancel, "Canceled")


@require_POST
@login_required
@permission_required("scheduling.mark_arrived", raise_exception=True)
def arrive(request, pk: int):
    return _change(request, pk, scheduled_step_mark_arrived, "Arrived:")


def _change(request, pk: int, change, done: str):
    step = _step(pk)
    try:
        change(step=step)
    except SchedulingConflict as conflict:
        messages.error(request, conflict.comment)
    else:
        messages.success(request, f"{done} {step_shown(step)}.")
    return back_to(request, "web:board", otherwise=board_query(step), fragment=f"#step-{step.pk}")
