"""UPS C-FIND (PS3.4 CC.2.8): an identifier as one SQL query, and the responses.

The keys are those of Table CC.2.5-3 whose Match column is R or U, and a few
O: each matches a Workitem column, or, for a coded sequence or a Referenced
Request Sequence item, an EXISTS on the WorkitemCode or WorkitemRequest rows
(so that a workitem is found once however many of its items match). The
required sequence keys that have no rows (Issuer of Admission ID Sequence,
Issuer of Accession Number Sequence within a request, Replaced Procedure Step
Sequence) are matched on the stored data set as the rows stream in.

Every other key is a return key only: its value is returned, a value sent
for it is not matched (C.2.2.1: an SCP that does not match on an optional key
treats it as a return key).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from pydicom import Dataset
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from ris.dicom import matching
from ris.dicom.charset import check_character_set, set_response_character_set
from ris.dicom.datetimes import format_datetime, utc_offset
from ris.dicom.errors import IdentifierError
from ris.dicom.person_name import search_pattern
from ris.ups import UPS_PUSH_SOP_CLASS_UID
from ris.ups.columns import CODE_SEQUENCES, PERFORMER_CODES, PERFORMER_CODES_PATH, PERFORMERS
from ris.ups.models import Workitem, WorkitemCode, WorkitemRequest
from ris.ups.selectors import workitems_active

REQUESTS = "ReferencedRequestSequence"

# Keyword -> (Workitem column, kind of matching).
COLUMN_KEYS = {
    "SOPInstanceUID": ("sop_instance_uid", "uid"),
    "ScheduledProcedureStepPriority": ("priority", "string"),
    "ProcedureStepLabel": ("procedure_step_label", "string"),
    "WorklistLabel": ("worklist_label", "string"),
    "ScheduledProcedureStepStartDateTime": ("scheduled_start", "datetime"),
    "ExpectedCompletionDateTime": ("expected_completion", "datetime"),
    "ScheduledProcedureStepModificationDateTime": ("modified_at", "datetime"),
    "InputReadinessState": ("input_readiness_state", "string"),
    "ProcedureStepState": ("state", "string"),
    "PatientName": ("patient_name_search", "person_name"),
    "PatientID": ("patient_id", "string"),
    "IssuerOfPatientID": ("issuer_of_patient_id", "string"),
    "PatientBirthDate": ("patient_birth_date", "date"),
    "PatientSex": ("patient_sex", "string"),
    "AdmissionID": ("admission_id", "string"),
}
CODE_COLUMNS = {"CodeValue": "code_value", "CodingSchemeDesignator": "coding_scheme_designator"}
REQUEST_COLUMNS = {
    "AccessionNumber": "accession_number",
    "RequestedProcedureID": "requested_procedure_id",
    "StudyInstanceUID": "study_instance_uid",
    "RequestingService": "requesting_service",
}
ISSUER_KEYS = ("LocalNamespaceEntityID", "UniversalEntityID", "UniversalEntityIDType")
# Sequence keyword -> the item keys matched in its items (sequence matching, C.2.2.2.6).
ITEM_KEYS = {
    **dict.fromkeys(CODE_SEQUENCES, tuple(CODE_COLUMNS)),
    PERFORMERS: (PERFORMER_CODES,),
    PERFORMER_CODES: tuple(CODE_COLUMNS),
    REQUESTS: (*REQUEST_COLUMNS, "IssuerOfAccessionNumberSequence"),
    "IssuerOfAccessionNumberSequence": ISSUER_KEYS,
    "IssuerOfAdmissionIDSequence": ISSUER_KEYS,
    "ReplacedProcedureStepSequence": ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID"),
}
TOP_LEVEL_SEQUENCES = (
    *CODE_SEQUENCES,
    PERFORMERS,
    REQUESTS,
    "IssuerOfAdmissionIDSequence",
    "ReplacedProcedureStepSequence",
)
# In the identifier but never matched (C.2.2.2): how to read the keys.
NOT_KEYS = ("SpecificCharacterSet", "TimezoneOffsetFromUTC")
MATCHED_KEYS = {*COLUMN_KEYS, "SOPClassUID", *NOT_KEYS, *TOP_LEVEL_SEQUENCES}
# Never in a response (CC.2.8.3, Table CC.2.5-3); the character set is the RIS's own.
NOT_RETURNED = ("TransactionUID", "SpecificCharacterSet")

# An item's matching keys: keyword -> a value (single or wildcard), a list of
# UIDs, or the matching keys of the item of a nested sequence.
ItemKeys = dict[str, "str | list[str] | ItemKeys"]


def workitem_find(
    identifier: Dataset, workitems: QuerySet[Workitem] | None = None
) -> Iterator[tuple[Dataset, bool]]:
    """The response identifier of each matching workitem, in scheduled start order,
    and whether every key of the request was supported (0xFF00, else 0xFF01).

    Raises IdentifierError (0xA900) before the first result if a key is
    malformed. Keys are supported when the RIS matches on every key sent with
    a value and knows every key asked for; a value for a return-only key (for
    instance Comments on the Scheduled Procedure Step, Human Performer's Name,
    Scheduled Procedure Step Expiration DateTime, Code Meaning) is not matched,
    and a private or unknown key is left out. Either gives False: PS3.4
    C.4.1.1.4, Pending 0xFF01, "Optional Keys were not supported for existence
    and/or matching".
    """
    matches = _matching(identifier, workitems)  # first: it checks every key
    sequence_keys = _sequence_keys(identifier)
    supported = all(_key_supported(element, MATCHED_KEYS) for element in identifier)
    return ((_response(stored, identifier, sequence_keys), supported) for _, stored in matches)


def workitems_matching(
    identifier: Dataset, workitems: QuerySet[Workitem] | None = None
) -> Iterator[Workitem]:
    """Each workitem a C-FIND with `identifier` would find: for the filtered
    global subscription, whose keys select workitems as C-FIND's do (CC.2.3.1)."""
    return (workitem for workitem, _ in _matching(identifier, workitems))


