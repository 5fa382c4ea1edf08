"""A worklist item as the response identifier of a C-FIND (PS3.4 K.6.1.2.2).

Every key the request asked for comes back, with the step's value or empty;
nothing else does, but for Specific Character Set when a value needs it.

What to answer depends on the request only, so it is worked out once per
query (WorklistResponder); each step then costs its values and their
encoding (ris.dicom.wire), not another walk through the request.
"""

from collections.abc import Callable

from pydicom import Dataset
from pydicom.sequence import Sequence

from ris.dicom.matching import matches_string
from ris.dicom.wire import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    EncodedDataset,
    WireEncoding,
    encoded_dataset,
    tag_and_vr,
)
from ris.scheduling.worklist.keys import NOT_KEYS, STEP_KEYS, TOP_LEVEL_KEYS, SequenceKey
from ris.scheduling.worklist.query import KEYSET, STEP_SEQUENCE, step_item

STEP_SEQUENCE_TAG = 0x00400100

# A row of worklist.query.WorklistRows: the keyset's values, then the columns'.
Row = tuple
# One element of the answer: its tag, VR, and its value for a row.
Field = tuple[int, str, Callable[[Row], object]]


class WorklistResponder:
    """The response identifiers to one request, row by row.

    `columns` are what each row must hold after the keyset
    (worklist.query.WorklistRows): every column a requested key is made
    of, each once.

    `known` is False when the request has an unknown or private key, or a
    value for a key the RIS returns but does not match on; the caller then
    answers Pending 0xFF01 instead of 0xFF00 (PS3.4 K.4.1.1.4). Such a key is
    left out, and such a value not used.
    """

    def __init__(self, request: Dataset, encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN):
        self.encoding = encoding
        self.requested_character_set = request.get("SpecificCharacterSet") or ""
        self.columns: list[str] = []
        self.fields: list[Field] = []
        self.known = True
        for element in request:
            keyword = element.keyword
            if keyword in NOT_KEYS or element.tag.element == 0:
                continue
            if keyword == STEP_SEQUENCE:
                self.fields.append((STEP_SEQUENCE_TAG, "SQ", self._step_item(step_item(request))))
            elif keyword in TOP_LEVEL_KEYS:
                key = TOP_LEVEL_KEYS[keyword]
                self.fields.append(self._field(key, element.value))
                self.known &= _matched_as_asked(key, element)
            else:
                self.known = False

    def __call__(self, row: Row) -> tuple[EncodedDataset, bool]:
        elements = [(tag, vr, value(row)) for tag, vr, value in self.fields]
        response = encoded_dataset(elements, self.encoding, self.requested_character_set)
        return response, self.known

    def _step_item(self, requested: Dataset | None) -> Callable[[Row], list]:
        """The single Scheduled Procedure Step item; all of it if the request's item
        was empty."""
        if requested is None or len(requested) == 0:
            fields = [self._field(key, None) for key in STEP_KEYS.values()]
        else:
            fields = []
            for element in requested:
                key = STEP_KEYS.get(element.keyword)
                if key is None:
                    self.known &= element.tag.element == 0
                    continue
                fields.append(self._field(key, element.value))
                self.known &= _matched_as_asked(key, element)
        return lambda row: [[(tag, vr, value(row)) for tag, vr, value in fields]]

    def _field(self, key, requested) -> Field:
        """The key's element, its value read from the row's columns."""
        tag, vr = tag_and_vr(key.keyword)
        make = _sequence(key, requested) if isinstance(key, SequenceKey) else key.value
        indexes = [self._column(name) for name in key.columns]
        if len(indexes) == 1:
            [index] = indexes
            return tag, vr, lambda row: make(row[index])
        return tag, vr, lambda row: make(*[row[index] for index in indexes])

    def _column(self, name: str) -> int:
        """The column's place in a row."""
        if name in KEYSET:
            return KEYSET.index(name)
        if name not in self.columns:
            self.columns.append(name)
        return len(KEYSET) + self.columns.index(name)


def _matched_as_asked(key, element) -> bool:
    """False if the element carries a value the RIS does not match on."""
    if isinstance(key, SequenceKey):
        return all(
            item_element.is_empty or item_element.keyword in key.item_fields
            for item in (element.value or [])
            for item_element in item
        )
    return key.path is not None or element.is_empty


def _sequence(key: SequenceKey, requested) -> Callable[..., list]:
    """A step's stored items that match the request's item keys, with the requested
    attributes, from the columns' values. An empty request (zero-length, or
    one empty item) returns every item whole (C.2.2.2.6)."""
    request_item = requested[0] if isinstance(requested, Sequence) and len(requested) else None
    if request_item is None or len(request_item) == 0:
        return lambda *values: [_item(stored) for stored in key.items(*values)]
    wanted = {
        element.keyword: str(element.value or "")
        for element in request_item
        if tag_and_vr(element.keyword)
    }
    matching_keys = {
        keyword: value for keyword, value in wanted.items() if keyword in key.item_fields
    }

    def items(*values):
        return [
            _item({keyword: stored.get(keyword, "") for keyword in wanted})
            for stored in key.items(*values)
            if all(matches_string(stored.get(k, ""), v) for k, v in matching_keys.items())
        ]

    return items


def _item(values: dict) -> list:
    return [(*tag_and_vr(keyword), value) for keyword, value in values.items()]
