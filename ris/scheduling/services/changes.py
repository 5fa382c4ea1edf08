"""Changes to what is booked: statuses (what MPPS reports cause), order details,
rescheduling, cancelling, arrival."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from ris.audit.services import audit_record
from ris.scheduling.models import (
    Order,
    OrderStatus,
    ScheduledProcedureStep,
    Station,
    StepStatus,
)
from ris.scheduling.services.booking import (
    check_station_free,
    check_step_modality,
)
from ris.scheduling.services.common import (
    FINAL_STEP_STATUSES,
    PENDING_STEP_STATUSES,
    SchedulingConflict,
    assign_fields,
    changed_fields,
    order_ref,
    step_ref,
    validated_save,
)
from ris.webhooks.services import webhook_status_changes


@transaction.atomic
def scheduled_steps_set_status(*, statuses: dict[ScheduledProcedureStep, str]) -> None:
    """Move steps to new statuses and their orders along (what MPPS reports cause).

    The caller holds the steps' row locks; the orders are locked here, in one
    order (by key), so that two reports for one order wait for each other and
    never deadlock.
    """
    changed = []
    for step, status in statuses.items():
        if step.status != status:
            detail = {"status": [step.status, status]}
            audit_record(action="step.status", **step_ref(step), detail=detail)
            step.status = status
            step.save(update_fields=["status", "updated_at"])
            changed.append(step)
    order_keys = {step.requested_procedure.order_id for step in statuses}
    orders = Order.objects.filter(pk__in=order_keys).order_by("pk").select_for_update()
    refreshed = [order for order in orders if _order_status_refreshed(order)]
    # The HIS hears of each change, in this transaction: steps, then orders.
    webhook_status_changes(steps=changed, orders=refreshed)


def order_refresh_status(*, order: Order) -> None:
    """An order is in progress once a step has started, and completed (or
    discontinued, if nothing was completed) once all its steps are done with."""
    if _order_status_refreshed(order):
        webhook_status_changes(orders=[order])


def _order_status_refreshed(order: Order) -> bool:
    """Give the order the status its steps make (order_refresh_status), with
    its audit record; whether it changed. The caller tells the HIS."""
    statuses = set(
        ScheduledProcedureStep.objects.filter(requested_procedure__order=order).values_list(
            "status", flat=True
        )
    )
    if statuses and statuses <= FINAL_STEP_STATUSES:
        if StepStatus.COMPLETED in statuses:
            new_status = OrderStatus.COMPLETED
        elif StepStatus.DISCONTINUED in statuses:
            new_status = OrderStatus.DISCONTINUED
        else:
            new_status = OrderStatus.CANCELED
    elif statuses - PENDING_STEP_STATUSES:
        new_status = OrderStatus.IN_PROGRESS
    else:
        new_status = OrderStatus.SCHEDULED
    if order.status != new_status:
        detail = {"status": [order.status, new_status]}
        audit_record(action="order.status", **order_ref(order), detail=detail)
        order.status = new_status
        order.save(update_fields=["status", "updated_at"])
        return True
    return False


ORDER_UPDATABLE_FIELDS = {
    "referring_physician_name",
    "requesting_physician",
    "requesting_service",
    "reason_for_request",
    "priority",
    "admission_id",
    "current_patient_location",
    "comments",
    "filler_order_number",
    "filler_issuer",
}


@transaction.atomic
def order_update(*, order: Order, **fields) -> Order:
    """Change an order's request details (comments, priority, physicians, ...)."""
    # Lock the row: a change and a status update of the same order wait for each other.
    order = Order.objects.select_for_update().get(pk=order.pk)
    changed = changed_fields(order, fields)
    assign_fields(order, fields=fields, allowed=ORDER_UPDATABLE_FIELDS)
    validated_save(order)
    if changed:
        audit_record(action="order.update", **order_ref(order), detail={"fields": changed})
    return order


@transaction.atomic
def scheduled_step_reschedule(
    *, step: ScheduledProcedureStep, start: datetime, station: Station | None = None
) -> ScheduledProcedureStep:
    """Move a step that has not started to a new start, and optionally to another
    station (whose AE title, name and room it then copies, as at booking). The
    new slot must be free on the station (Station.capacity)."""
    step = _pending_step_for_update(step, change="rescheduled")
    before = (step.start, step.scheduled_station_ae_title)
    if station is not None and station.pk != step.station_id:
        if not station.active:
            raise ValidationError({"station": f"The station {station} is not in service."})
        check_step_modality(step, station)  # its worklist item would go to another kind
        step.station = station
        step.scheduled_station_ae_title = station.ae_title
        step.scheduled_station_name = station.name
        step.location = station.location
        step.modality = station.modality
    step.start = start
    check_station_free(step)
    validated_save(step)
    after = (step.start, step.scheduled_station_ae_title)
    detail = {"start": [before[0], after[0]], "station": [before[1], after[1]]}
    audit_record(action="step.reschedule", **step_ref(step), detail=detail)
    return step


@transaction.atomic
def scheduled_step_cancel(*, step: ScheduledProcedureStep) -> ScheduledProcedureStep:
    """Cancel one step that has not started: it leaves the worklist and frees its
    slot, and its order's status follows (canceled once nothing else is left)."""
    step = _pending_step_for_update(step, change="canceled")
    scheduled_steps_set_status(statuses={step: StepStatus.CANCELED})
    return step


@transaction.atomic
def scheduled_step_mark_arrived(*, step: ScheduledProcedureStep) -> ScheduledProcedureStep:
    """The patient of a scheduled step has arrived (Scheduled Procedure Step
    Status ARRIVED, PS3.3 C.4.10); the step stays on the worklist. Marking a
    step that is arrived or ready already changes nothing."""
    step = _pending_step_for_update(step, change="marked arrived")
    if step.status == StepStatus.SCHEDULED:
        scheduled_steps_set_status(statuses={step: StepStatus.ARRIVED})
    return step


def _pending_step_for_update(step: ScheduledProcedureStep, *, change: str):
    """The step, locked (an MPPS starting it and a change from a scheduler are
    applied one after the other), if it has not started; else a conflict."""
    step = (
        ScheduledProcedureStep.objects.select_for_update(of=("self",))
        .select_related("requested_procedure")
        .get(pk=step.pk)
    )
    if step.status not in PENDING_STEP_STATUSES:
        raise SchedulingConflict(
            f"The step {step.sps_id} is {step.get_status_display().lower()}; "
            f"only a step that has not started can be {change}."
        )
    return step


@transaction.atomic
def order_cancel(*, order: Order) -> Order:
    """Cancel an order: its steps that have not started become CANCELED and leave
    the worklist, and the order's status follows. Canceling a canceled order
    changes nothing; an order with a step under way or done is refused."""
    # Lock the steps (then the order, in scheduled_steps_set_status): an MPPS
    # starting one of them meanwhile either comes first and is seen here, or waits.
    steps = list(
        ScheduledProcedureStep.objects.filter(requested_procedure__order=order)
        .order_by("pk")
        .select_for_update(of=("self",))
        .select_related("requested_procedure")
    )
    under_way = [step for step in steps if step.status not in PENDING_STEP_STATUSES]
    if any(step.status != StepStatus.CANCELED for step in under_way):
        raise SchedulingConflict(
            f"The order {order.accession_number} has steps under way or done; "
            "it can no longer be canceled."
        )
    scheduled_steps_set_status(
        statuses={step: StepStatus.CANCELED for step in steps if step not in under_way}
    )
    order.refresh_from_db()
    return order
