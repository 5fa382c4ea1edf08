"""The write path of MPPS: N-CREATE, N-SET and linking to the schedule (PS3.4 F.7).

Every door (DIMSE today, REST later) calls these; each refusal is a
DicomError carrying the status the standard gives.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydicom import Dataset

from ris.audit.services import audit_record
from ris.dicom import statuses
from ris.dicom.datetimes import local_datetime
from ris.dicom.errors import DicomError
from ris.dicom.uids import new_uid
from ris.dicom.vr import MAX_LENGTH, validate_uid
from ris.mpps import checks, rules
from ris.mpps.models import PerformedProcedureStep
from ris.nodes.selectors import mpps_destinations
from ris.outbox.models import Channel
from ris.outbox.payloads import N_CREATE, N_SET, dicom_payload
from ris.outbox.services import outbox_enqueue_all
from ris.scheduling.models import ScheduledProcedureStep, StepStatus
from ris.scheduling.services import scheduled_steps_set_status

MPPS_SOP_CLASS_UID = "1.2.840.10008.3.1.2.3.3"

# The step status that an MPPS in each state stands for (PS3.3 C.4.10:
# STARTED means at least one MPPS references the step).
STEP_STATUS_FOR = {
    rules.IN_PROGRESS: StepStatus.STARTED,
    rules.COMPLETED: StepStatus.COMPLETED,
    rules.DISCONTINUED: StepStatus.DISCONTINUED,
}


def mpps_create(
    *, sop_instance_uid: str | None, attributes: Dataset, calling_ae_title: str = ""
) -> PerformedProcedureStep:
    """Store a new performed step, IN PROGRESS, and mark the steps it performs STARTED.

    A modality that sends no SOP Instance UID gets one made by the RIS (the
    caller returns it in the response's Affected SOP Instance UID).
    """
    uid = sop_instance_uid or new_uid()
    _check_uid(uid)
    if PerformedProcedureStep.objects.filter(sop_instance_uid=uid).exists():
        raise DicomError(f"An MPPS {uid} exists already", status=statuses.DUPLICATE_SOP_INSTANCE)
    checks.check_create(attributes)
    performed = PerformedProcedureStep(sop_instance_uid=uid, calling_ae_title=calling_ae_title)
    _store(performed, attributes)
    try:
        with transaction.atomic():
            performed.save()
            audit_record(action="mpps.create", **_ref(uid), detail={"status": performed.status})
            performed.scheduled_steps.add(*_scheduled_steps_for(attributes))
            _move_schedule(performed)
            _forward(N_CREATE, uid, attributes)
    except IntegrityError:
        # Another association created the same instance in the meantime.
        raise DicomError(
            f"An MPPS {uid} exists already", status=statuses.DUPLICATE_SOP_INSTANCE
        ) from None
    return performed


def mpps_set(*, sop_instance_uid: str, modifications: Dataset) -> PerformedProcedureStep:
    """Merge an N-SET modification list; COMPLETED and DISCONTINUED are final."""
    with transaction.atomic():
        # Lock the instance: two N-SETs for one MPPS are applied one after the other.
        performed = (
            PerformedProcedureStep.objects.select_for_update()
            .filter(sop_instance_uid=sop_instance_uid)
            .first()
        )
        if performed is None:
            raise DicomError(f"No MPPS {sop_instance_uid}", status=statuses.NO_SUCH_SOP_INSTANCE)
        if performed.is_final:
            # PS3.4 Table F.7.2-2.
            raise DicomError(
                "Performed Procedure Step Object may no longer be updated",
                status=statuses.PROCESSING_FAILURE,
                error_id=statuses.MPPS_MAY_NO_LONGER_BE_UPDATED,
            )
        checks.check_set(modifications)
        merged = stored_dataset(performed)
        for element in modifications:
            if element.tag.element != 0 and element.keyword != "SpecificCharacterSet":
                merged[element.tag] = element  # a sequence replaces the stored one whole
        status = merged.PerformedProcedureStepStatus
        if status in rules.FINAL:
            reason_required = settings.RIS_MPPS_REQUIRE_DISCONTINUATION_REASON
            checks.check_final(merged, status, reason_required=reason_required)
        detail = {"status": [performed.status, status]}
        audit_record(action="mpps.set", **_ref(sop_instance_uid), detail=detail)
        _store(performed, merged)
        performed.save()
        _move_schedule(performed)
        _forward(N_SET, sop_instance_uid, modifications)
    return performed


def mpps_link(*, performed: PerformedProcedureStep, steps: list[ScheduledProcedureStep]) -> None:
    """Link a performed step to scheduled steps (reconciling an unmatched MPPS);
    the schedule moves as if they had been referenced from the start."""
    with transaction.atomic():
        known = set(performed.scheduled_steps.values_list("pk", flat=True))
        added = [step for step in steps if step.pk not in known]
        if added:
            performed.scheduled_steps.add(*added)
            detail = {"steps": sorted(step.sps_id for step in added)}
            audit_record(action="mpps.link", **_ref(performed.sop_instance_uid), detail=detail)
        _move_schedule(performed)


class AlreadyLinked(DicomError):
    """An unmatched MPPS that someone linked meanwhile: not linked twice."""

    status = statuses.PROCESSING_FAILURE


@transaction.atomic
def mpps_reconcile(
    *, performed: PerformedProcedureStep, steps: list[ScheduledProcedureStep]
) -> None:
    """Link an MPPS that matched nothing to the steps it performed (one, or
    several in the group case, PS3.4 F.7.2.1.1). Two schedulers reconciling
    one MPPS at once: its row lock makes the second see the first's link and
    be refused, rather than link it a second time elsewhere."""
    locked = PerformedProcedureStep.objects.select_for_update().get(pk=performed.pk)
    if locked.scheduled_steps.exists():
        raise AlreadyLinked(f"The MPPS {locked} is already linked to a scheduled step.")
    mpps_link(performed=locked, steps=steps)


def stored_dataset(performed: PerformedProcedureStep) -> Dataset:
    """The MPPS as sent and modified, from its DICOM JSON."""
    return Dataset.from_json(performed.dataset)


def _ref(uid: str) -> dict:
    """The performed step, as the audit trail names it."""
    return {"object_type": "mpps", "object_id": uid}


def _check_uid(uid: str) -> None:
    try:
        validate_uid(uid)
    except ValidationError:
        raise DicomError(
            f"Invalid SOP Instance UID {uid!r}", status=statuses.INVALID_SOP_INSTANCE
        ) from None


def _store(performed: PerformedProcedureStep, dataset: Dataset) -> None:
    """Keep every attribute as DICOM JSON and index the ones it is found by.

    Text is Unicode in JSON, so Specific Character Set is not kept: the RIS
    answers in UTF-8 when it returns the instance (F.7.2.2: the SCP keeps a
    representation valid for old and new values).
    """
    as_json = dataset.to_json_dict()  # values decoded with their character set
    as_json.pop("00080005", None)
    performed.dataset = as_json
    zone = timezone.get_default_timezone()
    try:
        performed.start = local_datetime(
            dataset.get("PerformedProcedureStepStartDate", ""),
            dataset.get("PerformedProcedureStepStartTime", ""),
            zone,
        )
        performed.end = local_datetime(
            dataset.get("PerformedProcedureStepEndDate") or "",
            dataset.get("PerformedProcedureStepEndTime") or "",
            zone,
        )
    except ValueError as error:
        raise DicomError(str(error), status=statuses.INVALID_ATTRIBUTE_VALUE) from None
    performed.status = dataset.PerformedProcedureStepStatus
    performed.performed_procedure_step_id = dataset.get("PerformedProcedureStepID", "")
    performed.modality = dataset.get("Modality", "")
    performed.performed_station_ae_title = dataset.get("PerformedStationAETitle", "")
    performed.patient_id = dataset.get("PatientID") or ""
    performed.patient_name = str(dataset.get("PatientName") or "")[: 3 * MAX_LENGTH["PN"] + 2]
    first = dataset.ScheduledStepAttributesSequence[0]
    performed.accession_number = first.get("AccessionNumber") or ""
    performed.study_instance_uid = first.get("StudyInstanceUID") or ""


def _scheduled_steps_for(attributes: Dataset) -> set[ScheduledProcedureStep]:
    """The scheduled steps each Scheduled Step Attributes item names (F.7.2.1.1:
    accession number, Requested Procedure ID, SPS ID, Study Instance UID); none
    for an unscheduled exam, several in the group case."""
    found = set()
    for item in attributes.ScheduledStepAttributesSequence:
        found.update(_steps_for_item(item, attributes.get("Modality", "")))
    return found


def _steps_for_item(item: Dataset, modality: str):
    accession = item.get("AccessionNumber") or ""
    procedure_id = item.get("RequestedProcedureID") or ""
    sps_id = item.get("ScheduledProcedureStepID") or ""
    steps = ScheduledProcedureStep.objects.select_related("requested_procedure")
    if accession:
        steps = steps.filter(requested_procedure__order__accession_number=accession)
    if procedure_id:
        steps = steps.filter(requested_procedure__requested_procedure_id=procedure_id)
    if sps_id:
        steps = steps.filter(sps_id=sps_id)
    elif accession and not procedure_id:
        # An order may hold steps on several modalities: only this one's were performed.
        steps = steps.filter(modality=modality)
    if accession or procedure_id or sps_id:
        return list(steps)
    study_uid = item.get("StudyInstanceUID") or ""
    return list(steps.filter(requested_procedure__study_instance_uid=study_uid))


def _forward(operation: str, uid: str, dataset: Dataset) -> None:
    """Queue the message for each MPPS destination (IHE: the Performed Procedure
    Step Manager forwards to the archive), in the transaction of the change, so
    that it is sent if and only if the change is kept, and in order."""
    payload = dicom_payload(
        operation=operation, sop_class_uid=MPPS_SOP_CLASS_UID, sop_instance_uid=uid, dataset=dataset
    )
    outbox_enqueue_all(
        messages=[
            (Channel.DICOM, destination.ae_title, payload) for destination in mpps_destinations()
        ]
    )


def _move_schedule(performed: PerformedProcedureStep) -> None:
    """Each linked step takes the status its performed steps stand for together:
    one still IN PROGRESS keeps it STARTED; otherwise COMPLETED wins over
    DISCONTINUED (several MPPS for one step: a retake that succeeded)."""
    # Lock the steps (in key order) before reading their MPPS: two reports for
    # one step at once are then applied one after the other, each seeing the other.
    steps = list(
        ScheduledProcedureStep.objects.filter(performed_steps=performed)
        .order_by("pk")
        .select_for_update(of=("self",))
        .select_related("requested_procedure")
    )
    if not steps:
        return  # an unscheduled exam, not linked yet: no step to move
    statuses = {}
    for step in steps:
        reported = set(step.performed_steps.values_list("status", flat=True))
        for mpps_status in (rules.IN_PROGRESS, rules.COMPLETED, rules.DISCONTINUED):
            if mpps_status in reported:
                statuses[step] = STEP_STATUS_FOR[mpps_status]
                break
    scheduled_steps_set_status(statuses=statuses)
