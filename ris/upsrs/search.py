"""Search Workitems query parameters (PS3.18 8.3.4, 11.9) as a C-FIND identifier.

`{attribute}={value}` pairs become the matching keys of the identifier that
ris.ups.query.workitem_find takes, so an HTTP search matches exactly as a
C-FIND with the same keys does. An attribute is a keyword or eight hex digits,
a sequence's attribute a dotted path (`ScheduledStationNameCodeSequence.CodeValue`,
`0040A370.00080050`). The same syntax serves the `filter` of a filtered
global subscription (11.10).
"""

from dataclasses import dataclass, field

from django.conf import settings
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.tag import Tag

# PS3.18 Table CC.2.5-3's Return Key Type 1 and 2 attributes: what every
# search result carries besides the keys asked for (PS3.18 11.9.3.2).
DEFAULT_RETURN_KEYS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "WorklistLabel",
    "ScheduledProcessingParametersSequence",
    "ScheduledStationNameCodeSequence",
    "ScheduledStationClassCodeSequence",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledHumanPerformersSequence",
    "ScheduledProcedureStepStartDateTime",
    "ScheduledWorkitemCodeSequence",
    "InputReadinessState",
    "InputInformationSequence",
    "StudyInstanceUID",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "OtherPatientIDsSequence",
    "PatientBirthDate",
    "PatientSex",
    "AdmissionID",
    "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "ReferencedRequestSequence",
    "ProcedureStepState",
    "ProcedureStepProgressInformationSequence",
)
# The search parameters that are not attributes (PS3.18 Tables 8.3.4-1, 11.1.2-1).
BOOLEAN_PARAMETERS = {
    "fuzzymatching": "The fuzzymatching parameter is not supported. "
    "Only literal matching has been performed.",
    "emptyvaluematching": "The emptyvaluematching parameter is not supported. "
    "Empty Value Matching has not been performed.",
    "multiplevaluematching": "The multiplevaluematching parameter is not supported. "
    "Multiple Value Matching has not been performed.",
}
CONTROL_PARAMETERS = {"includefield", "limit", "offset", "accept", "charset", *BOOLEAN_PARAMETERS}
# The numeric VRs a key could have: values are converted, not passed as text.
NUMBER_VRS = {"US": int, "UL": int, "SS": int, "SL": int, "FL": float, "FD": float}


class QueryError(ValueError):
    """A search parameter the RIS cannot read (400)."""


@dataclass
class SearchRequest:
    """A search: the C-FIND identifier, paging, and the warnings it earns."""

    identifier: Dataset
    include_all: bool = False
    offset: int = 0
    limit: int | None = None
    warnings: list[str] = field(default_factory=list)


def search_request(params) -> SearchRequest:
    """The search a QueryDict of parameters asks for; QueryError if unreadable."""
    search = SearchRequest(identifier=Dataset())
    for name, values in params.lists():
        if name in CONTROL_PARAMETERS:
            continue
        if len(values) > 1:
            raise QueryError(f"{name} is given {len(values)} times; a key is given once")
        add_key(search.identifier, name, values[0])
    for name, warning in BOOLEAN_PARAMETERS.items():
        if _boolean(params, name):
            search.warnings.append(warning)
    for value in params.getlist("includefield"):
        for name in filter(None, (part.strip() for part in value.split(","))):
            if name == "all":
                search.include_all = True
            else:
                _add_return_key(search.identifier, name)
    for keyword in DEFAULT_RETURN_KEYS:
        _add_return_key(search.identifier, keyword)
    search.offset = _count(params, "offset") or 0
    search.limit = _count(params, "limit")
    return search


def filter_keys(values: list[str]) -> Dataset:
    """A filtered global subscription's matching keys (PS3.18 11.10): each
    `filter` parameter a comma-separated list of `attribute=value`."""
    keys = Dataset()
    for value in values:
        for pair in filter(None, (part.strip() for part in value.split(","))):
            name, equals, wanted = pair.partition("=")
            if not equals:
                raise QueryError(f"filter {pair!r} is not attribute=value")
            if _path_in(keys, name):
                raise QueryError(f"filter {name} is given twice")
            add_key(keys, name, wanted)
    return keys


def max_results() -> int:
    """The most results one search returns, whatever its limit (PS3.18 8.3.4.4)."""
    return settings.RIS_UPSRS_MAX_RESULTS


def add_key(identifier: Dataset, path: str, value: str) -> None:
    """Put `path` (dotted for sequences) with `value` in the identifier, each
    sequence on the way holding the one item of sequence matching."""
    *parents, leaf = _tags(path)
    dataset = _item_of(identifier, parents, path)
    vr = dictionary_VR(leaf).split(" or ")[0]  # "US or SS": the first will do for a key
    dataset[leaf] = DataElement(leaf, vr, _value(vr, value, path))


def _add_return_key(identifier: Dataset, path: str) -> None:
    """An empty key (universal matching: return its value) unless it is a key already."""
    if not _path_in(identifier, path):
        add_key(identifier, path, "")


def _tags(path: str) -> list[Tag]:
    names = path.split(".")
    if not all(names):
        raise QueryError(f"{path!r} is not an attribute path")
    return [_tag(name, path) for name in names]


def _tag(name: str, path: str) -> Tag:
    """An attribute by keyword or by its tag in eight hex digits (PS3.18 8.3.4.1)."""
    tag = tag_for_keyword(name)
    if tag is None and len(name) == 8:
        try:
            tag = int(name, 16)
        except ValueError:
            tag = None
    if tag is None or Tag(tag).is_private or not keyword_for_tag(tag):
        raise QueryError(f"{path}: {name!r} is not an attribute the RIS knows")
    return Tag(tag)


def _item_of(identifier: Dataset, parents: list[Tag], path: str) -> Dataset:
    dataset = identifier
    for tag in parents:
        if dictionary_VR(tag) != "SQ":
            raise QueryError(f"{path}: {keyword_for_tag(tag)} is not a sequence")
        if tag not in dataset or not dataset[tag].value:
            dataset[tag] = DataElement(tag, "SQ", [Dataset()])
        dataset = dataset[tag].value[0]
    return dataset


def _path_in(identifier: Dataset, path: str) -> bool:
    dataset = identifier
    *parents, leaf = _tags(path)
    for tag in parents:
        if tag not in dataset or not dataset[tag].value:
            return False
        dataset = dataset[tag].value[0]
    return leaf in dataset


def _value(vr: str, value: str, path: str):
    if value == "":
        return [] if vr == "SQ" else None
    if vr == "SQ":
        raise QueryError(f"{path} is a sequence: match on its attributes ({path}.Attribute=)")
    if vr == "UI":
        # PS3.18 8.3.4.1: a list of UIDs is comma-separated (C.2.2.2.2, UID list matching).
        uids = [uid.strip() for uid in value.split(",")]
        return uids if len(uids) > 1 else uids[0]
    if vr in NUMBER_VRS:
        try:
            return NUMBER_VRS[vr](value)
        except ValueError:
            raise QueryError(f"{path}={value!r} is not a number") from None
    return value


def _boolean(params, name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise QueryError(f"{name} is true or false, not {value!r}")
    return value == "true"


def _count(params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise QueryError(f"{name} is a whole number, not {value!r}")
    return int(value)
