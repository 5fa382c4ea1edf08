"""The Modality Worklist: the schedule as PS3.4 Annex K sees it.

`worklist_find(identifier)` is what every door calls: it yields, for each
matching Scheduled Procedure Step, the response identifier and whether every
requested key was known. Matching is one SQL query; responses are built as
the rows stream in.
"""

from collections.abc import Iterator

from pydicom import Dataset

from ris.dicom.errors import IdentifierError
from ris.dicom.wire import EXPLICIT_VR_LITTLE_ENDIAN, WireEncoding
from ris.scheduling.worklist.query import worklist_queryset
from ris.scheduling.worklist.response import WorklistResponder, worklist_response

__all__ = [
    "IdentifierError",
    "WorklistResponder",
    "worklist_find",
    "worklist_queryset",
    "worklist_response",
]


def worklist_find(
    identifier: Dataset, encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN
) -> Iterator[tuple[Dataset, bool]]:
    """Match the identifier; raise IdentifierError before the first result if it is
    bad. The responses come encoded for `encoding`, the transfer syntax they
    will be sent in (ris.dicom.wire)."""
    steps = worklist_queryset(identifier)
    respond = WorklistResponder(identifier, encoding)
    return (respond(step) for step in steps.iterator(chunk_size=500))
