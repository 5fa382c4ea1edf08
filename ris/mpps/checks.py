"""Checks of MPPS N-CREATE and N-SET data against PS3.4 F.7.2 (pure: datasets only).

Each raises DicomError with the status PS3.4 / PS3.7 give and the tags at fault.
"""

from pydicom import Dataset
from pydicom.datadict import tag_for_keyword
from pydicom.sequence import Sequence

from ris.dicom import statuses
from ris.dicom.errors import DicomError
from ris.mpps import rules


def is_empty(dataset: Dataset, keyword: str) -> bool:
    element = dataset.get(keyword)
    return element is None or dataset[keyword].is_empty


def check_create(attributes: Dataset) -> None:
    """N-CREATE (F.7.2.1): 1/1 and 2/2 attributes present, 1/1 with a value, IN PROGRESS."""
    _require(attributes, {kw: rule.create for kw, rule in rules.TOP_LEVEL.items()})
    for item in attributes.ScheduledStepAttributesSequence:
        _require(item, rules.SCHEDULED_STEP_ITEM, within="Scheduled Step Attributes")
    _check_series(attributes)
    if attributes.PerformedProcedureStepStatus != rules.IN_PROGRESS:
        raise DicomError(
            "status must be IN PROGRESS at N-CREATE",
            status=statuses.INVALID_ATTRIBUTE_VALUE,
            offending=(tag_for_keyword("PerformedProcedureStepStatus"),),
        )


def check_set(modifications: Dataset) -> None:
    """N-SET (F.7.2.2): only settable attributes, 3/1 ones not emptied, a known status."""
    not_settable = [
        element.tag
        for element in modifications
        if element.keyword in rules.TOP_LEVEL and not rules.TOP_LEVEL[element.keyword].settable
    ]
    if not_settable:
        raise DicomError(
            "N-SET may not change these (PS3.4 Table F.7.2-1)",
            status=statuses.INVALID_ATTRIBUTE_VALUE,
            offending=tuple(not_settable),
        )
    emptied = [
        element.tag
        for element in modifications
        if element.keyword in rules.TOP_LEVEL
        and not rules.TOP_LEVEL[element.keyword].set_may_be_empty
        and element.is_empty
    ]
    if emptied:
        raise DicomError(
            "may not be empty", status=statuses.MISSING_ATTRIBUTE_VALUE, offending=emptied
        )
    status = modifications.get("PerformedProcedureStepStatus")
    if status is not None and status not in rules.STATUSES:
        raise DicomError(
            f"Unknown Performed Procedure Step Status {status!r}",
            status=statuses.INVALID_ATTRIBUTE_VALUE,
            offending=(tag_for_keyword("PerformedProcedureStepStatus"),),
        )
    _check_series(modifications)


def check_final(merged: Dataset, status: str, *, reason_required: bool = True) -> None:
    """What COMPLETED and DISCONTINUED need (F.7.2.2.2): end date and time, and the
    performed series (COMPLETED) or, unless the site waives it, the reason
    (DISCONTINUED)."""
    needed = [kw for kw, rule in rules.TOP_LEVEL.items() if rule.final]
    if status == rules.COMPLETED:
        needed.append(rules.COMPLETED_NEEDS_ITEMS)
    elif reason_required:
        needed.append(rules.DISCONTINUED_NEEDS_ITEMS)
    absent = [tag_for_keyword(kw) for kw in needed if kw not in merged]
    if absent:
        raise DicomError(
            f"{status} needs these", status=statuses.MISSING_ATTRIBUTE, offending=absent
        )
    empty = [tag_for_keyword(kw) for kw in needed if is_empty(merged, kw)]
    if empty:
        raise DicomError(
            f"{status} needs values for these",
            status=statuses.MISSING_ATTRIBUTE_VALUE,
            offending=empty,
        )


def _require(dataset: Dataset, requirements: dict[str, str], within: str = "") -> None:
    absent = [
        tag_for_keyword(kw) for kw, req in requirements.items() if req in "12" and kw not in dataset
    ]
    where = f" in {within} item" if within else ""
    if absent:
        raise DicomError(f"missing{where}", status=statuses.MISSING_ATTRIBUTE, offending=absent)
    empty = [
        tag_for_keyword(kw)
        for kw, req in requirements.items()
        if req == "1" and is_empty(dataset, kw)
    ]
    if empty:
        raise DicomError(f"empty{where}", status=statuses.MISSING_ATTRIBUTE_VALUE, offending=empty)


def _check_series(dataset: Dataset) -> None:
    series = dataset.get("PerformedSeriesSequence")
    if isinstance(series, Sequence):
        for item in series:
            _require(item, rules.PERFORMED_SERIES_ITEM, within="Performed Series")
