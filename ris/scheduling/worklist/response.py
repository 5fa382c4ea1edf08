"""A worklist item as the response identifier of a C-FIND (PS3.4 K.6.1.2.2).

Every key the request asked for comes back, with the step's value or empty;
nothing else does, but for Specific Character Set when a value needs it.
"""

from pydicom import Dataset
from pydicom.sequence import Sequence

from ris.dicom.charset import set_response_character_set
from ris.dicom.matching import matches_string
from ris.scheduling.models import ScheduledProcedureStep
from ris.scheduling.worklist.keys import NOT_KEYS, STEP_KEYS, TOP_LEVEL_KEYS, SequenceKey
from ris.scheduling.worklist.query import STEP_SEQUENCE, step_item


def worklist_response(step: ScheduledProcedureStep, request: Dataset) -> tuple[Dataset, bool]:
    """The response identifier for one step, and whether every requested key was known.

    An unknown or private key is left out, and a value sent for a key the RIS
    returns but does not match on is not used; for either the caller answers
    Pending 0xFF01 instead of 0xFF00 (PS3.4 K.4.1.1.4).
    """
    response = Dataset()
    known = True
    for element in request:
        keyword = element.keyword
        if keyword in NOT_KEYS or element.tag.element == 0:
            continue
        if keyword == STEP_SEQUENCE:
            item, item_known = _step_item(step, step_item(request))
            response.ScheduledProcedureStepSequence = [item]
            known &= item_known
        elif keyword in TOP_LEVEL_KEYS:
            _put(response, TOP_LEVEL_KEYS[keyword], step, element.value)
            known &= _matched_as_asked(TOP_LEVEL_KEYS[keyword], element)
        else:
            known = False
    set_response_character_set(response, request)
    return response, known


def _step_item(step, requested: Dataset | None) -> tuple[Dataset, bool]:
    """The single Scheduled Procedure Step item; all of it if the request's item was empty."""
    item = Dataset()
    if requested is None or len(requested) == 0:
        for key in STEP_KEYS.values():
            _put(item, key, step, None)
        return item, True
    known = True
    for element in requested:
        key = STEP_KEYS.get(element.keyword)
        if key is None:
            known = known and element.tag.element == 0
            continue
        _put(item, key, step, element.value)
        known &= _matched_as_asked(key, element)
    return item, known


def _matched_as_asked(key, element) -> bool:
    """False if the element carries a value the RIS does not match on."""
    if isinstance(key, SequenceKey):
        return all(
            item_element.is_empty or item_element.keyword in key.item_fields
            for item in (element.value or [])
            for item_element in item
        )
    return key.path is not None or element.is_empty


def _put(dataset: Dataset, key, step, requested) -> None:
    if isinstance(key, SequenceKey):
        setattr(dataset, key.keyword, _sequence(key, step, requested))
    else:
        setattr(dataset, key.keyword, key.value(step))


def _sequence(key: SequenceKey, step, requested) -> list[Dataset]:
    """The stored items that match the request's item keys, with the requested attributes.

    An empty request (zero-length, or one empty item) returns every item whole
    (C.2.2.2.6).
    """
    request_item = requested[0] if isinstance(requested, Sequence) and len(requested) else None
    stored_items = key.items(step)
    if request_item is None or len(request_item) == 0:
        return [_dataset(stored) for stored in stored_items]
    wanted = {element.keyword: str(element.value or "") for element in request_item}
    matching_keys = {
        keyword: value for keyword, value in wanted.items() if keyword in key.item_fields
    }
    return [
        _dataset({keyword: stored.get(keyword, "") for keyword in wanted})
        for stored in stored_items
        if all(matches_string(stored.get(k, ""), v) for k, v in matching_keys.items())
    ]


def _dataset(values: dict) -> Dataset:
    dataset = Dataset()
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    return dataset
