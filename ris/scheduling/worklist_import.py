"""Import Modality Worklist dataset files into the schedule: a one-command migration.

Sites with a file-based worklist (DCMTK wlmscpfs, Orthanc's worklist plugin)
keep one DICOM dataset per worklist item: the attributes of PS3.4 Table K.6-1,
with one Scheduled Procedure Step in Scheduled Procedure Step Sequence
(0040,0100). Each item becomes the Patient -> Order -> RequestedProcedure ->
ScheduledProcedureStep that the RIS books itself, through the services, so the
same validation applies.

What already exists is matched, not overwritten: Patient ID within its issuer,
Accession Number within its issuer, Study Instance UID, and the SPS ID within
its requested procedure; a step that is found was imported before, so a second
run imports nothing. Each dataset is imported in its own transaction: one that
is refused leaves nothing behind, and the others go on.

Parsing (`parse_worklist_item`) touches no database; `import_worklist_dataset`
writes one dataset; `import_worklist_paths` walks files and folders.
"""

import hashlib
import logging
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from pydicom import Dataset, dcmread
from pydicom.datadict import dictionary_description, dictionary_has_tag, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.uid import generate_uid
from pydicom.valuerep import DA, TM

from ris.dicom.person_name import PersonName
from ris.dicom.uids import uid_root
from ris.scheduling.models import (
    Modality,
    Order,
    Patient,
    PregnancyStatus,
    Priority,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Sex,
    Station,
    StepStatus,
)
from ris.scheduling.services import (
    ProcedureRequest,
    StepRequest,
    order_create,
    patient_create,
    procedure_code_create,
    protocol_code_create,
    requested_procedure_add,
    scheduled_step_add,
    station_create,
)

# Procedures that come without a Requested Procedure Code Sequence (0032,1064)
# get a code of this local scheme ("99" marks a site's own designator).
LOCAL_SCHEME = "99IMPORT"
LOCAL_CODE_MEANING = "Imported procedure"
DEFAULT_DURATION = timedelta(minutes=15)


# --- Outcomes -----------------------------------------------------------------


class Status(StrEnum):
    IMPORTED = "imported"
    ALREADY_IMPORTED = "already imported"
    SKIPPED = "skipped"


# What is counted as created or matched, and how the report names it.
LEVELS = {
    "patient": "Patients",
    "order": "Orders",
    "procedure": "Requested procedures",
    "station": "Stations",
    "procedure_code": "Procedure codes",
    "protocol_code": "Protocol codes",
}


@dataclass
class ImportOutcome:
    """What became of one worklist dataset."""

    status: Status = Status.IMPORTED
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    created: Counter = field(default_factory=Counter)
    matched: Counter = field(default_factory=Counter)
    study_uid_generated: bool = False
    # The step imported or found; after a dry run it is no longer in the database.
    step: ScheduledProcedureStep | None = None

    def skip(self, reason: str) -> "ImportOutcome":
        """Nothing of a skipped dataset was written: forget what was counted."""
        self.status, self.reason = Status.SKIPPED, reason
        self.created.clear()
        self.matched.clear()
        self.study_uid_generated = False
        self.step = None
        return self


@dataclass
class ImportReport:
    """What became of every file of one import run."""

    dry_run: bool = False
    outcomes: list[tuple[Path, ImportOutcome]] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(outcome.status == status for _, outcome in self.outcomes)

    def created(self, level: str) -> int:
        return sum(outcome.created[level] for _, outcome in self.outcomes)

    def matched(self, level: str) -> int:
        return sum(outcome.matched[level] for _, outcome in self.outcomes)

    @property
    def skipped(self) -> list[tuple[Path, ImportOutcome]]:
        return [
            (path, outcome) for path, outcome in self.outcomes if outcome.status == Status.SKIPPED
        ]

    @property
    def failed(self) -> bool:
        """Whether a file could not be imported ("already imported" is no failure)."""
        return bool(self.skipped)

    def lines(self, verbose: bool = False) -> list[str]:
        """The report as an operator reads it: counts, then one line per skipped file."""
        lines = ["Dry run: nothing was written."] if self.dry_run else []
        lines += [
            f"Files read: {len(self.outcomes)}",
            f"Steps imported: {self.count(Status.IMPORTED)}, "
            f"already present: {self.count(Status.ALREADY_IMPORTED)}, "
            f"skipped: {self.count(Status.SKIPPED)}",
        ]
        for level, title in LEVELS.items():
            lines.append(f"{title}: {self.created(level)} created, {self.matched(level)} matched")
        generated = sum(outcome.study_uid_generated for _, outcome in self.outcomes)
        if generated:
            lines.append(f"Study Instance UIDs generated (none in the file): {generated}")
        lines += self._per_file(
            "Skipped", lambda outcome: [outcome.reason] if outcome.reason else []
        )
        # A file imported before was reported then: its warnings would only repeat.
        lines += self._per_file(
            "Warnings",
            lambda outcome: outcome.warnings if outcome.status != Status.ALREADY_IMPORTED else [],
        )
        if verbose:
            lines += self._per_file(
                "Imported", lambda outcome: _step_line(outcome, Status.IMPORTED)
            )
            lines += self._per_file(
                "Already imported", lambda outcome: _step_line(outcome, Status.ALREADY_IMPORTED)
            )
        return lines

    def _per_file(self, title: str, messages) -> list[str]:
        lines = [f"  {path}: {message}" for path, o in self.outcomes for message in messages(o)]
        return [f"{title}:", *lines] if lines else []


