"""Booking: orders with their requested procedures and steps, once per placer
order number, within each station's capacity."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from ris.audit.services import audit_record
from ris.dicom.uids import new_uid
from ris.scheduling.models import (
    Order,
    Patient,
    Priority,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
    StepStatus,
)
from ris.scheduling.services.common import (
    CALLED_OFF_STEP_STATUSES,
    SchedulingConflict,
    audit_steps,
    order_ref,
    step_ref,
    validated_save,
)


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
    # RIS's own bookings keep to each station's capacity and modality.
    imported: bool = False


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


@transaction.atomic
def order_create(*, patient: Patient, procedures: Sequence[ProcedureRequest], **fields) -> Order:
    """Book an order with its requested procedures and their steps, all or nothing.

    The RIS assigns the accession number, Requested Procedure IDs, SPS IDs and
    Study Instance UIDs that are not given (IHE SWF: the Order Filler does).
    """
    if not procedures:
        raise ValidationError("An order needs at least one requested procedure.")
    order = validated_save(Order(patient=patient, **fields))
    for procedure in procedures:
        _requested_procedure_create(order=order, procedure=procedure)
    booked = audit_steps(requested_procedure__order=order)
    detail = {"patient": patient.patient_id, "steps": booked}
    audit_record(action="order.create", **order_ref(order), detail=detail)
    return order


@transaction.atomic
def requested_procedure_add(*, order: Order, procedure: ProcedureRequest) -> RequestedProcedure:
    """Add a requested procedure with its steps to an existing order, all or nothing."""
    requested = _requested_procedure_create(order=order, procedure=procedure)
    detail = {"steps": audit_steps(requested_procedure=requested)}
    audit_record(action="order.add_procedure", **order_ref(order), detail=detail)
    return requested


@transaction.atomic
def scheduled_step_add(
    *, requested_procedure: RequestedProcedure, step: StepRequest
) -> ScheduledProcedureStep:
    """Add a scheduled step to an existing requested procedure."""
    scheduled = _scheduled_step_create(requested=requested_procedure, step=step)
    detail = {"steps": audit_steps(pk=scheduled.pk)}
    audit_record(action="step.create", **step_ref(scheduled), detail=detail)
    return scheduled


def _requested_procedure_create(*, order: Order, procedure: ProcedureRequest) -> RequestedProcedure:
    code = procedure.procedure_code
    if not procedure.steps:
        raise ValidationError(f"The procedure {code} needs at least one scheduled step.")
    requested = validated_save(
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
    if not step.imported:
        check_station_modality(scheduled)
        check_station_free(scheduled)
    validated_save(scheduled)
    if step.protocol_codes is None:
        scheduled_step_take_default_protocols(step=scheduled)
    else:
        scheduled.protocol_codes.set(step.protocol_codes)
    return scheduled


def scheduled_step_take_default_protocols(*, step: ScheduledProcedureStep) -> None:
    """Scheduled Protocol Code Sequence (0040,0008) from the procedure's defaults."""
    step.protocol_codes.set(step.requested_procedure.procedure_code.default_protocol_codes.all())


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


def _busiest_moment(step, overlapping: list) -> list:
    """The steps under way together at the busiest moment of `step`'s slot. The
    count only rises where a step starts, so the slot's start and the starts of
    the steps within it are the moments to look at."""
    moments = [step.start] + [other.start for other in overlapping if other.start > step.start]
    return max(
        (
            [other for other in overlapping if other.start <= moment < other.end]
            for moment in moments
        ),
        key=len,
    )


def check_station_modality(step: ScheduledProcedureStep) -> None:
    """Refuse a step on a station of another modality than the step's or its
    procedure's: its worklist item (Modality (0008,0060) in the Scheduled
    Procedure Step Sequence) would be offered to a modality that cannot do it."""
    station = step.station
    if station is None:
        return
    code = step.requested_procedure.procedure_code
    if code.default_modality != station.modality:
        refusal = (
            f"{code.code_meaning} is a {code.default_modality} procedure; "
            f"{station.name} is a {station.modality} station."
        )
        raise ValidationError({"station": refusal})
    check_step_modality(step, station)


def check_step_modality(step: ScheduledProcedureStep, station: Station) -> None:
    """Refuse a station of another modality than the step's, at booking or when
    the step is moved (a step without a modality yet takes the station's)."""
    if step.modality and step.modality != station.modality:
        refusal = f"{station.name} is a {station.modality} station; the step is {step.modality}."
        raise ValidationError({"station": refusal})


def check_station_free(step: ScheduledProcedureStep) -> None:
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
    crowded = _busiest_moment(step, list(overlapping.select_related("requested_procedure__order")))
    if len(crowded) >= station.capacity:
        first = crowded[0]
        begin, end = (
            timezone.localtime(moment).strftime("%H:%M") for moment in (first.start, first.end)
        )
        raise SchedulingConflict(
            f"{station.name} is already booked from {begin} to {end} on "
            f"{timezone.localtime(first.start):%Y-%m-%d} ({first.description}, "
            f"accession {first.requested_procedure.order.accession_number}); "
            "choose another time or station."
        )
