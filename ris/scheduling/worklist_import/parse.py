"""A worklist dataset as the values the RIS books (pure: no database).

A worklist item holds the attributes of PS3.4 Table K.6-1, with one Scheduled
Procedure Step in Scheduled Procedure Step Sequence (0040,0100).
`parse_worklist_item` reads them, or raises SkipDataset if the item is not one
the RIS can book.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from pydicom import Dataset
from pydicom.uid import generate_uid

from ris.dicom.person_name import PersonName
from ris.dicom.uids import uid_root
from ris.scheduling.models import Modality, PregnancyStatus, Priority, Sex, StepStatus
from ris.scheduling.worklist_import.report import SkipDataset
from ris.scheduling.worklist_import.times import step_duration, step_start
from ris.scheduling.worklist_import.values import Attributes, attribute_name

# Procedures that come without a Requested Procedure Code Sequence (0032,1064)
# get a code of this local scheme ("99" marks a site's own designator).
LOCAL_SCHEME = "99IMPORT"
LOCAL_CODE_MEANING = "Imported procedure"


@dataclass(frozen=True)
class Code:
    """A Code Sequence Macro item (PS3.3 Table 8.8-1)."""

    value: str
    scheme: str
    version: str = ""
    meaning: str = ""


@dataclass
class WorklistItem:
    """One worklist item's values, ready for the models."""

    patient: dict
    accession_number: str
    accession_issuer: str
    order: dict
    study_instance_uid: str
    study_uid_generated: bool
    procedure_code: Code
    procedure: dict
    modality: str
    station_ae_title: str
    station_name: str
    location: str
    start: datetime
    duration: timedelta | None
    step: dict
    protocol_codes: list[Code]


def parse_worklist_item(dataset: Dataset, warnings: list[str]) -> WorklistItem:
    """Read a worklist dataset; raise SkipDataset if it is not one the RIS can book.

    What the RIS cannot do without is read first (the step, the patient, the
    modality, the start), so that a dataset is skipped for its first missing value.
    """
    top = Attributes(dataset, warnings)
    step = _scheduled_step_item(top)
    patient = _patient_fields(top)
    modality = _modality(step)
    start, zone = step_start(top, step)
    return WorklistItem(
        patient=patient,
        **_order_and_procedure(top, step),
        modality=modality,
        station_ae_title=step.text("ScheduledStationAETitle"),
        station_name=step.text("ScheduledStationName"),
        location=step.text("ScheduledProcedureStepLocation"),
        start=start,
        duration=step_duration(step, start, zone),
        step=_step_fields(step),
        protocol_codes=_protocol_codes(step),
    )


def _scheduled_step_item(top: Attributes) -> Attributes:
    """The Scheduled Procedure Step: a worklist item holds exactly one (PS3.4 K.6.1.2.2)."""
    keyword = "ScheduledProcedureStepSequence"
    if keyword not in top.dataset:
        raise SkipDataset(f"not a worklist item: no {attribute_name(keyword)}")
    steps = top.items(keyword)
    if not steps:
        raise SkipDataset(f"not a worklist item: {attribute_name(keyword)} is empty")
    if len(steps) > 1:
        top.warnings.append(
            f"{attribute_name(keyword)} has {len(steps)} items; only the first was imported"
        )
    return steps[0]


def _modality(step: Attributes) -> str:
    """Modality (0008,0060) of the step: it must be one the RIS schedules."""
    modality = step.text("Modality").upper()
    if not modality:
        raise SkipDataset(f"no {attribute_name('Modality')} in the scheduled step")
    if modality not in Modality.values:
        raise SkipDataset(f"{attribute_name('Modality')} {modality!r} is not one the RIS schedules")
    return modality


def _patient_fields(top: Attributes) -> dict:
    """Patient Identification, Demographic and Medical values (PS3.3 C.7.1).

    Patient ID is required to find the patient again; the other values are
    taken where present and valid, and otherwise left out with a warning.
    """
    patient_id = top.text("PatientID")
    if not patient_id:
        raise SkipDataset(f"no {attribute_name('PatientID')}")
    fields = {
        "patient_id": patient_id,
        "issuer_of_patient_id": top.text("IssuerOfPatientID"),
        "name": PersonName.parse(top.text("PatientName")),
        "birth_date": top.date("PatientBirthDate"),
        "sex": top.choice("PatientSex", Sex.values, ""),
        "weight_kg": top.decimal("PatientWeight", places=1, digits=5),
        "size_m": top.decimal("PatientSize", places=2, digits=3),
        "medical_alerts": "\n".join(top.texts("MedicalAlerts")),
        "allergies": "\n".join(top.texts("Allergies")),
        "pregnancy_status": _pregnancy_status(top),
    }
    return {name: value for name, value in fields.items() if value is not None}


def _pregnancy_status(top: Attributes) -> int | None:
    """Pregnancy Status (0010,21C0): a US of enumerated values 1-4 (PS3.3 C.7.1.4)."""
    value = top.get("PregnancyStatus")
    if value in (None, ""):
        return None
    if value not in PregnancyStatus.values:
        top.warnings.append(f"{attribute_name('PregnancyStatus')} {value!r} is not 1-4; left out")
        return None
    return int(value)