def _step_line(outcome: ImportOutcome, status: Status) -> list[str]:
    step = outcome.step
    if outcome.status != status or step is None:
        return []
    return [f"SPS ID {step.sps_id} at {step.scheduled_station_ae_title}, {step.start.isoformat()}"]


class SkipDataset(Exception):
    """A dataset that cannot be imported; the message says why."""


# --- Files ----------------------------------------------------------------------


def import_worklist_paths(
    paths: Iterable[str | Path], all_files: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import every worklist file found under the paths, each in its own transaction.

    A dry run imports inside one transaction that is rolled back at the end, so
    its report (counts, refusals) is what an import would do, and nothing stays.
    """
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic() if dry_run else nullcontext():
        for path in worklist_files(paths, all_files=all_files):
            report.outcomes.append((path, import_worklist_file(path)))
        if dry_run:
            transaction.set_rollback(True)
    return report


def worklist_files(paths: Iterable[str | Path], all_files: bool = False) -> Iterator[Path]:
    """The files to read: each path given, and in folders (recursively) the .wl files.

    wlmscpfs keeps a folder per called AE title, and Orthanc's worklist plugin one
    folder, both with one dataset per file ending in .wl; with `all_files`, every
    file in the folders is read. A path that does not exist is yielded as well,
    so that it is reported.
    """
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        for folder, subfolders, names in os.walk(path):
            subfolders.sort()
            for name in sorted(names):
                if all_files or name.lower().endswith(".wl"):
                    yield Path(folder) / name


def import_worklist_file(path: Path) -> ImportOutcome:
    """Read one file and import its dataset."""
    outcome = ImportOutcome()
    try:
        with _pydicom_warnings(outcome.warnings):
            dataset = read_worklist_file(path)
    except SkipDataset as skip:
        return outcome.skip(str(skip))
    return import_worklist_dataset(dataset, outcome)


def read_worklist_file(path: Path) -> Dataset:
    """The dataset of a worklist file, with or without preamble and file meta.

    wlmscpfs's files are often written by dump2dcm without the 128-byte preamble
    and the File Meta Information (PS3.10 7.1), so the file is read with force.
    """
    if not path.exists():
        raise SkipDataset("no such file or directory")
    try:
        dataset = dcmread(path, force=True)
    except Exception as error:  # pydicom raises many kinds of errors on a damaged file
        raise SkipDataset(f"not a readable DICOM file ({error})") from error
    # Read with force, any bytes give some dataset: one without a single attribute
    # of the DICOM dictionary was not a DICOM file.
    # (keys(): iterating the dataset itself would decode every value.)
    if not any(dictionary_has_tag(tag) for tag in dataset.keys()):  # noqa: SIM118
        raise SkipDataset("not a DICOM file (empty, or no DICOM attribute in it)")
    return dataset


@contextmanager
def _pydicom_warnings(messages: list[str]):
    """Keep what pydicom warns about (odd values, unknown character sets) with the
    file it concerns, instead of on the console; pydicom both warns and logs.

    Only around reading and parsing, which touch no database: warnings of the
    write path must reach their usual handling. If the block fails, its warnings
    are dropped: the reason it failed says more.
    """
    logger = logging.getLogger("pydicom")
    previous = logger.disabled
    logger.disabled = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.disabled = previous
    for message in dict.fromkeys(str(warning.message) for warning in caught):
        messages.append(f"pydicom: {message}")


# --- Parsing: a worklist dataset as the values the RIS stores -----------------------


def attribute_name(keyword: str) -> str:
    """ "Accession Number (0008,0050)": how messages name an attribute."""
    return f"{dictionary_description(keyword)} {Tag(tag_for_keyword(keyword))}"


class Attributes:
    """The values of a dataset or sequence item, as single strings the RIS stores.

    DICOM separates multiple values with a backslash (PS3.5 6.4); the RIS holds
    one value where the worklist item has one, so a second value is noted and left.
    """

    def __init__(self, dataset: Dataset, warnings: list[str]):
        self.dataset = dataset
        self.warnings = warnings

    def get(self, keyword: str):
        try:
            return self.dataset.get(keyword)
        except Exception as error:  # a value pydicom cannot decode
            raise SkipDataset(f"cannot decode {attribute_name(keyword)}: {error}") from error

    def texts(self, keyword: str) -> list[str]:
        value = self.get(keyword)
        values = value if isinstance(value, MultiValue | list) else [value]
        return [str(value).strip() for value in values if value is not None and str(value).strip()]

    def text(self, keyword: str) -> str:
        values = self.texts(keyword)
        if len(values) > 1:
            self.warnings.append(
                f"{attribute_name(keyword)} has {len(values)} values; only {values[0]!r} is kept"
            )
        return values[0] if values else ""

    def items(self, keyword: str) -> list["Attributes"]:
        return [Attributes(item, self.warnings) for item in self.get(keyword) or []]

    def item(self, keyword: str) -> "Attributes | None":
        items = self.items(keyword)
        return items[0] if items else None

    def entity_id(self, keyword: str) -> str:
        """Local Namespace Entity ID (0040,0031) of an HL7v2 Hierarchic Designator
        sequence such as Issuer of Accession Number Sequence (PS3.3 10.14)."""
        item = self.item(keyword)
        return item.text("LocalNamespaceEntityID") if item else ""


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
    """Read a worklist dataset; raise SkipDataset if it is not one the RIS can book."""
    top = Attributes(dataset, warnings)
    step = _scheduled_step_item(top)
    patient = _patient_fields(top)
    modality = step.text("Modality").upper()
    if not modality:
        raise SkipDataset(f"no {attribute_name('Modality')} in the scheduled step")
    if modality not in Modality.values:
        raise SkipDataset(f"{attribute_name('Modality')} {modality!r} is not one the RIS schedules")
    start, zone = _start(top, step)
    accession_number = top.text("AccessionNumber")
    accession_issuer = top.entity_id("IssuerOfAccessionNumberSequence") if accession_number else ""
    priority = _choice(top, "RequestedProcedurePriority", Priority.values, Priority.ROUTINE)
    study_uid = top.text("StudyInstanceUID")
    description = top.text("RequestedProcedureDescription")
    code = _procedure_code(top)
    return WorklistItem(
        patient=patient,
        accession_number=accession_number,
        accession_issuer=accession_issuer or settings.RIS_ACCESSION_ISSUER,
        order=_order_fields(top, priority),
        study_instance_uid=study_uid or derived_study_uid(top, step),
        study_uid_generated=not study_uid,
        procedure_code=code or local_procedure_code(description),
        procedure={
            "requested_procedure_id": top.text("RequestedProcedureID"),
            "description": description,
            "priority": priority,
        },
        modality=modality,
        station_ae_title=step.text("ScheduledStationAETitle"),
        station_name=step.text("ScheduledStationName"),
        location=step.text("ScheduledProcedureStepLocation"),
        start=start,
        duration=_duration(step, start, zone),
        step=_step_fields(step),
        protocol_codes=[
            code
            for item in step.items("ScheduledProtocolCodeSequence")
            if (code := _code(item, "ScheduledProtocolCodeSequence"))
        ],
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
        "birth_date": _date(top, "PatientBirthDate"),
        "sex": _choice(top, "PatientSex", Sex.values, ""),
        "weight_kg": _decimal(top, "PatientWeight", places=1, digits=5),
        "size_m": _decimal(top, "PatientSize", places=2, digits=3),
        "medical_alerts": "\n".join(top.texts("MedicalAlerts")),
        "allergies": "\n".join(top.texts("Allergies")),
        "pregnancy_status": _pregnancy_status(top),
    }
    return {name: value for name, value in fields.items() if value is not None}


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
        "status": _choice(
            step, "ScheduledProcedureStepStatus", StepStatus.values, StepStatus.SCHEDULED
        ),
    }


def _procedure_code(top: Attributes) -> Code | None:
    item = top.item("RequestedProcedureCodeSequence")
    return _code(item, "RequestedProcedureCodeSequence") if item else None


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
        sources += [
            step.text(keyword)
            for keyword in (
                "ScheduledProcedureStepID",
                "ScheduledProcedureStepStartDate",
                "ScheduledProcedureStepStartTime",
                "ScheduledStationAETitle",
                "Modality",
                "ScheduledProcedureStepDescription",
            )
        ]
    # pydicom concatenates the sources: join them with a backslash, which no single value
    # holds (PS3.5 6.4), so that ("P1", "2") and ("P12", "") stay apart.
    source = "\\".join(["ris-import", *sources])
    return str(generate_uid(prefix=uid_root(), entropy_srcs=[source]))


def _start(top: Attributes, step: Attributes) -> tuple[datetime, tzinfo]:
    """Start Date and Time (0040,0002-3) as an aware datetime, with its zone.

    Dates and times are local: in the zone of Timezone Offset From UTC (0008,0201)
    when the file gives one (PS3.4 Table K.6-1a), else the department's TIME_ZONE.
    """
    keyword = "ScheduledProcedureStepStartDate"
    if not step.text(keyword):
        raise SkipDataset(f"no {attribute_name(keyword)}")
    day = _parse(step, keyword, DA)
    if day is None:
        raise SkipDataset(f"malformed {attribute_name(keyword)}: {step.text(keyword)!r}")
    clock = time(0, 0)
    keyword = "ScheduledProcedureStepStartTime"
    if step.text(keyword):
        clock = _parse(step, keyword, TM)
        if clock is None:
            raise SkipDataset(f"malformed {attribute_name(keyword)}: {step.text(keyword)!r}")
    else:
        step.warnings.append(f"no {attribute_name(keyword)}: the step starts at midnight")
    zone = _zone(top)
    return timezone.make_aware(datetime.combine(day, clock), zone), zone


def _zone(top: Attributes) -> tzinfo:
    offset = top.text("TimezoneOffsetFromUTC")
    if offset:
        try:
            return datetime.strptime(offset, "%z").tzinfo
        except ValueError:
            top.warnings.append(
                f"malformed {attribute_name('TimezoneOffsetFromUTC')} {offset!r}: "
                f"times were read in {settings.TIME_ZONE}"
            )
    return timezone.get_default_timezone()


def _duration(step: Attributes, start: datetime, zone: tzinfo) -> timedelta | None:
    """End Date and Time (0040,0004-5) less the start; None: the code's usual duration."""
    if not step.text("ScheduledProcedureStepEndTime"):
        return None
    clock = _parse(step, "ScheduledProcedureStepEndTime", TM)
    day = start.astimezone(zone).date()  # no End Date: the day it starts
    if step.text("ScheduledProcedureStepEndDate"):
        day = _parse(step, "ScheduledProcedureStepEndDate", DA)
    if clock is not None and day is not None:
        duration = timezone.make_aware(datetime.combine(day, clock), zone) - start
        if duration > timedelta(0):
            return duration
    step.warnings.append(
        "the Scheduled Procedure Step End Date/Time is malformed or not after the start: "
        "the step takes the procedure's usual duration"
    )
    return None


def _parse(attributes: Attributes, keyword: str, vr: type[DA] | type[TM]) -> date | time | None:
    try:
        return vr(attributes.text(keyword))
    except ValueError:
        return None


def _date(attributes: Attributes, keyword: str) -> date | None:
    value = attributes.text(keyword)
    if not value:
        return None
    day = _parse(attributes, keyword, DA)
    if day is None:
        attributes.warnings.append(f"{attribute_name(keyword)} {value!r} is not a date; left out")
    return day


def _choice(attributes: Attributes, keyword: str, choices: list[str], default: str) -> str:
    value = attributes.text(keyword).upper()
    if value and value not in choices:
        attributes.warnings.append(
            f"{attribute_name(keyword)} {value!r} is not one of {', '.join(choices)}: "
            f"{default or 'left out'}"
        )
        return default
    return value or default


def _decimal(attributes: Attributes, keyword: str, places: int, digits: int) -> Decimal | None:
    """A DS value as the model's decimal field holds it, or None with a warning."""
    value = attributes.text(keyword)
    if not value:
        return None
    try:
        number = Decimal(value).quantize(Decimal(1).scaleb(-places))
        if 0 < number < 10 ** (digits - places):
            return number
    except InvalidOperation:  # not a number, NaN, or too large to round
        pass
    attributes.warnings.append(f"{attribute_name(keyword)} {value!r} is not usable; left out")
    return None


def _pregnancy_status(top: Attributes) -> int | None:
    value = top.get("PregnancyStatus")
    if value in (None, ""):
        return None
    if value not in PregnancyStatus.values:
        top.warnings.append(f"{attribute_name('PregnancyStatus')} {value!r} is not 1-4; left out")
        return None
    return int(value)


# --- Writing: one dataset, one transaction ------------------------------------------


def import_worklist_dataset(
    dataset: Dataset, outcome: ImportOutcome | None = None
) -> ImportOutcome:
    """Import one worklist item: all of it in one transaction, or nothing."""
    outcome = outcome or ImportOutcome()
    try:
        with _pydicom_warnings(outcome.warnings):  # values are decoded as they are read
            item = parse_worklist_item(dataset, outcome.warnings)
        outcome.warnings[:] = list(dict.fromkeys(outcome.warnings))  # read twice, warned once
        with transaction.atomic():
            _import(item, outcome)
    except SkipDataset as skip:
        outcome.skip(str(skip))
    except ValidationError as error:
        outcome.skip(f"refused: {validation_messages(error)}")
    except DatabaseError as error:  # e.g. another process booked the same accession meanwhile
        outcome.skip(f"refused by the database: {error}")
    return outcome


def validation_messages(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "; ".join(
        " ".join(messages) if name == NON_FIELD_ERRORS else f"{name}: {' '.join(messages)}"
        for name, messages in error.message_dict.items()
    )


def _import(item: WorklistItem, outcome: ImportOutcome) -> None:
    """Find or make each level, top down: patient, procedure (with its order), step."""
    patient = _patient(item, outcome)
    requested = (
        RequestedProcedure.objects.select_related("order__patient", "procedure_code")
        .filter(study_instance_uid=item.study_instance_uid)
        .first()
    )
    if requested is None:
        _book_procedure(patient, item, outcome)
    else:
        _add_step(requested, patient, item, outcome)


def _add_step(
    requested: RequestedProcedure, patient: Patient, item: WorklistItem, outcome: ImportOutcome
) -> None:
    """The step of a known procedure: found if imported before, else added to it."""
    _check_same_order(requested.order, patient, item)
    outcome.matched.update(["order", "procedure"])
    outcome.step = _existing_step(requested, item)
    if outcome.step is not None:
        outcome.status = Status.ALREADY_IMPORTED
        return
    outcome.step = scheduled_step_add(
        requested_procedure=requested, step=_step_request(item, outcome)
    )


def _book_procedure(patient: Patient, item: WorklistItem, outcome: ImportOutcome) -> None:
    """A new requested procedure with its step: in the order of its accession number,
    or in a new order."""
    order = _matching_order(patient, item)
    procedure = ProcedureRequest(
        procedure_code=_catalog_procedure_code(item, outcome),
        steps=[_step_request(item, outcome)],
        study_instance_uid=item.study_instance_uid,
        **item.procedure,
    )
    if order is None:
        order = order_create(
            patient=patient,
            procedures=[procedure],
            accession_number=item.accession_number,
            issuer_of_accession_number=item.accession_issuer,
            **item.order,
        )
        requested = order.requested_procedures.get()
        outcome.created["order"] += 1
    else:
        requested = requested_procedure_add(order=order, procedure=procedure)
        outcome.matched["order"] += 1
    outcome.created["procedure"] += 1
    outcome.study_uid_generated = item.study_uid_generated
    outcome.step = requested.scheduled_steps.get()


def _patient(item: WorklistItem, outcome: ImportOutcome) -> Patient:
    """The patient of that Patient ID and issuer, as registered; else a new one."""
    fields = item.patient
    patient = Patient.objects.filter(
        patient_id=fields["patient_id"], issuer_of_patient_id=fields["issuer_of_patient_id"]
    ).first()
    if patient is None:
        outcome.created["patient"] += 1
        return patient_create(**fields)
    outcome.matched["patient"] += 1
    if str(fields["name"]) and str(fields["name"]) != str(patient.name):
        outcome.warnings.append(
            f"patient {_patient_label(patient)} is registered as {str(patient.name)!r}; "
            f"the file's name {str(fields['name'])!r} was not applied"
        )
    return patient


def _patient_label(patient: Patient) -> str:
    issuer = f" (issuer {patient.issuer_of_patient_id})" if patient.issuer_of_patient_id else ""
    return f"{patient.patient_id}{issuer}"


def _matching_order(patient: Patient, item: WorklistItem) -> Order | None:
    """The order of the file's accession number; one of another patient is a conflict."""
    if not item.accession_number:
        return None  # the RIS assigns a new accession number
    order = (
        Order.objects.select_related("patient")
        .filter(
            accession_number=item.accession_number,
            issuer_of_accession_number=item.accession_issuer,
        )
        .first()
    )
    if order is not None and order.patient_id != patient.pk:
        raise SkipDataset(
            f"conflict: accession number {item.accession_number} (issuer "
            f"{item.accession_issuer}) is an order of patient {_patient_label(order.patient)}, "
            f"not of {_patient_label(patient)}"
        )
    return order


def _check_same_order(order: Order, patient: Patient, item: WorklistItem) -> None:
    """A known Study Instance UID must come with its patient and accession number."""
    uid = item.study_instance_uid
    if order.patient_id != patient.pk:
        raise SkipDataset(
            f"conflict: Study Instance UID {uid} is a procedure of patient "
            f"{_patient_label(order.patient)}, not of {_patient_label(patient)}"
        )
    if item.accession_number and (
        order.accession_number != item.accession_number
        or order.issuer_of_accession_number != item.accession_issuer
    ):
        raise SkipDataset(
            f"conflict: Study Instance UID {uid} is a procedure of accession number "
            f"{order.accession_number}, not of {item.accession_number}"
        )


def _existing_step(requested: RequestedProcedure, item: WorklistItem):
    """The step imported from this item before: same SPS ID; without one, same start and AE."""
    steps = requested.scheduled_steps.all()
    if item.step["sps_id"]:
        return steps.filter(sps_id=item.step["sps_id"]).first()
    return steps.filter(start=item.start, scheduled_station_ae_title=item.station_ae_title).first()


def _step_request(item: WorklistItem, outcome: ImportOutcome) -> StepRequest:
    station = _station(item, outcome)
    return StepRequest(
        start=item.start,
        station=station,
        modality=item.modality,
        expected_duration=item.duration,
        scheduled_station_ae_title=item.station_ae_title,
        # As when the RIS books: the station's name and room, unless the file says.
        scheduled_station_name=item.station_name or (station.name if station else ""),
        location=item.location or (station.location if station else ""),
        protocol_codes=[_catalog_protocol_code(code, outcome) for code in item.protocol_codes],
        **item.step,
    )


def _station(item: WorklistItem, outcome: ImportOutcome) -> Station | None:
    """The station of the Scheduled Station AE Title; one the RIS does not know is added."""
    if not item.station_ae_title:
        return None
    station = Station.objects.filter(ae_title=item.station_ae_title).first()
    if station is not None:
        outcome.matched["station"] += 1
        return station
    outcome.created["station"] += 1
    return station_create(
        ae_title=item.station_ae_title,
        name=item.station_name or item.station_ae_title,
        modality=item.modality,
        location=item.location,
    )


def _catalog_procedure_code(item: WorklistItem, outcome: ImportOutcome) -> ProcedureCode:
    code = item.procedure_code
    found = ProcedureCode.objects.filter(
        code_value=code.value, coding_scheme_designator=code.scheme
    ).first()
    if found is not None:
        outcome.matched["procedure_code"] += 1
        return found
    outcome.created["procedure_code"] += 1
    return procedure_code_create(
        code_value=code.value,
        coding_scheme_designator=code.scheme,
        coding_scheme_version=code.version,
        code_meaning=code.meaning or item.procedure["description"] or LOCAL_CODE_MEANING,
        default_modality=item.modality,
        default_duration=item.duration or DEFAULT_DURATION,
    )


def _catalog_protocol_code(code: Code, outcome: ImportOutcome) -> ProtocolCode:
    found = ProtocolCode.objects.filter(
        code_value=code.value, coding_scheme_designator=code.scheme
    ).first()
    if found is not None:
        outcome.matched["protocol_code"] += 1
        return found
    outcome.created["protocol_code"] += 1
    return protocol_code_create(
        code_value=code.value,
        coding_scheme_designator=code.scheme,
        coding_scheme_version=code.version,
        code_meaning=code.meaning or code.value,
    )