def _matching(
    identifier: Dataset, workitems: QuerySet[Workitem] | None
) -> Iterator[tuple[Workitem, Dataset]]:
    """The matches with their stored data sets. The conditions are made here,
    before the first row is read, so a malformed key raises at once."""
    workitems = workitems_active() if workitems is None else workitems
    rows = workitems.filter(workitem_conditions(identifier)).order_by("scheduled_start", "pk")
    sequence_keys = _sequence_keys(identifier)
    return (
        (workitem, stored)
        for workitem, stored in (
            (workitem, _stored_dataset(workitem)) for workitem in rows.iterator(chunk_size=200)
        )
        if _sequences_match(stored, sequence_keys)
    )


def workitem_conditions(identifier: Dataset) -> Q:
    """The condition a workitem meets when it matches every matching key that has
    a column or child rows; IdentifierError for a malformed key, naming it."""
    check_character_set(identifier)
    zone = _query_zone(identifier)
    condition = Q()
    for tag in list(identifier.keys()):
        with _blaming(tag):
            condition &= _key_condition(identifier[tag], zone)
    return condition


@contextmanager
def _blaming(tag):
    """Name the element at fault: in Offending Element (0000,0901) and the comment."""
    name = f"({tag.group:04X},{tag.element:04X})"
    try:
        yield
    except IdentifierError as error:
        error.offending = error.offending or (int(tag),)
        error.comment = f"{name} {error.comment}"
        error.args = (error.comment,)
        raise
    except (ValueError, TypeError, UnicodeError, OverflowError) as error:
        raise IdentifierError(f"{name} unreadable: {error}", offending=(int(tag),)) from None


def _query_zone(identifier: Dataset) -> tzinfo:
    """Where DT keys without a UTC offset are: Timezone Offset From UTC (0008,0201)
    if the request has one (C.2.2.2.5.4: the SCP may use it), else the department's."""
    with _blaming(Tag(0x00080201)):
        offset = identifier.get("TimezoneOffsetFromUTC")
        if offset:
            return utc_offset(str(offset))
    return timezone.get_default_timezone()