def _order_and_procedure(top: Attributes, step: Attributes) -> dict:
    """The WorklistItem fields of the order (its accession number) and the procedure."""
    accession_number = top.text("AccessionNumber")
    accession_issuer = top.entity_id("IssuerOfAccessionNumberSequence") if accession_number else ""
    priority = top.choice("RequestedProcedurePriority", Priority.values, Priority.ROUTINE)
    study_uid = top.text("StudyInstanceUID")
    description = top.text("RequestedProcedureDescription")
    code = _procedure_code(top)
    return {
        "accession_number": accession_number,
        "accession_issuer": accession_issuer or settings.RIS_ACCESSION_ISSUER,
        "order": _order_fields(top, priority),
        "study_instance_uid": study_uid or derived_study_uid(top, step),
        "study_uid_generated": not study_uid,
        "procedure_code": code or local_procedure_code(description),
        "procedure": {
            "requested_procedure_id": top.text("RequestedProcedureID"),
            "description": description,
            "priority": priority,
        },
    }


def _order_fields(top: Attributes, priority: str) -> dict:
    """Imaging Service Request and Visit values (PS3.3 C.4.11, C.3)."""
    return {
        "referring_physician_name": top.text("ReferringPhysicianName"),
        "requesting_physician": top.text("RequestingPhysician"),
        "requesting_service": top.text("RequestingService"),
        "placer_order_number": top.text("PlacerOrderNumberImagingServiceRequest"),
        "placer_issuer": top.entity_id("OrderPlacerIdentifierSequence"),
        "filler_order_number": top.text("FillerOrderNumberImagingServiceRequest"),
        "filler_issuer": top.entity_id("OrderFillerIdentifierSequence"),
        "reason_for_request": top.text("ReasonForTheRequestedProcedure"),
        "admission_id": top.text("AdmissionID"),
        "current_patient_location": top.text("CurrentPatientLocation"),
        "comments": top.text("ImagingServiceRequestComments"),
        "priority": priority,
    }


def _step_fields(step: Attributes) -> dict:
    """Scheduled Procedure Step values (PS3.3 C.4.10) the step keeps as given."""
    return {
        "sps_id": step.text("ScheduledProcedureStepID"),
        "performing_physician_name": step.text("ScheduledPerformingPhysicianName"),
        "description": step.text("ScheduledProcedureStepDescription"),
        "pre_medication": step.text("PreMedication"),
        "requested_contrast_agent": step.text("RequestedContrastAgent"),
        "comments": step.text("CommentsOnTheScheduledProcedureStep"),
        "status": step.choice(
            "ScheduledProcedureStepStatus", StepStatus.values, StepStatus.SCHEDULED
        ),
    }


def _procedure_code(top: Attributes) -> Code | None:
    """Requested Procedure Code Sequence (0032,1064): its first item names the procedure."""
    item = top.item("RequestedProcedureCodeSequence")
    return _code(item, "RequestedProcedureCodeSequence") if item else None


def _protocol_codes(step: Attributes) -> list[Code]:
    keyword = "ScheduledProtocolCodeSequence"
    return [code for item in step.items(keyword) if (code := _code(item, keyword))]


def _code(item: Attributes, keyword: str) -> Code | None:
    """A code of the catalog is named by Code Value and Coding Scheme Designator."""
    code = Code(
        value=item.text("CodeValue"),
        scheme=item.text("CodingSchemeDesignator"),
        version=item.text("CodingSchemeVersion"),
        meaning=item.text("CodeMeaning"),
    )
    if code.value and code.scheme:
        return code
    item.warnings.append(
        f"an item of {attribute_name(keyword)} without Code Value or Coding Scheme "
        "Designator was left out"
    )
    return None


def local_procedure_code(description: str) -> Code:
    """The local code of a procedure that came without one, named after its description.

    The same description always gives the same code (ignoring case and spacing),
    so that a procedure keeps one code across files and runs. The value is an SH
    (16 characters): a readable stem and 8 hex digits of a hash.
    """
    meaning = description or LOCAL_CODE_MEANING
    digest = hashlib.sha256(" ".join(meaning.split()).casefold().encode()).hexdigest()
    stem = re.sub(r"[^A-Z0-9]", "", meaning.upper())[:7]
    value = f"{stem}-{digest[:8].upper()}" if stem else digest[:8].upper()
    return Code(value=value, scheme=LOCAL_SCHEME, meaning=meaning)


# The step's values that name a procedure when nothing else in the file does.
STEP_IDENTIFYING_KEYWORDS = (
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "ScheduledStationAETitle",
    "Modality",
    "ScheduledProcedureStepDescription",
)


def derived_study_uid(top: Attributes, step: Attributes) -> str:
    """A Study Instance UID for a procedure whose file has none.

    Under the site's root (PS3.5 9), its number is a SHA-512 hash of the values
    that name the procedure in the file (pydicom's generate_uid with entropy
    sources): the same file gives the same UID, so a second run finds the
    procedure the first one made instead of booking it again.
    """
    sources = [
        top.text("PatientID"),
        top.text("IssuerOfPatientID"),
        top.text("AccessionNumber"),
        top.entity_id("IssuerOfAccessionNumberSequence"),
        top.text("RequestedProcedureID"),
    ]
    if not (sources[2] or sources[4]):  # nothing names the procedure: take the step's values
        sources += [step.text(keyword) for keyword in STEP_IDENTIFYING_KEYWORDS]
    # pydicom concatenates the sources: join them with a backslash, which no single value
    # holds (PS3.5 6.4), so that ("P1", "2") and ("P12", "") stay apart.
    source = "\\".join(["ris-import", *sources])
    return str(generate_uid(prefix=uid_root(), entropy_srcs=[source]))
