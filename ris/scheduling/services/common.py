"""Shared by the write path: validation, the step statuses it reasons with, its
refusal, and how the audit trail names what changed."""

from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from ris.dicom import statuses
from ris.dicom.errors import DicomError
from ris.scheduling.models import (
    Order,
    Patient,
    ScheduledProcedureStep,
    StepStatus,
)

M = TypeVar("M", bound=models.Model)


def validated_save(instance: M) -> M:
    """Check every field against its DICOM VR and the model's constraints, then save."""
    instance.full_clean()
    instance.save()
    return instance


def assign_fields(instance: M, *, fields: dict, allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(instance, name, value)


def changed_fields(instance: models.Model, fields: dict) -> list[str]:
    """The names of the fields whose values `fields` changes (unknown names are
    left to assign_fields to refuse)."""
    return sorted(name for name, value in fields.items() if getattr(instance, name, value) != value)


class SchedulingConflict(DicomError):
    """A change the schedule's current state does not allow (an order already
    done with, a step already started, a placer order number already used for
    another order): the request was understood, the state refuses it."""

    status = statuses.PROCESSING_FAILURE


# Steps that have not started: they may still be moved or canceled.
PENDING_STEP_STATUSES = {StepStatus.SCHEDULED, StepStatus.ARRIVED, StepStatus.READY}


# Steps that are done with: nothing more will be performed for them.
FINAL_STEP_STATUSES = {StepStatus.COMPLETED, StepStatus.DISCONTINUED, StepStatus.CANCELED}


# Steps that no longer hold their station's time.
CALLED_OFF_STEP_STATUSES = {StepStatus.CANCELED, StepStatus.DISCONTINUED}


def patient_ref(patient: Patient) -> dict:
    return {"object_type": "patient", "object_id": patient.patient_id}


def order_ref(order: Order) -> dict:
    return {"object_type": "order", "object_id": order.accession_number}


def step_ref(step: ScheduledProcedureStep) -> dict:
    return {"object_type": "step", "object_id": step.sps_id}


def audit_steps(**lookup) -> list[dict]:
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