def _key_condition(element: DataElement, zone: tzinfo) -> Q:
    keyword = element.keyword
    if keyword in COLUMN_KEYS:
        column, kind = COLUMN_KEYS[keyword]
        return _column_condition(column, kind, element.value, keyword, zone)
    if keyword == "SOPClassUID":
        return _sop_class_condition(_uids(element.value))
    if keyword in TOP_LEVEL_SEQUENCES:
        return _sequence_condition(keyword, _item_keys(element))
    return Q()


def _column_condition(column: str, kind: str, value, keyword: str, zone: tzinfo) -> Q:
    if kind == "uid":
        return matching.match_uid_list(column, _uids(value), keyword)
    value = _text(matching.single_value(value, keyword))
    if kind == "person_name":
        # Case-insensitive, over the upper-cased search column, as the worklist
        # does (K.6.1.3.2 lets the SCP choose; CONFORMANCE.md says so).
        if matching.is_universal(value):
            return Q()
        return Q(**{f"{column}__dicom_wildcard": search_pattern(value)})
    if kind == "date":
        return matching.match_date(column, value, keyword)
    if kind == "datetime":
        return matching.match_datetime_range(column, value, zone, keyword)
    return matching.match_string(column, value, dictionary_VR(keyword), keyword)


def _sop_class_condition(uids: list[str]) -> Q:
    """Every workitem is a UPS Push instance (CC.2.5): a key naming another class
    matches none."""
    if uids and UPS_PUSH_SOP_CLASS_UID not in uids:
        return Q(pk__in=[])
    return Q()


def _sequence_condition(keyword: str, keys: ItemKeys) -> Q:
    """Sequence matching (C.2.2.2.6) in SQL, for the sequences kept as child rows;
    the others are matched on the data set (`_sequences_match`)."""
    if keyword in CODE_SEQUENCES:
        return _codes_exist(keyword, keys)
    if keyword == PERFORMERS:
        return _codes_exist(PERFORMER_CODES_PATH, keys.get(PERFORMER_CODES) or {})
    if keyword == REQUESTS:
        condition = _item_condition(keys, REQUEST_COLUMNS)
        if condition:
            requests = WorkitemRequest.objects.filter(condition, workitem=OuterRef("pk"))
            return Q(Exists(requests))
    return Q()


def _codes_exist(path: str, keys: ItemKeys) -> Q:
    condition = _item_condition(keys, CODE_COLUMNS)
    if not condition:
        return Q()
    codes = WorkitemCode.objects.filter(condition, workitem=OuterRef("pk"), sequence=path)
    return Q(Exists(codes))


def _item_condition(keys: ItemKeys, columns: dict[str, str]) -> Q:
    condition = Q()
    for keyword, wanted in keys.items():
        column = columns.get(keyword)
        if column is None or isinstance(wanted, dict):
            continue
        if isinstance(wanted, list):
            condition &= matching.match_uid_list(column, wanted, keyword)
        else:
            condition &= matching.match_string(column, wanted, dictionary_VR(keyword), keyword)
    return condition


def _item_keys(element: DataElement) -> ItemKeys:
    """The matching keys of a sequence key's one item; none for an empty key."""
    value = element.value
    if not isinstance(value, Sequence) or len(value) == 0:
        return {}
    if len(value) > 1:
        raise IdentifierError("a matching sequence has one item (C.2.2.2.6)")
    keys = {}
    for item_element in value[0]:
        keyword = item_element.keyword
        if keyword not in ITEM_KEYS.get(element.keyword, ()):
            continue
        if item_element.VR == "SQ":
            wanted = _item_keys(item_element)
        elif item_element.VR == "UI":
            wanted = _uids(item_element.value)
        else:
            wanted = _text(matching.single_value(item_element.value, keyword))
            wanted = "" if matching.is_universal(wanted) else wanted
        if wanted:
            keys[keyword] = wanted
    return keys


def _sequence_keys(identifier: Dataset) -> dict[str, ItemKeys]:
    """The item matching keys of each top-level sequence key that has some."""
    keys = {}
    for keyword in TOP_LEVEL_SEQUENCES:
        if keyword in identifier:
            item_keys = _item_keys(identifier[keyword])
            if item_keys:
                keys[keyword] = item_keys
    return keys


