"""Reading a modality's worklist while it asks for it.

A modality asks the same question on every association: its station, today.
DCMTK's findscu takes 2.5 ms after its association is accepted to send it,
and reading the rows was 1.65 of the 2.4 ms the RIS then took to answer at
100,000 steps (docs/benchmarks.md). So once an association that may query
the worklist is accepted, if its first request has not come yet, the rows of
the last question its calling AE title asked are read at once
(ris.scheduling.worklist.worklist_read_ahead). The first C-FIND on the
association, if it is that question (the same identifier bytes, in the same
transfer syntax) and comes within RIS_DIMSE_WORKLIST_READ_AHEAD seconds of
the read, is answered from those rows; any other is answered as always.
Only while the process serves no other request: under load a read ahead
would add to the work, and make a busy pool busier.

So such a query shows the schedule as it was at most that long (0.1 s by
default) before its request was read: a step booked in between shows at the
next query, as if the request had been that much slower on the network. 0
turns reading ahead off. A question not asked after all (an association
that only reports MPPS, say) cost one read.
"""

import logging
import threading
import time
from collections import OrderedDict

from django.conf import settings
from pynetdicom.sop_class import ModalityWorklistInformationFind

from dimse.handlers.associations import may_use
from dimse.handlers.audit import actor
from dimse.reactor import REQUESTS_IN_SERVICE
from ris.dicom.wire import EncodedDataset, WireEncoding
from ris.nodes.models import Service
from ris.scheduling.worklist import ReadAhead, worklist_read_ahead

LOGGER = logging.getLogger("dimse")

# Calling AE titles whose last question is kept: every modality of a large department.
KEPT_QUESTIONS = 1024


class LastQuestions:
    """The last worklist question each calling AE title asked and was
    answered: its identifier's bytes and transfer syntax, the least recently
    asked dropped beyond `keep`."""

    def __init__(self, keep: int):
        self._keep = keep
        self._questions: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, title: str, identifier: bytes, transfer_syntax: str) -> None:
        with self._lock:
            self._questions[title] = (identifier, transfer_syntax)
            self._questions.move_to_end(title)
            while len(self._questions) > self._keep:
                self._questions.popitem(last=False)

    def of(self, title: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._questions.get(title)


LAST_QUESTIONS = LastQuestions(KEPT_QUESTIONS)


def remember_question(event) -> None:
    """Keep the question of a worklist C-FIND just answered, for the calling
    AE title's next association."""
    transfer_syntax = str(event.context.transfer_syntax)
    LAST_QUESTIONS.remember(
        actor(event.assoc).name, event.request.Identifier.getvalue(), transfer_syntax
    )


def handle_established(event) -> None:
    """Read the rows of the calling AE title's last question now, if its
    association may ask it and has not sent a request yet."""
    assoc = event.assoc
    question = LAST_QUESTIONS.of(actor(assoc).name)
    if question is None or settings.RIS_DIMSE_WORKLIST_READ_AHEAD <= 0:
        return
    identifier, transfer_syntax = question
    if REQUESTS_IN_SERVICE.value or not _may_ask(assoc, transfer_syntax):
        return  # busy (the read would only add to the load), or nothing to ask
    if assoc.dul.peer_has_spoken():
        return  # the request is here: reading ahead gains nothing
    encoding = WireEncoding.of(transfer_syntax)
    began = time.monotonic()
    try:
        with REQUESTS_IN_SERVICE.counting():
            read = worklist_read_ahead(EncodedDataset(identifier, encoding), encoding)
    except Exception as error:  # the C-FIND, if it comes, meets it and says so
        LOGGER.debug("Reading ahead for %s failed: %s", actor(assoc).name, error)
        return
    assoc.ris_read_ahead = (began, read)


def taken_read_ahead(assoc) -> ReadAhead | None:
    """The rows read ahead on this association, if still fresh; taken once."""
    began, read = getattr(assoc, "ris_read_ahead", (0.0, None))
    assoc.ris_read_ahead = (0.0, None)
    if read is None or time.monotonic() - began > settings.RIS_DIMSE_WORKLIST_READ_AHEAD:
        return None
    return read


def _may_ask(assoc, transfer_syntax: str) -> bool:
    """Whether the association accepted the worklist in this transfer syntax
    and its calling AE may query it."""
    accepted = any(
        context.abstract_syntax == ModalityWorklistInformationFind
        and context.transfer_syntax[0] == transfer_syntax
        for context in assoc.accepted_contexts
    )
    return accepted and may_use(assoc, Service.WORKLIST)
