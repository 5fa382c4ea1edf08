"""Registering, correcting and merging patients."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ris.audit.services import audit_record
from ris.scheduling.models import (
    Order,
    OtherPatientID,
    Patient,
)
from ris.scheduling.models.identifiers import next_identifiers
from ris.scheduling.services.common import (
    SchedulingConflict,
    assign_fields,
    changed_fields,
    patient_ref,
    validated_save,
)


@transaction.atomic
def patient_create(**fields) -> Patient:
    """Register a patient after checking every field against its DICOM VR; one
    registered without a Patient ID gets the RIS's next one."""
    if not fields.get("patient_id"):
        [fields["patient_id"]] = next_identifiers("patient")
    patient = validated_save(Patient(**fields))
    detail = {"issuer": patient.issuer_of_patient_id}
    audit_record(action="patient.create", **patient_ref(patient), detail=detail)
    return patient


PATIENT_UPDATABLE_FIELDS = {
    field.name
    for field in Patient._meta.get_fields()
    if getattr(field, "editable", False) and field.concrete and not field.primary_key
} - {"created_at", "updated_at"}


@transaction.atomic
def patient_update(*, patient: Patient, **fields) -> Patient:
    """Change a patient's identification or demographics after checking every value."""
    # Lock the row: two corrections of one patient are applied one after the other.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    previous_id = patient.patient_id
    changed = changed_fields(patient, fields)
    assign_fields(patient, fields=fields, allowed=PATIENT_UPDATABLE_FIELDS)
    validated_save(patient)
    if changed:
        # Field names only: the values are the patient's data. A changed Patient
        # ID is given old and new, or the patient's trail would break there.
        detail = {"fields": changed}
        if "patient_id" in changed:
            detail["patient_id"] = [previous_id, patient.patient_id]
        audit_record(action="patient.update", **patient_ref(patient), detail=detail)
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
    audit_record(action="patient.merge", **patient_ref(surviving), detail=detail)
    return surviving