def _sequences_match(stored: Dataset, sequence_keys: dict[str, ItemKeys]) -> bool:
    """Sequence matching on the data set: one stored item matches all item keys.

    For the sequences the SQL matched already this only confirms it; for the
    others it decides.
    """
    return all(
        any(_item_matches(item, keys) for item in stored.get(keyword) or [])
        for keyword, keys in sequence_keys.items()
    )


def _item_matches(item: Dataset, keys: ItemKeys) -> bool:
    for keyword, wanted in keys.items():
        if isinstance(wanted, dict):
            if not any(_item_matches(nested, wanted) for nested in item.get(keyword) or []):
                return False
        elif isinstance(wanted, list):
            if str(item.get(keyword) or "") not in wanted:
                return False
        elif not matching.matches_string(str(item.get(keyword) or ""), wanted):
            return False
    return True


def _key_supported(element: DataElement, matched: set | tuple) -> bool:
    """False for a private or unknown key, and for a value the RIS does not match on."""
    if element.tag.element == 0:
        return True  # a group length, not a key
    if element.tag.is_private or not element.keyword:
        return False
    if element.VR == "SQ":
        item_keys = ITEM_KEYS.get(element.keyword, ()) if element.keyword in matched else ()
        return all(
            _key_supported(item_element, item_keys)
            for item in element.value or []
            for item_element in item
        )
    return element.is_empty or element.keyword in matched


def _stored_dataset(workitem: Workitem) -> Dataset:
    """The workitem's data set, with what its columns hold authoritatively."""
    stored = Dataset.from_json(workitem.dataset)
    stored.SOPClassUID = UPS_PUSH_SOP_CLASS_UID
    stored.SOPInstanceUID = workitem.sop_instance_uid
    stored.ProcedureStepState = workitem.state
    if not stored.get("ScheduledProcedureStepModificationDateTime"):
        zone = timezone.get_default_timezone()
        stored.ScheduledProcedureStepModificationDateTime = format_datetime(
            workitem.modified_at, zone
        )
    return stored


def _response(stored: Dataset, request: Dataset, sequence_keys: dict[str, ItemKeys]) -> Dataset:
    """Every requested key with the workitem's value, or empty (C.2.2.1, CC.2.8.3)."""
    response = _requested(stored, request, sequence_keys)
    set_response_character_set(response, request)
    return response


def _requested(stored: Dataset, request: Dataset, item_keys: ItemKeys) -> Dataset:
    """The stored attributes the request names, at one level of the data set."""
    reduced = Dataset()
    for element in request:
        tag = element.tag
        if tag.element == 0 or not element.keyword or element.keyword in NOT_RETURNED:
            continue
        if element.VR == "SQ":
            items = _requested_items(stored, element, item_keys.get(element.keyword) or {})
            reduced.add_new(tag, "SQ", items)
        elif tag in stored:
            reduced.add(stored[tag])
        else:
            reduced.add_new(tag, element.VR, None)
    return reduced


def _requested_items(stored: Dataset, element: DataElement, keys: ItemKeys) -> list[Dataset]:
    """A sequence key's answer: every stored item whole for an empty key; else the
    items that match its item keys, reduced to the keys asked for (C.2.2.2.6)."""
    items = list(stored.get(element.keyword) or [])
    request_item = element.value[0] if element.value else None
    if request_item is None or len(request_item) == 0:
        return items
    return [_requested(item, request_item, keys) for item in items if _item_matches(item, keys)]


def _uids(value) -> list[str]:
    """A UID key's values (C.2.2.2.2: a list of UIDs matches any of them)."""
    values = [] if value is None else [value] if isinstance(value, str) else list(value)
    uids = [str(uid) for uid in values if uid]
    if any(matching.has_wildcards(uid) for uid in uids):
        raise IdentifierError("no wildcards in UIDs")
    return uids


def _text(value) -> str:
    return "" if value is None else str(value)
