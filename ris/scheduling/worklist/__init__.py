"""The Modality Worklist: the schedule as PS3.4 Annex K sees it.

`worklist_find(identifier)` is what every door calls: it yields, for each
matching Scheduled Procedure Step, the response identifier (encoded for the
transfer syntax it goes out in) and whether every requested key was known.
Matching is one SQL query; responses are built as the rows stream in.
"""

from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from pydicom import Dataset

from ris.dicom.errors import IdentifierError
from ris.dicom.wire import EXPLICIT_VR_LITTLE_ENDIAN, EncodedDataset, WireEncoding
from ris.scheduling.worklist.query import WorklistRows
from ris.scheduling.worklist.response import WorklistResponder

__all__ = [
    "IdentifierError",
    "ReadAhead",
    "WorklistResponder",
    "WorklistRows",
    "in_pages",
    "worklist_find",
    "worklist_read_ahead",
]

# Rows read per query of a page (in_pages).
PAGE_SIZE = 200


class ReadAhead(NamedTuple):
    """The first page of rows of a query read before it was asked
    (worklist_read_ahead), and what it was read for."""

    question: tuple  # the kept plan's key: identifier, encoding, settings
    first_page: list[tuple]


def worklist_read_ahead(identifier: EncodedDataset, encoding: WireEncoding) -> ReadAhead:
    """Read now the first page of rows of a query expected to come.

    A door that knows what a caller is about to ask (a modality asks the
    same question on every association) reads its rows while the caller is
    still sending the question: worklist_find, asked it with the ReadAhead,
    answers from them. The door decides how long they stay fresh.
    """
    question = (identifier, encoding, _settings_planned_with())
    _, rows = _kept_plan(*question)
    return ReadAhead(question, rows.page(PAGE_SIZE))


def worklist_find(
    identifier: Dataset | EncodedDataset,
    encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN,
    read_ahead: ReadAhead | None = None,
) -> Iterator[tuple[EncodedDataset, bool]]:
    """Match the identifier; raise IdentifierError before the first result if it is
    bad.

    An identifier as it came on the wire (EncodedDataset) is planned once
    per distinct bytes and kept (_kept_plan): a modality asks the same
    question all day, and decoding it, planning its responses and building
    its condition were a sixth of the service's time for a query of 8
    matches (docs/benchmarks.md). The rows are read afresh every time (or
    taken from `read_ahead`, if it was read for this very question), and a
    kept plan's responses are kept by row (_kept_response).
    """
    if isinstance(identifier, EncodedDataset):
        question = (identifier, encoding, _settings_planned_with())
        respond, rows = _kept_plan(*question)
        first_page = (
            read_ahead.first_page if read_ahead and read_ahead.question == question else None
        )
        return (_kept_response(respond, row) for row in in_pages(rows, first_page=first_page))
    respond, rows = _plan(identifier, encoding)
    return (respond(row) for row in in_pages(rows))


def _plan(identifier: Dataset, encoding: WireEncoding) -> tuple[WorklistResponder, WorklistRows]:
    """How to answer: the responses' makeup and the matching rows (both read only)."""
    respond = WorklistResponder(identifier, encoding)
    return respond, WorklistRows(identifier, respond.columns)


def _settings_planned_with() -> tuple:
    """The settings a plan is made with (the statuses a worklist shows, the
    time zone of its dates): part of a kept plan's key."""
    return tuple(settings.RIS_WORKLIST_STATUSES), settings.TIME_ZONE


@lru_cache(maxsize=256)
def _kept_plan(
    identifier: EncodedDataset, encoding: WireEncoding, planned_with: tuple
) -> tuple[WorklistResponder, WorklistRows]:
    try:
        decoded = identifier.decoded()
    except Exception as error:
        raise IdentifierError(f"The identifier could not be decoded: {error}") from error
    return _plan(decoded, encoding)


# A large department's day on every station: under 2 KB each with its row,
# 7 MiB in all (docs/operations.md).
KEPT_RESPONSES = 4096


@lru_cache(maxsize=KEPT_RESPONSES)
def _kept_response(respond: WorklistResponder, row: tuple) -> tuple[EncodedDataset, bool]:
    """A kept plan's response to a row, kept by the row.

    A response is made of its plan and its row alone: the row holds every
    value the response's elements are made of (worklist.keys), and a row
    whose values compare equal makes the same response. A modality asks
    for its day again every few minutes and most of its steps have not
    changed since, and making each response again was more than half of
    the service's CPU for a query of 27 matches, beyond its association's
    (1.4 of 2.4 ms, docs/benchmarks.md). A step changed since is another
    row, so its response is made afresh.
    """
    return respond(row)


def in_pages(
    rows: WorklistRows, size: int = PAGE_SIZE, first_page: list[tuple] | None = None
) -> Iterator[tuple]:
    """The rows (WorklistRows: start and primary key first) in start order,
    fetched a page at a time after the last one seen (keyset pagination): a
    day's worklist is one plain query, and a universal query over the whole
    schedule neither loads it into memory at once nor holds a database cursor
    open while a slow modality reads. `first_page`: the first `size` rows,
    read already."""
    page = rows.page(size) if first_page is None else first_page
    yield from page
    while len(page) == size:
        page = rows.page(size, after=page[-1][:2])
        yield from page
