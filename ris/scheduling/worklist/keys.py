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

from ris.scheduling.models import ProtocolCode, ScheduledProcedureStep

PATIENT = "requested_procedure__order__patient__"
ORDER = "requested_procedure__order__"
PROCEDURE = "requested_procedure__"


@dataclass(frozen=True)
class Key:
    """One attribute: its value for a step, and how a query value matches it.

    kind: "string" (single value or wildcard), "person_name" (case-insensitive,
    over a search column), "uid" (single value or list), "date", "number".
    """

    keyword: str
    value: Callable[[ScheduledProcedureStep], Any]
    path: str | None = None
    kind: str = "string"


@dataclass(frozen=True)
class SequenceKey:
    """A code-like sequence: its items as dicts, and how item keys match.

    `item_fields` maps item keywords to fields of the item's model. For an
    item reached by a join, `prefix` is the path to it; for items of which a
    step has many, `exists` wraps the item condition in an EXISTS, so that a
    step is never returned twice.
    """

    keyword: str
    items: Callable[[ScheduledProcedureStep], list[dict]]
    item_fields: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    exists: Callable[[Q], Q] | None = None

    @property
    def matchable(self) -> bool:
        return bool(self.item_fields)


def _patient(step):
    return step.requested_procedure.order.patient


def _order(step):
    return step.requested_procedure.order


def _procedure(step):
    return step.requested_procedure


def _da(value) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _ds(value) -> str:
    return format(value.normalize(), "f") if value is not None else ""


def _local(moment):
    """A stored moment in the department's zone, where worklist dates and times live."""
    return timezone.localtime(moment, timezone.get_default_timezone())


def code_item(code) -> dict:
    """The Code Sequence Macro attributes of a catalog code (PS3.3 Table 8.8-1);
    an empty Coding Scheme Version is left out."""
    return {kw: getattr(code, name) for kw, name in CODE_FIELDS.items() if getattr(code, name)}


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


def _any_protocol_code(condition: Q) -> Q:
    return Q(Exists(ProtocolCode.objects.filter(condition, scheduled_steps=OuterRef("pk"))))


TOP_LEVEL = [
    Key("PatientName", lambda s: str(_patient(s).name), PATIENT + "name_search", "person_name"),
    Key("PatientID", lambda s: _patient(s).patient_id, PATIENT + "patient_id"),
    Key(
        "IssuerOfPatientID",
        lambda s: _patient(s).issuer_of_patient_id,
        PATIENT + "issuer_of_patient_id",
    ),
    Key("PatientBirthDate", lambda s: _da(_patient(s).birth_date), PATIENT + "birth_date", "date"),
    Key("PatientSex", lambda s: _patient(s).sex, PATIENT + "sex"),
    Key("PatientWeight", lambda s: _ds(_patient(s).weight_kg)),
    Key("PatientSize", lambda s: _ds(_patient(s).size_m)),
    Key("MedicalAlerts", lambda s: _patient(s).medical_alert_values),
    Key("Allergies", lambda s: _patient(s).allergy_values),
    Key(
        "PregnancyStatus",
        lambda s: _patient(s).pregnancy_status,
        PATIENT + "pregnancy_status",
        "number",
    ),
    Key("AccessionNumber", lambda s: _order(s).accession_number, ORDER + "accession_number"),
    Key("ReferringPhysicianName", lambda s: _order(s).referring_physician_name),
    Key("RequestingPhysician", lambda s: _order(s).requesting_physician),
    Key("RequestingService", lambda s: _order(s).requesting_service),
    Key("ReasonForTheRequestedProcedure", lambda s: _order(s).reason_for_request),
    Key(
        "PlacerOrderNumberImagingServiceRequest",
        lambda s: _order(s).placer_order_number,
        ORDER + "placer_order_number",
    ),
    Key(
        "FillerOrderNumberImagingServiceRequest",
        lambda s: _order(s).filler_order_number,
        ORDER + "filler_order_number",
    ),
    Key("AdmissionID", lambda s: _order(s).admission_id, ORDER + "admission_id"),
    Key("CurrentPatientLocation", lambda s: _order(s).current_patient_location),
    Key("ImagingServiceRequestComments", lambda s: _order(s).comments),
    Key(
        "RequestedProcedureID",
        lambda s: _procedure(s).requested_procedure_id,
        PROCEDURE + "requested_procedure_id",
    ),
    Key(
        "RequestedProcedureDescription",
        lambda s: _procedure(s).description,
        PROCEDURE + "description",
    ),
    Key(
        "StudyInstanceUID",
        lambda s: _procedure(s).study_instance_uid,
        PROCEDURE + "study_instance_uid",
        "uid",
    ),
    Key(
        "RequestedProcedurePriority",
        lambda s: _procedure(s).priority,
        PROCEDURE + "priority",
    ),
    # Type 2 return keys the RIS keeps no value for: present and empty (K.6-1).
    Key("PatientTransportArrangements", lambda s: ""),
    Key("ConfidentialityConstraintOnPatientDataDescription", lambda s: ""),
    Key("PatientState", lambda s: ""),
    Key("SpecialNeeds", lambda s: ""),
    Key("ReferencedStudySequence", lambda s: []),
    Key("ReferencedPatientSequence", lambda s: []),
]

