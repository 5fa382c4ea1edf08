"""C-FIND: the Modality Worklist (PS3.4 K.4.1) and the UPS worklist (CC.2.8),
translated to and from the domain."""

import logging
import time

from pydicom import Dataset
from pynetdicom.sop_class import ModalityWorklistInformationFind

from dimse.handlers.associations import may_use, peer
from dimse.handlers.audit import record_find
from dimse.handlers.pending import PendingResponses
from dimse.handlers.read_ahead import remember_question, taken_read_ahead
from dimse.handlers.status import failure_status
from dimse.handlers.ups import FIND_SOP_CLASSES as UPS_FIND_SOP_CLASSES
from ris.dicom.errors import DicomError, IdentifierError
from ris.dicom.statuses import (
    CANCEL,
    OUT_OF_RESOURCES,
    PENDING,
    PENDING_UNSUPPORTED_KEYS,
    SOP_CLASS_NOT_SUPPORTED,
    SUCCESS,
    UNABLE_TO_PROCESS,
)
from ris.dicom.statuses import FIND_NOT_AUTHORIZED as NOT_AUTHORIZED
from ris.dicom.wire import EncodedDataset, WireEncoding
from ris.health import DATABASE_UNAVAILABLE
from ris.nodes.models import Service
from ris.scheduling.worklist import worklist_find
from ris.ups.query import workitem_find

LOGGER = logging.getLogger("dimse")


def _worklist(event, encoding: WireEncoding):
    # The identifier's bytes as they came: the domain keeps the plan made of
    # them. Answers come encoded as they go out: a query may have hundreds.
    # Its rows may have been read already (dimse.handlers.read_ahead).
    identifier = EncodedDataset(_identifier_bytes(event), encoding)
    return worklist_find(identifier, encoding, read_ahead=taken_read_ahead(event.assoc))


def _workitems(event, encoding: WireEncoding):
    return workitem_find(_identifier(event))


# What each C-FIND SOP class searches: (log label, service, search function,
# what to do once a query is answered successfully).
MWL = ("MWL", Service.WORKLIST, _worklist, remember_question)
UPS = ("UPS", Service.UPS, _workitems, None)


def handle_find(event):
    """Route by the negotiated SOP class."""
    abstract_syntax = str(event.context.abstract_syntax)
    if abstract_syntax == ModalityWorklistInformationFind:
        yield from _find(event, *MWL)
    elif abstract_syntax in UPS_FIND_SOP_CLASSES:
        yield from _find(event, *UPS)
    else:
        yield (
            failure_status(DicomError("SOP class not supported", status=SOP_CLASS_NOT_SUPPORTED)),
            None,
        )


# Pending responses sent between two chances for a C-CANCEL to be read.
LISTEN_EVERY = 50


def _let_the_peer_be_heard(assoc) -> None:
    """Send the responses kept so far and act on what the peer has sent
    meanwhile (dimse.reactor.InlineDUL.hear_peer): a C-CANCEL (PS3.7
    9.3.2.3) is then seen by event.is_cancelled, and after an A-ABORT
    nothing more is sent.
    The association's one thread otherwise reads from the peer only between
    requests. Streams shorter than LISTEN_EVERY are not interrupted.
    """
    assoc.dul.hear_peer()


def _find(event, label: str, service: str, search, answered):
    """Answer one C-FIND: a pending response per match, then the final status.

    The pending responses go out on the short path (dimse.handlers.pending);
    only the final one is yielded to pynetdicom, once the query is in the
    log and the audit trail.
    """
    started = time.monotonic()
    final, matches = _search_and_answer(event, label, service, search)
    # None: aborted or released under us, and nothing more to say.
    status = None if final is None else final if isinstance(final, int) else final.Status
    record_find(event, label, status, matches, started)
    if status == SUCCESS and answered is not None:
        answered(event)
    LOGGER.info(
        "%s C-FIND from %s: %s, %d matches, %.0f ms",
        label,
        peer(event.assoc),
        "association ended" if status is None else f"status 0x{status:04X}",
        matches,
        (time.monotonic() - started) * 1000,
    )
    if final is not None:
        yield final, None


def _search_and_answer(event, label: str, service: str, search) -> tuple[int | Dataset | None, int]:
    """Send a pending response per match; return the final status (or None
    if the association went away) and how many matches were sent."""
    matches = 0
    try:
        if not may_use(event.assoc, service):
            raise DicomError(f"This AE may not query the {label} worklist", status=NOT_AUTHORIZED)
        results = search(event, WireEncoding.of(event.context.transfer_syntax))
        pending = PendingResponses(event)
        for response, all_keys_known in results:
            if matches and matches % LISTEN_EVERY == 0:
                _let_the_peer_be_heard(event.assoc)
            if not event.assoc.is_established:
                return None, matches
            if event.is_cancelled:
                return CANCEL, matches
            matches += 1
            pending.send(PENDING if all_keys_known else PENDING_UNSUPPORTED_KEYS, response)
        return SUCCESS, matches
    except DicomError as error:
        return failure_status(error, elements_field="OffendingElement"), matches
    except DATABASE_UNAVAILABLE as error:
        LOGGER.error(
            "%s query from %s: the database is unavailable (%s)", label, peer(event.assoc), error
        )
        error = DicomError("The RIS cannot reach its database", status=OUT_OF_RESOURCES)
        return failure_status(error), matches
    except Exception:
        LOGGER.exception("%s query from %s failed", label, peer(event.assoc))
        error = DicomError("The RIS could not process the query", status=UNABLE_TO_PROCESS)
        return failure_status(error), matches


def _identifier(event) -> Dataset:
    try:
        return event.identifier
    except Exception as error:
        raise IdentifierError(f"The identifier could not be decoded: {error}") from error


def _identifier_bytes(event) -> bytes:
    """The request's identifier as it came (a request without one has none to match)."""
    try:
        return event.request.Identifier.getvalue()
    except AttributeError as error:
        raise IdentifierError(f"The request has no identifier: {error}") from error
