"""The write path of scheduling: every door (admin, web UI, REST, DICOM) books through here."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from ris.audit.services import audit_record
from ris.dicom import statuses
from ris.dicom.errors import DicomError
from ris.dicom.uids import new_uid
from ris.scheduling.models import (
    Order,
    OrderStatus,
    OtherPatientID,
    Patient,
    Priority,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
    StepStatus,
)
from ris.scheduling.models.identifiers import next_identifiers
from ris.webhooks.services import webhook_orders_changed, webhook_steps_changed


@dataclass(frozen=True)
class StepRequest:
    """A scheduled procedure step to book; what is left out comes from the catalog.

    The identifiers and station values below are left empty when the RIS books
    (it assigns the SPS ID and copies the station's AE title, name and room); an
    import from an existing schedule gives them, so that the modalities keep
    seeing the worklist items they already know (PS3.4 K.6: SPS ID (0040,0009),
    Scheduled Station AE Title (0040,0001), Name (0040,0010), Location (0040,0011)).
    """

    start: datetime
    station: Station | None = None
    modality: str = ""
    expected_duration: timedelta | None = None
    performing_physician_name: str = ""
    description: str = ""
    # None: the procedure code's default protocols.
    protocol_codes: Sequence[ProtocolCode] | None = None
    sps_id: str = ""
    scheduled_station_ae_title: str = ""
    scheduled_station_name: str = ""
    location: str = ""
    status: str = StepStatus.SCHEDULED
    pre_medication: str = ""
    requested_contrast_agent: str = ""
    comments: str = ""
    # An import mirrors a schedule that exists already, overlaps and all; the
    # RIS's own bookings keep to each station's capacity.
    allow_double_booking: bool = False


@dataclass(frozen=True)
class ProcedureRequest:
    """A requested procedure to book with its steps.

    Requested Procedure ID (0040,1001) and Study Instance UID (0020,000D) are
    left empty when the RIS books (it assigns them); an import gives them, since
    the modalities may already have stored images under that Study Instance UID.
    """

    procedure_code: ProcedureCode
    steps: Sequence[StepRequest]
    priority: str = Priority.ROUTINE
    description: str = ""
    requested_procedure_id: str = ""
    study_instance_uid: str = ""


M = TypeVar("M", bound=models.Model)


def _validated_save(instance: M) -> M:
    """Check every field against its DICOM VR and the model's constraints, then save."""
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def patient_create(**fields) -> Patient:
    """Register a patient after checking every field against its DICOM VR; one
    registered without a Patient ID gets the RIS's next one."""
    if not fields.get("patient_id"):
        [fields["patient_id"]] = next_identifiers("patient")
    patient = _validated_save(Patient(**fields))
    detail = {"issuer": patient.issuer_of_patient_id}
    audit_record(action="patient.create", **_patient_ref(patient), detail=detail)
    return patient


def station_create(**fields) -> Station:
    """Add a station (a modality's AE title, name and room) to the catalog."""
    return _validated_save(Station(**fields))


def procedure_code_create(**fields) -> ProcedureCode:
    """Add a bookable procedure code to the catalog."""
    return _validated_save(ProcedureCode(**fields))


def protocol_code_create(**fields) -> ProtocolCode:
    """Add a protocol code (Scheduled Protocol Code Sequence item) to the catalog."""
    return _validated_save(ProtocolCode(**fields))


@transaction.atomic
def order_create(*, patient: Patient, procedures: Sequence[ProcedureRequest], **fields) -> Order:
    """Book an order with its requested procedures and their steps, all or nothing.

    The RIS assigns the accession number, Requested Procedure IDs, SPS IDs and
    Study Instance UIDs that are not given (IHE SWF: the Order Filler does).
    """
    if not procedures:
        raise ValidationError("An order needs at least one requested procedure.")
    order = _validated_save(Order(patient=patient, **fields))
    for procedure in procedures:
        _requested_procedure_create(order=order, procedure=procedure)
    booked = _audit_steps(requested_procedure__order=order)
    detail = {"patient": patient.patient_id, "steps": booked}
    audit_record(action="order.create", **_order_ref(order), detail=detail)
    return order


@transaction.atomic
def requested_procedure_add(*, order: Order, procedure: ProcedureRequest) -> RequestedProcedure:
    """Add a requested procedure with its steps to an existing order, all or nothing."""
    requested = _requested_procedure_create(order=order, procedure=procedure)
    detail = {"steps": _audit_steps(requested_procedure=requested)}
    audit_record(action="order.add_procedure", **_order_ref(order), detail=detail)
    return requested


@transaction.atomic
def scheduled_step_add(
    *, requested_procedure: RequestedProcedure, step: StepRequest
) -> ScheduledProcedureStep:
    """Add a scheduled step to an existing requested procedure."""
    scheduled = _scheduled_step_create(requested=requested_procedure, step=step)
    detail = {"steps": _audit_steps(pk=scheduled.pk)}
    audit_record(action="step.create", **_step_ref(scheduled), detail=detail)
    return scheduled


def _requested_procedure_create(*, order: Order, procedure: ProcedureRequest) -> RequestedProcedure:
    code = procedure.procedure_code
    if not procedure.steps:
        raise ValidationError(f"The procedure {code} needs at least one scheduled step.")
    requested = _validated_save(
        RequestedProcedure(
            order=order,
            procedure_code=code,
            priority=procedure.priority,
            description=procedure.description,
            requested_procedure_id=procedure.requested_procedure_id,
            study_instance_uid=procedure.study_instance_uid or new_uid(),
        )
    )
    for step in procedure.steps:
        _scheduled_step_create(requested=requested, step=step)
    return requested


def _scheduled_step_create(
    *, requested: RequestedProcedure, step: StepRequest
) -> ScheduledProcedureStep:
    scheduled = ScheduledProcedureStep(
        requested_procedure=requested,
        sps_id=step.sps_id,
        station=step.station,
        scheduled_station_ae_title=step.scheduled_station_ae_title,
        scheduled_station_name=step.scheduled_station_name,
        location=step.location,
        modality=step.modality,
        start=step.start,
        expected_duration=step.expected_duration,
        performing_physician_name=step.performing_physician_name,
        description=step.description,
        pre_medication=step.pre_medication,
        requested_contrast_agent=step.requested_contrast_agent,
        comments=step.comments,
        status=step.status,
    )
    scheduled.fill_defaults()
    if not step.allow_double_booking:
        _check_station_free(scheduled)
    _validated_save(scheduled)
    if step.protocol_codes is None:
        scheduled_step_take_default_protocols(step=scheduled)
    else:
        scheduled.protocol_codes.set(step.protocol_codes)
    return scheduled


def scheduled_step_take_default_protocols(*, step: ScheduledProcedureStep) -> None:
    """Scheduled Protocol Code Sequence (0040,0008) from the procedure's defaults."""
    step.protocol_codes.set(step.requested_procedure.procedure_code.default_protocol_codes.all())


# Steps that are done with: nothing more will be performed for them.
FINAL_STEP_STATUSES = {StepStatus.COMPLETED, StepStatus.DISCONTINUED, StepStatus.CANCELED}


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
            audit_record(action="step.status", **_step_ref(step), detail=detail)
            step.status = status
            step.save(update_fields=["status", "updated_at"])
            changed.append(step)
    # The HIS hears of each change, in this transaction: steps, then orders.
    webhook_steps_changed(steps=changed)
    order_keys = {step.requested_procedure.order_id for step in statuses}
    for order in Order.objects.filter(pk__in=order_keys).order_by("pk").select_for_update():
        order_refresh_status(order=order)


def order_refresh_status(*, order: Order) -> None:
    """An order is in progress once a step has started, and completed (or
    discontinued, if nothing was completed) once all its steps are done with."""
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
        audit_record(action="order.status", **_order_ref(order), detail=detail)
        order.status = new_status
        order.save(update_fields=["status", "updated_at"])
        webhook_orders_changed(orders=[order])


class SchedulingConflict(DicomError):
    """A change the schedule's current state does not allow (an order already
    done with, a step already started, a placer order number already used for
    another order): the request was understood, the state refuses it."""

    status = statuses.PROCESSING_FAILURE


# Steps that have not started: they may still be moved or canceled.
PENDING_STEP_STATUSES = {StepStatus.SCHEDULED, StepStatus.ARRIVED, StepStatus.READY}

PATIENT_UPDATABLE_FIELDS = {
    field.name
    for field in Patient._meta.get_fields()
    if getattr(field, "editable", False) and field.concrete and not field.primary_key
} - {"created_at", "updated_at"}
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


def _assign(instance: M, *, fields: dict, allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
def patient_update(*, patient: Patient, **fields) -> Patient:
    """Change a patient's identification or demographics after checking every value."""
    # Lock the row: two corrections of one patient are applied one after the other.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    previous_id = patient.patient_id
    changed = _changed_fields(patient, fields)
    _assign(patient, fields=fields, allowed=PATIENT_UPDATABLE_FIELDS)
    _validated_save(patient)
    if changed:
        # Field names only: the values are the patient's data. A changed Patient
        # ID is given old and new, or the patient's trail would break there.
        detail = {"fields": changed}
        if "patient_id" in changed:
            detail["patient_id"] = [previous_id, patient.patient_id]
        audit_record(action="patient.update", **_patient_ref(patient), detail=detail)
    return patient


@transaction.atomic
def patient_merge(*, surviving: Patient, merged: Patient) -> Patient:
    """Merge `merged` into `surviving` (HL7 ADT A40): every order of both now
    belongs to the surviving record, the merged record's IDs become other
    patient IDs (0010,1002) of it, and the merged record is removed."""
    if surviving.pk == merged.pk:
        raise ValidationError({"merged_patient": "A patient cannot be merged with itself."})
    # Lock both rows in key order, so that two merges of the same pair never deadlock
    # and no order is booked for the merged patient while its orders move.
    locked = {
        p.pk: p
        for p in Patient.objects.filter(pk__in=[surviving.pk, merged.pk])
        .order_by("pk")
        .select_for_update()
    }
    if len(locked) < 2:  # another merge removed one of them meanwhile
        raise SchedulingConflict("One of the two patients no longer exists (merged already?).")
    surviving, merged = locked[surviving.pk], locked[merged.pk]
    Order.objects.filter(patient=merged).update(patient=surviving, updated_at=timezone.now())
    known = set(surviving.other_ids.values_list("other_patient_id", "issuer_of_patient_id"))
    known.add((surviving.patient_id, surviving.issuer_of_patient_id))
    for other in merged.other_ids.all():
        if (other.other_patient_id, other.issuer_of_patient_id) not in known:
            known.add((other.other_patient_id, other.issuer_of_patient_id))
            OtherPatientID.objects.create(
                patient=surviving,
                other_patient_id=other.other_patient_id,
                issuer_of_patient_id=other.issuer_of_patient_id,
                type_of_patient_id=other.type_of_patient_id,
            )
    if (merged.patient_id, merged.issuer_of_patient_id) not in known:
        OtherPatientID.objects.create(
            patient=surviving,
            other_patient_id=merged.patient_id,
            issuer_of_patient_id=merged.issuer_of_patient_id,
        )
    merged.delete()
    surviving.save(update_fields=["updated_at"])
    detail = {"merged": merged.patient_id, "merged_issuer": merged.issuer_of_patient_id}
    audit_record(action="patient.merge", **_patient_ref(surviving), detail=detail)
    return surviving


def order_create_once(
    *,
    patient: Patient,
    procedures: Sequence[ProcedureRequest],
    placer_order_number: str = "",
    placer_issuer: str = "",
    **fields,
) -> tuple[Order, bool]:
    """Book an order once per Placer Order Number (0040,2016) within its placer
    (0040,0026): a retried request gets the order the first one booked, and
    False for "not created now". A different request under the same number is
    a SchedulingConflict.

    Two identical requests at once: both may pass the first look-up; the unique
    constraint lets one insert, the other's insert fails, and it then finds the
    order the first one committed.
    """
    identity = {"placer_order_number": placer_order_number, "placer_issuer": placer_issuer}
    existing = _placer_order(**identity)
    if existing is None:
        try:
            order = order_create(patient=patient, procedures=procedures, **identity, **fields)
        except (IntegrityError, ValidationError):
            existing = _placer_order(**identity)
            if existing is None:
                raise
        else:
            return order, True
    if not _order_matches(existing, patient=patient, procedures=procedures, fields=fields):
        raise SchedulingConflict(
            f"The placer order number {placer_order_number} of {placer_issuer or 'this placer'}"
            f" is already used by the order {existing.accession_number}, with other content."
        )
    return existing, False


def _placer_order(*, placer_order_number: str, placer_issuer: str) -> Order | None:
    if not placer_order_number:
        return None
    return Order.objects.filter(
        placer_order_number=placer_order_number, placer_issuer=placer_issuer
    ).first()


def _order_matches(
    order: Order, *, patient: Patient, procedures: Sequence[ProcedureRequest], fields: dict
) -> bool:
    """Whether an existing order is what this request asks for: the same patient,
    order values, procedure codes, and step starts and stations."""
    if order.patient_id != patient.pk:
        return False
    if any(getattr(order, name) != value for name, value in fields.items()):
        return False
    booked = sorted(
        (step.requested_procedure.procedure_code_id, step.start, step.station_id)
        for step in ScheduledProcedureStep.objects.filter(
            requested_procedure__order=order
        ).select_related("requested_procedure")
    )
    asked = sorted(
        (procedure.procedure_code.pk, step.start, step.station.pk if step.station else None)
        for procedure in procedures
        for step in procedure.steps
    )
    return booked == asked


@transaction.atomic
def order_update(*, order: Order, **fields) -> Order:
    """Change an order's request details (comments, priority, physicians, ...)."""
    # Lock the row: a change and a status update of the same order wait for each other.
    order = Order.objects.select_for_update().get(pk=order.pk)
    changed = _changed_fields(order, fields)
    _assign(order, fields=fields, allowed=ORDER_UPDATABLE_FIELDS)
    _validated_save(order)
    if changed:
        audit_record(action="order.update", **_order_ref(order), detail={"fields": changed})
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
        step.station = station
        step.scheduled_station_ae_title = station.ae_title
        step.scheduled_station_name = station.name
        step.location = station.location
        step.modality = station.modality
    step.start = start
    _check_station_free(step)
    _validated_save(step)
    after = (step.start, step.scheduled_station_ae_title)
    detail = {"start": [before[0], after[0]], "station": [before[1], after[1]]}
    audit_record(action="step.reschedule", **_step_ref(step), detail=detail)
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


# Steps that no longer hold their station's time.
CALLED_OFF_STEP_STATUSES = {StepStatus.CANCELED, StepStatus.DISCONTINUED}


def _check_station_free(step: ScheduledProcedureStep) -> None:
    """Refuse a booking that would give its station more steps at one time than
    the station's capacity (a double booking); capacity 0 is no limit."""
    station = step.station
    if station is None or station.capacity == 0:
        return
    # Lock the station's row: two bookings of one slot at once are checked one
    # after the other, so the second sees the first.
    list(Station.objects.select_for_update().filter(pk=station.pk))
    overlapping = (
        ScheduledProcedureStep.objects.filter(station=station, start__lt=step.end)
        .exclude(status__in=CALLED_OFF_STEP_STATUSES)
        .exclude(pk=step.pk)
        .alias(booked_until=models.F("start") + models.F("expected_duration"))
        .filter(booked_until__gt=step.start)
        .order_by("start")
    )
    taken = list(overlapping.select_related("requested_procedure__order")[: station.capacity])
    if len(taken) >= station.capacity:
        first = taken[0]
        begin, end = (
            timezone.localtime(moment).strftime("%H:%M") for moment in (first.start, first.end)
        )
        raise SchedulingConflict(
            f"{station.name} is already booked from {begin} to {end} on "
            f"{timezone.localtime(first.start):%Y-%m-%d} ({first.description}, "
            f"accession {first.requested_procedure.order.accession_number}); "
            "choose another time or station."
        )


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


# --- What the audit trail says of each change (ris.audit): identifiers, statuses,
# times and stations; never a patient's name or demographics.


def _patient_ref(patient: Patient) -> dict:
    return {"object_type": "patient", "object_id": patient.patient_id}


def _order_ref(order: Order) -> dict:
    return {"object_type": "order", "object_id": order.accession_number}


def _step_ref(step: ScheduledProcedureStep) -> dict:
    return {"object_type": "step", "object_id": step.sps_id}


def _changed_fields(instance: models.Model, fields: dict) -> list[str]:
    """The names of the fields whose values `fields` changes (unknown names are
    left to _assign to refuse)."""
    return sorted(name for name, value in fields.items() if getattr(instance, name, value) != value)


def _audit_steps(**lookup) -> list[dict]:
    """The booked steps that match `lookup`: SPS ID, procedure code, station, start."""
    rows = (
        ScheduledProcedureStep.objects.filter(**lookup)
        .order_by("start", "pk")
        .values_list(
            "sps_id",
            "requested_procedure__procedure_code__code_value",
            "scheduled_station_ae_title",
            "start",
        )
    )
    return [
        {"sps_id": sps_id, "procedure_code": code, "station": station, "start": start}
        for sps_id, code, station, start in rows
    ]