TOP_LEVEL_SEQUENCES = [
    SequenceKey(
        "RequestedProcedureCodeSequence",
        lambda s: [code_item(_procedure(s).procedure_code)],
        CODE_FIELDS,
        prefix=PROCEDURE + "procedure_code__",
    ),
    SequenceKey(
        "IssuerOfAccessionNumberSequence",
        lambda s: (
            [{"LocalNamespaceEntityID": _order(s).issuer_of_accession_number}]
            if _order(s).issuer_of_accession_number
            else []
        ),
        {"LocalNamespaceEntityID": "issuer_of_accession_number"},
        prefix=ORDER,
    ),
    SequenceKey(
        "OtherPatientIDsSequence",
        lambda s: unpack(s.other_patient_ids_packed, OTHER_PATIENT_ID_FIELDS),
    ),
]

# Inside the Scheduled Procedure Step Sequence (0040,0100). Start date and time
# match together as one date-time window (see ris.dicom.matching).
STEP = [
    Key(
        "ScheduledStationAETitle",
        lambda s: s.scheduled_station_ae_title,
        "scheduled_station_ae_title",
    ),
    Key("ScheduledProcedureStepStartDate", lambda s: _da(_local(s.start)), "start", "date_time"),
    Key(
        "ScheduledProcedureStepStartTime",
        lambda s: _local(s.start).strftime("%H%M%S"),
        "start",
        "date_time",
    ),
    Key("Modality", lambda s: s.modality, "modality"),
    Key(
        "ScheduledPerformingPhysicianName",
        lambda s: s.performing_physician_name,
        "performing_physician_search",
        "person_name",
    ),
    Key("ScheduledProcedureStepDescription", lambda s: s.description, "description"),
    Key("ScheduledStationName", lambda s: s.scheduled_station_name, "scheduled_station_name"),
    Key("ScheduledProcedureStepLocation", lambda s: s.location, "location"),
    Key("PreMedication", lambda s: s.pre_medication, "pre_medication"),
    Key("ScheduledProcedureStepID", lambda s: s.sps_id, "sps_id"),
    Key("RequestedContrastAgent", lambda s: s.requested_contrast_agent, "requested_contrast_agent"),
    Key("ScheduledProcedureStepStatus", lambda s: s.status, "status"),
    Key("ScheduledProcedureStepEndDate", lambda s: _da(_local(s.end))),
    Key("ScheduledProcedureStepEndTime", lambda s: _local(s.end).strftime("%H%M%S")),
    Key("CommentsOnTheScheduledProcedureStep", lambda s: s.comments),
]

STEP_SEQUENCES = [
    SequenceKey(
        "ScheduledProtocolCodeSequence",
        lambda s: [
            {keyword: value for keyword, value in item.items() if value}
            for item in unpack(s.protocol_codes_packed, CODE_FIELDS)
        ],
        CODE_FIELDS,
        exists=_any_protocol_code,
    ),
]

TOP_LEVEL_KEYS = {key.keyword: key for key in TOP_LEVEL + TOP_LEVEL_SEQUENCES}
STEP_KEYS = {key.keyword: key for key in STEP + STEP_SEQUENCES}

# In the Identifier, never matched (K.6-1a, C.2.2.2).
NOT_KEYS = {"SpecificCharacterSet", "TimezoneOffsetFromUTC"}
