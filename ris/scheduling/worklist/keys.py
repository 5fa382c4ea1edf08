"""The Modality Worklist keys the RIS supports (PS3.4 Table K.6-1).

Each key says where its value comes from and, if the RIS can match on it, the
model field it matches and how. A key without a path is a return key only: a
value sent for it is not matched (PS3.4 C.2.2.1: optional keys the SCP does
not match on are treated as return keys), and CONFORMANCE.md lists which.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ris.dicom.person_name import PersonName
from ris.scheduling.models import Patient, ProtocolCode
from ris.scheduling.models.patients import values_by_line

PATIENT = "requested_procedure__order__patient__"
ORDER = "requested_procedure__order__"
PROCEDURE = "requested_procedure__"

# A step's protocol codes and its patient's other IDs, each packed into one
# column by the query (worklist.query.PackedItems).
PROTOCOL_CODES = "protocol_codes_packed"
OTHER_PATIENT_IDS = "other_patient_ids_packed"


def _as_is(value):
    return value


@dataclass(frozen=True)
class Key:
    """One attribute: the columns its value is made of, and how a query value
    matches it.

    columns: the step's fields the value is read from, as ORM paths; the query
    fetches them as plain values, no model instances. value: the DICOM value,
    from those columns' values in order. path: the field a query value is
    matched against, or None for a return key. kind: "string" (single value
    or wildcard), "person_name" (case-insensitive, over a search column),
    "uid" (single value or list), "date", "date_time" (matched together as a
    window by the query), "number".
    """

    keyword: str
    columns: tuple[str, ...] = ()
    value: Callable[..., Any] = _as_is
    path: str | None = None
    kind: str = "string"


def matched(
    keyword: str,
    path: str,
    kind: str = "string",
    columns: tuple[str, ...] | None = None,
    value: Callable[..., Any] = _as_is,
) -> Key:
    """A key matched on `path`, whose value is that field's unless `columns` and
    `value` say otherwise."""
    return Key(keyword, columns or (path,), value, path, kind)


def returned(keyword: str, *columns: str, value: Callable[..., Any] = _as_is) -> Key:
    """A return key: never matched (PS3.4 C.2.2.1)."""
    return Key(keyword, columns, value)


@dataclass(frozen=True)
class SequenceKey:
    """A code-like sequence: its items as dicts, made from the columns' values,
    and how item keys match.

    `item_fields` maps item keywords to fields of the item's model. For an
    item reached by a join, `prefix` is the path to it; for items of which a
    step has many, `exists` wraps the item condition in an EXISTS, so that a
    step is never returned twice.
    """

    keyword: str
    columns: tuple[str, ...]
    items: Callable[..., list[dict]]
    item_fields: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    exists: Callable[[Q], Q] | None = None

    @property
    def matchable(self) -> bool:
        return bool(self.item_fields)


def _da(value) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _ds(value) -> str:
    return format(value.normalize(), "f") if value is not None else ""


def _local(moment):
    """A stored moment in the department's zone, where worklist dates and times live."""
    return timezone.localtime(moment, timezone.get_default_timezone())


def _local_date(moment) -> str:
    return _da(_local(moment))


def _local_time(moment) -> str:
    return _local(moment).strftime("%H%M%S")


def _person_name(*components: str) -> str:
    return str(PersonName(*components))


def _nothing() -> str:
    return ""


def _no_items() -> list:
    return []


# Separators that no SH, LO or CS value contains (PS3.5 6.2: no control
# characters), for items packed into one text column by the query.
UNIT, RECORD = "\x1f", "\x1e"


def unpack(packed: str | None, fields: dict[str, str]) -> list[dict]:
    """Items packed by the worklist query (worklist.query.PackedItems packs the
    fields' values in the order of `fields`), by item keyword."""
    if not packed:
        return []
    return [dict(zip(fields, record.split(UNIT), strict=True)) for record in packed.split(RECORD)]


# Item keyword -> model field, for the item sequences the query packs.
CODE_FIELDS = {
    "CodeValue": "code_value",
    "CodingSchemeDesignator": "coding_scheme_designator",
    "CodingSchemeVersion": "coding_scheme_version",
    "CodeMeaning": "code_meaning",
}
OTHER_PATIENT_ID_FIELDS = {
    "PatientID": "other_patient_id",
    "IssuerOfPatientID": "issuer_of_patient_id",
    "TypeOfPatientID": "type_of_patient_id",
}


def _present(item: dict) -> dict:
    """An item without its empty attributes (an empty Coding Scheme Version)."""
    return {keyword: value for keyword, value in item.items() if value}


def _any_protocol_code(condition: Q) -> Q:
    return Q(Exists(ProtocolCode.objects.filter(condition, scheduled_steps=OuterRef("pk"))))


