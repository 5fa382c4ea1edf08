"""The Modality Worklist: the schedule as PS3.4 Annex K sees it.

`worklist_find(identifier)` is what every door calls: it yields, for each
matching Scheduled Procedure Step, the response identifier (encoded for the
transfer syntax it goes out in) and whether every requested key was known.
Matching is one SQL query; responses are built as the rows stream in.
"""

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from pydicom import Dataset

from ris.dicom.errors import IdentifierError
from ris.dicom.wire import EXPLICIT_VR_LITTLE_ENDIAN, EncodedDataset, WireEncoding
from ris.scheduling.worklist.query import worklist_rows
from ris.scheduling.worklist.response import WorklistResponder

__all__ = ["IdentifierError", "WorklistResponder", "in_pages", "worklist_find", "worklist_rows"]


def worklist_find(
    identifier: Dataset, encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN
) -> Iterator[tuple[EncodedDataset, bool]]:
    """Match the identifier; raise IdentifierError before the first result if it is
    bad."""
    respond = WorklistResponder(identifier, encoding)
    rows = worklist_rows(identifier, respond.columns)
    return (respond(row) for row in in_pages(rows))


def in_pages(rows: QuerySet, size: int = 200) -> Iterator[tuple]:
    """The rows (worklist_rows: start and primary key first) in start order,
    fetched a page at a time after the last one seen (keyset pagination): a
    day's worklist is one plain query, and a universal query over the whole
    schedule neither loads it into memory at once nor holds a database cursor
    open while a slow modality reads."""
    page = list(rows[:size])
    yield from page
    while len(page) == size:
        start, pk = page[-1][:2]
        after = Q(start__gt=start) | Q(start=start, pk__gt=pk)
        page = list(rows.filter(after)[:size])
        yield from page
