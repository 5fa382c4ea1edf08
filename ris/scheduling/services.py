"""The write path of scheduling: every door (admin, web UI, REST, DICOM) books through here."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from ris.scheduling.models import (
    Order,
    Patient,
    Priority,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
)


@dataclass(frozen=True)
class StepRequest:
    """A scheduled procedure step to book; what is left out comes from the catalog."""

    start: datetime
    station: Station | None = None
    modality: str = ""
    expected_duration: timedelta | None = None
    performing_physician_name: str = ""
    description: str = ""
    # None: the procedure code's default protocols.
    protocol_codes: Sequence[ProtocolCode] | None = None


@dataclass(frozen=True)
class ProcedureRequest:
    """A requested procedure to book with its steps."""

    procedure_code: ProcedureCode
    steps: Sequence[StepRequest]
    priority: str = Priority.ROUTINE
    description: str = ""


def patient_create(**fields) -> Patient:
    """Register a patient after checking every field against its DICOM VR."""
    patient = Patient(**fields)
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def order_create(*, patient: Patient, procedures: Sequence[ProcedureRequest], **fields) -> Order:
    """Book an order with its requested procedures and their steps, all or nothing.

    The RIS assigns the accession number, Requested Procedure IDs, SPS IDs and
    Study Instance UIDs that are not given (IHE SWF: the Order Filler does).
    """
    if not procedures:
        raise ValidationError("An order needs at least one requested procedure.")
    order = Order(patient=patient, **fields)
    order.full_clean()
    order.save()
    for procedure in procedures:
        _requested_procedure_create(order=order, procedure=procedure)
    return order


def _requested_procedure_create(*, order: Order, procedure: ProcedureRequest) -> None:
    code = procedure.procedure_code
    if not code.active:
        raise ValidationError(f"The procedure {code} is no longer offered.")
    if not procedure.steps:
        raise ValidationError(f"The procedure {code} needs at least one scheduled step.")
    requested = RequestedProcedure(
        order=order,
        procedure_code=code,
        priority=procedure.priority,
        description=procedure.description,
    )
    requested.full_clean()
    requested.save()
    for step in procedure.steps:
        _scheduled_step_create(requested=requested, step=step)


def _scheduled_step_create(*, requested: RequestedProcedure, step: StepRequest) -> None:
    if step.station is not None and not step.station.active:
        raise ValidationError(f"The station {step.station} is not in service.")
    scheduled = ScheduledProcedureStep(
        requested_procedure=requested,
        station=step.station,
        modality=step.modality,
        start=step.start,
        expected_duration=step.expected_duration,
        performing_physician_name=step.performing_physician_name,
        description=step.description,
    )
    scheduled.fill_defaults()
    scheduled.full_clean()
    scheduled.save()
    protocol_codes = step.protocol_codes
    if protocol_codes is None:
        protocol_codes = requested.procedure_code.default_protocol_codes.all()
    scheduled.protocol_codes.set(protocol_codes)
