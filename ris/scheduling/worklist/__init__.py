"""The Modality Worklist: the schedule as PS3.4 Annex K sees it.

`worklist_find(identifier)` is what every door calls: it yields, for each
matching Scheduled Procedure Step, the response identifier (encoded for the
transfer syntax it goes out in) and whether every requested key was known.
Matching is one SQL query; responses are built as the rows stream in.
"""

from collections.abc import Iterator

from pydicom import Dataset

from ris.dicom.errors import IdentifierError
from ris.dicom.wire import EXPLICIT_VR_LITTLE_ENDIAN, EncodedDataset, WireEncoding
from ris.scheduling.worklist.query import WorklistRows
from ris.scheduling.worklist.response import WorklistResponder

__all__ = ["IdentifierError", "WorklistResponder", "WorklistRows", "in_pages", "worklist_find"]


def worklist_find(
    identifier: Dataset, encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN
) -> Iterator[tuple[EncodedDataset, bool]]:
    """Match the identifier; raise IdentifierError before the first result if it is
    bad."""
    respond = WorklistResponder(identifier, encoding)
    rows = WorklistRows(identifier, respond.columns)
    return (respond(row) for row in in_pages(rows))


def in_pages(rows: WorklistRows, size: int = 200) -> Iterator[tuple]:
    """The rows (WorklistRows: start and primary key first) in start order,
    fetched a page at a time after the last one seen (keyset pagination): a
    day's worklist is one plain query, and a universal query over the whole
    schedule neither loads it into memory at once nor holds a database cursor
    open while a slow modality reads."""
    page = rows.page(size)
    yield from page
    while len(page) == size:
        page = rows.page(size, after=page[-1][:2])
        yield from page
