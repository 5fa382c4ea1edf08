"""Demo workitems: post-processing and reading tasks for scheduled CT and MR exams,
created through the UPS services as a UPS SCU's N-CREATE would be."""

from datetime import timedelta

from django.utils import timezone
from pydicom import Dataset

from ris.dicom.datetimes import format_datetime
from ris.dicom.uids import new_uid
from ris.scheduling.models import ScheduledProcedureStep
from ris.ups.services import ups_create

# (label, worklist, workitem code): local codes, as a site would define them.
TASKS = [
    ("Lung nodule CAD", "CAD", "CAD-LUNG"),
    ("3D reconstruction", "POSTPROC", "RECON-3D"),
    ("Primary read", "READING", "READ"),
]


def seed_demo_workitems(*, count: int = 30) -> int:
    """Create up to `count` workitems for the first CT and MR steps; how many."""
    zone = timezone.get_default_timezone()
    steps = (
        ScheduledProcedureStep.objects.filter(modality__in=["CT", "MR"])
        .select_related("requested_procedure__order__patient")
        .order_by("start")[:count]
    )
    created = 0
    for number, step in enumerate(steps):
        label, worklist, code = TASKS[number % len(TASKS)]
        ups_create(
            sop_instance_uid=new_uid(),
            attributes=_workitem(step, label, worklist, code, zone),
            created_by="demo",
        )
        created += 1
    return created


def _workitem(step: ScheduledProcedureStep, label: str, worklist: str, code: str, zone):
    procedure = step.requested_procedure
    order, patient = procedure.order, procedure.order.patient
    ds = Dataset()
    ds.ProcedureStepState = "SCHEDULED"
    ds.ScheduledProcedureStepPriority = "MEDIUM"
    ds.ProcedureStepLabel = label
    ds.WorklistLabel = worklist
    ds.ScheduledProcedureStepStartDateTime = format_datetime(
        step.start + (step.expected_duration or timedelta(minutes=20)), zone
    )
    ds.InputReadinessState = "INCOMPLETE"
    ds.ScheduledWorkitemCodeSequence = [_code(code, label)]
    ds.PatientName = str(patient.name)
    ds.PatientID = patient.patient_id
    ds.IssuerOfPatientID = patient.issuer_of_patient_id
    ds.PatientBirthDate = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    ds.PatientSex = patient.sex
    request = Dataset()
    request.StudyInstanceUID = procedure.study_instance_uid
    request.AccessionNumber = order.accession_number
    request.RequestedProcedureID = procedure.requested_procedure_id
    request.RequestedProcedureDescription = procedure.description
    ds.ReferencedRequestSequence = [request]
    ds.StudyInstanceUID = procedure.study_instance_uid
    return ds


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "99RIS", meaning
    return item
