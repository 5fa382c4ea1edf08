"""The write path of scheduling: every door (admin, web UI, REST, DICOM) books through here."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from ris.dicom.uids import new_uid
from ris.scheduling.models import (
    Order,
    OrderStatus,
    Patient,
    Priority,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
    StepStatus,
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


def patient_create(**fields) -> Patient:
    """Register a patient after checking every field against its DICOM VR."""
    return _validated_save(Patient(**fields))


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
    return order


@transaction.atomic
def requested_procedure_add(*, order: Order, procedure: ProcedureRequest) -> RequestedProcedure:
    """Add a requested procedure with its steps to an existing order, all or nothing."""
    return _requested_procedure_create(order=order, procedure=procedure)


@transaction.atomic
def scheduled_step_add(
    *, requested_procedure: RequestedProcedure, step: StepRequest
) -> ScheduledProcedureStep:
    """Add a scheduled step to an existing requested procedure."""
    return _scheduled_step_create(requested=requested_procedure, step=step)


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
    for step, status in statuses.items():
        if step.status != status:
            step.status = status
            step.save(update_fields=["status", "updated_at"])
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
    elif statuses - {StepStatus.SCHEDULED, StepStatus.ARRIVED, StepStatus.READY}:
        new_status = OrderStatus.IN_PROGRESS
    else:
        new_status = OrderStatus.SCHEDULED
    if order.status != new_status:
        order.status = new_status
        order.save(update_fields=["status", "updated_at"])
