"""The matching columns and child rows of a workitem, read from its data set.

A workitem is stored whole as DICOM JSON; what C-FIND matches on is copied
out of it here, into the Workitem's columns and into WorkitemCode and
WorkitemRequest rows, each time the data set is created or changed, so that
matching is plain SQL and the columns never disagree with the data set.
"""

from datetime import datetime, tzinfo
from decimal import Decimal

from django.utils import timezone
from pydicom import Dataset

from ris.dicom.datetimes import parse_date, parse_datetime, utc_offset
from ris.dicom.person_name import search_key
from ris.ups.models import Workitem, WorkitemCode, WorkitemRequest

# The coded sequences C-FIND matches with sequence matching (Table CC.2.5-3, "R").
CODE_SEQUENCES = (
    "ScheduledStationNameCodeSequence",
    "ScheduledStationClassCodeSequence",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledWorkitemCodeSequence",
)
PERFORMERS = "ScheduledHumanPerformersSequence"
PERFORMER_CODES = "HumanPerformerCodeSequence"
# WorkitemCode.sequence of a performer's code: the keyword path to it.
PERFORMER_CODES_PATH = f"{PERFORMERS}.{PERFORMER_CODES}"


def workitem_columns(dataset: Dataset) -> dict:
    """The values of the Workitem matching columns, by field name.

    The SOP Instance UID, Transaction UID and modification time are not in
    the data set's charge: the services set those columns themselves.
    """
    zone = dataset_zone(dataset)
    patient_name = _text(dataset, "PatientName")
    return {
        "state": _text(dataset, "ProcedureStepState"),
        "input_readiness_state": _text(dataset, "InputReadinessState"),
        "priority": _text(dataset, "ScheduledProcedureStepPriority"),
        "procedure_step_label": _text(dataset, "ProcedureStepLabel"),
        "worklist_label": _text(dataset, "WorklistLabel"),
        "scheduled_start": _moment(dataset, "ScheduledProcedureStepStartDateTime", zone),
        "expected_completion": _moment(dataset, "ExpectedCompletionDateTime", zone),
        "patient_name": patient_name,
        "patient_name_search": search_key(patient_name),
        "patient_id": _text(dataset, "PatientID"),
        "issuer_of_patient_id": _text(dataset, "IssuerOfPatientID"),
        "patient_birth_date": _date(dataset, "PatientBirthDate"),
        "patient_sex": _text(dataset, "PatientSex"),
        "admission_id": _text(dataset, "AdmissionID"),
        "progress": _progress(dataset),
    }


def dataset_zone(dataset: Dataset) -> tzinfo:
    """Where the data set's DT values without a UTC offset are: at its Timezone
    Offset From UTC (0008,0201) if it has one (PS3.3 C.12.1.1.8), else in the
    department's zone (settings.TIME_ZONE)."""
    offset = _text(dataset, "TimezoneOffsetFromUTC")
    return utc_offset(offset) if offset else timezone.get_default_timezone()


def workitem_child_rows(
    workitem: Workitem, dataset: Dataset
) -> tuple[list[WorkitemCode], list[WorkitemRequest]]:
    """Unsaved WorkitemCode and WorkitemRequest rows for the data set's coded
    sequences and Referenced Request Sequence items."""
    codes = [
        WorkitemCode(
            workitem=workitem,
            sequence=path,
            code_value=_text(item, "CodeValue"),
            coding_scheme_designator=_text(item, "CodingSchemeDesignator"),
        )
        for path, item in _code_items(dataset)
    ]
    requests = [
        WorkitemRequest(
            workitem=workitem,
            accession_number=_text(item, "AccessionNumber"),
            requested_procedure_id=_text(item, "RequestedProcedureID"),
            study_instance_uid=_text(item, "StudyInstanceUID"),
            requesting_service=_text(item, "RequestingService"),
        )
        for item in _items(dataset, "ReferencedRequestSequence")
    ]
    return codes, requests


def workitem_replace_child_rows(workitem: Workitem, dataset: Dataset) -> None:
    """Replace the workitem's child rows by those of its (new) data set.

    For the services, after create and N-SET, inside their transaction: N-SET
    replaces a sequence whole (PS3.4 CC.2.6), so the rows are too.
    """
    codes, requests = workitem_child_rows(workitem, dataset)
    workitem.codes.all().delete()
    workitem.requests.all().delete()
    WorkitemCode.objects.bulk_create(codes)
    WorkitemRequest.objects.bulk_create(requests)


def _code_items(dataset: Dataset):
    """(keyword path, code item) of every code C-FIND matches, performers' included."""
    for keyword in CODE_SEQUENCES:
        for item in _items(dataset, keyword):
            yield keyword, item
    for performer in _items(dataset, PERFORMERS):
        for item in _items(performer, PERFORMER_CODES):
            yield PERFORMER_CODES_PATH, item


def _items(dataset: Dataset, keyword: str) -> list[Dataset]:
    return list(dataset.get(keyword) or [])


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    return "" if value is None else str(value)


def _moment(dataset: Dataset, keyword: str, zone: tzinfo) -> datetime | None:
    value = _text(dataset, keyword)
    return parse_datetime(value, zone)[0] if value else None


def _date(dataset: Dataset, keyword: str):
    value = _text(dataset, keyword)
    return parse_date(value) if value else None


def _progress(dataset: Dataset) -> Decimal | None:
    """Procedure Step Progress (0074,1004) of the first Progress Information item."""
    items = _items(dataset, "ProcedureStepProgressInformationSequence")
    value = items[0].get("ProcedureStepProgress") if items else None
    return None if value in (None, "") else Decimal(str(value))