TOP_LEVEL = [
    matched(
        "PatientName",
        PATIENT + "name_search",
        "person_name",
        columns=tuple(PATIENT + name_field for name_field in Patient.NAME_FIELDS),
        value=_person_name,
    ),
    matched("PatientID", PATIENT + "patient_id"),
    matched("IssuerOfPatientID", PATIENT + "issuer_of_patient_id"),
    matched("PatientBirthDate", PATIENT + "birth_date", "date", value=_da),
    matched("PatientSex", PATIENT + "sex"),
    returned("PatientWeight", PATIENT + "weight_kg", value=_ds),
    returned("PatientSize", PATIENT + "size_m", value=_ds),
    returned("MedicalAlerts", PATIENT + "medical_alerts", value=values_by_line),
    returned("Allergies", PATIENT + "allergies", value=values_by_line),
    matched("PregnancyStatus", PATIENT + "pregnancy_status", "number"),
    matched("AccessionNumber", ORDER + "accession_number"),
    returned("ReferringPhysicianName", ORDER + "referring_physician_name"),
    returned("RequestingPhysician", ORDER + "requesting_physician"),
    returned("RequestingService", ORDER + "requesting_service"),
    returned("ReasonForTheRequestedProcedure", ORDER + "reason_for_request"),
    matched("PlacerOrderNumberImagingServiceRequest", ORDER + "placer_order_number"),
    matched("FillerOrderNumberImagingServiceRequest", ORDER + "filler_order_number"),
    matched("AdmissionID", ORDER + "admission_id"),
    returned("CurrentPatientLocation", ORDER + "current_patient_location"),
    returned("ImagingServiceRequestComments", ORDER + "comments"),
    matched("RequestedProcedureID", PROCEDURE + "requested_procedure_id"),
    matched("RequestedProcedureDescription", PROCEDURE + "description"),
    matched("StudyInstanceUID", PROCEDURE + "study_instance_uid", "uid"),
    matched("RequestedProcedurePriority", PROCEDURE + "priority"),
    # Type 2 return keys the RIS keeps no value for: present and empty (K.6-1).
    returned("PatientTransportArrangements", value=_nothing),
    returned("ConfidentialityConstraintOnPatientDataDescription", value=_nothing),
    returned("PatientState", value=_nothing),
    returned("SpecialNeeds", value=_nothing),
    returned("ReferencedStudySequence", value=_no_items),
    returned("ReferencedPatientSequence", value=_no_items),
]

TOP_LEVEL_SEQUENCES = [
    SequenceKey(
        "RequestedProcedureCodeSequence",
        tuple(PROCEDURE + "procedure_code__" + code_field for code_field in CODE_FIELDS.values()),
        lambda *code: [_present(dict(zip(CODE_FIELDS, code, strict=True)))],
        CODE_FIELDS,
        prefix=PROCEDURE + "procedure_code__",
    ),
    SequenceKey(
        "IssuerOfAccessionNumberSequence",
        (ORDER + "issuer_of_accession_number",),
        lambda issuer: [{"LocalNamespaceEntityID": issuer}] if issuer else [],
        {"LocalNamespaceEntityID": "issuer_of_accession_number"},
        prefix=ORDER,
    ),
    SequenceKey(
        "OtherPatientIDsSequence",
        (OTHER_PATIENT_IDS,),
        lambda packed: unpack(packed, OTHER_PATIENT_ID_FIELDS),
    ),
]

# A step ends at its start plus its expected duration (ScheduledProcedureStep.end).
END = ("start", "expected_duration")

# Inside the Scheduled Procedure Step Sequence (0040,0100). Start date and time
# match together as one date-time window (see ris.dicom.matching).
STEP = [
    matched("ScheduledStationAETitle", "scheduled_station_ae_title"),
    matched("ScheduledProcedureStepStartDate", "start", "date_time", value=_local_date),
    matched("ScheduledProcedureStepStartTime", "start", "date_time", value=_local_time),
    matched("Modality", "modality"),
    matched(
        "ScheduledPerformingPhysicianName",
        "performing_physician_search",
        "person_name",
        columns=("performing_physician_name",),
    ),
    matched("ScheduledProcedureStepDescription", "description"),
    matched("ScheduledStationName", "scheduled_station_name"),
    matched("ScheduledProcedureStepLocation", "location"),
    matched("PreMedication", "pre_medication"),
    matched("ScheduledProcedureStepID", "sps_id"),
    matched("RequestedContrastAgent", "requested_contrast_agent"),
    matched("ScheduledProcedureStepStatus", "status"),
    returned("ScheduledProcedureStepEndDate", *END, value=lambda start, d: _local_date(start + d)),
    returned("ScheduledProcedureStepEndTime", *END, value=lambda start, d: _local_time(start + d)),
    returned("CommentsOnTheScheduledProcedureStep", "comments"),
]

STEP_SEQUENCES = [
    SequenceKey(
        "ScheduledProtocolCodeSequence",
        (PROTOCOL_CODES,),
        lambda packed: [_present(item) for item in unpack(packed, CODE_FIELDS)],
        CODE_FIELDS,
        exists=_any_protocol_code,
    ),
]

TOP_LEVEL_KEYS = {key.keyword: key for key in TOP_LEVEL + TOP_LEVEL_SEQUENCES}
STEP_KEYS = {key.keyword: key for key in STEP + STEP_SEQUENCES}

# In the Identifier, never matched (K.6-1a, C.2.2.2).
NOT_KEYS = {"SpecificCharacterSet", "TimezoneOffsetFromUTC"}
