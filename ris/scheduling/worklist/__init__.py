"""The Modality Worklist: the schedule as PS3.4 Annex K sees it.

`worklist_find(identifier)` is what every door calls: it yields, for each
matching Scheduled Procedure Step, the response identifier and whether every
requested key was known. Matching is one SQL query; responses are built as
the rows stream in.
"""

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from pydicom import Dataset

from ris.dicom.errors import IdentifierError
from ris.dicom.wire import EXPLICIT_VR_LITTLE_ENDIAN, WireEncoding
from ris.scheduling.worklist.query import worklist_queryset
from ris.scheduling.worklist.response import WorklistResponder, worklist_response

__all__ = [
    "IdentifierError",
    "WorklistResponder",
    "in_pages",
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
    return (respond(step) for step in in_pages(steps))


def in_pages(steps: QuerySet, size: int = 200) -> Iterator:
    """The steps in start order, fetched a page at a time after the last one seen
    (keyset pagination): a day's worklist is one plain query, and a universal
    query over the whole schedule neither loads it into memory at once nor
    holds a database cursor open while a slow modality reads."""
    page = list(steps[:size])
    yield from page
    while len(page) == size:
        last = page[-1]
        after = Q(start__gt=last.start) | Q(start=last.start, pk__gt=last.pk)
        page = list(steps.filter(after)[:size])
        yield from page
