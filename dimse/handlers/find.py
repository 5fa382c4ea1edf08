"""C-FIND: the Modality Worklist (PS3.4 K.4.1), translated to and from the domain."""

import logging
import time

from pydicom import Dataset
from pynetdicom.sop_class import ModalityWorklistInformationFind

from dimse.handlers.associations import may_use, peer
from dimse.handlers.status import failure_status
from ris.dicom.errors import DicomError, IdentifierError
from ris.nodes.models import Service
from ris.scheduling.worklist import worklist_find

LOGGER = logging.getLogger("dimse")

PENDING, PENDING_UNSUPPORTED_KEYS, CANCEL = 0xFF00, 0xFF01, 0xFE00
UNABLE_TO_PROCESS = 0xC000
# An implementation-chosen 0xCxxx failure (PS3.4 K.4.1.1.4) for an AE that is
# registered but not allowed the worklist.
NOT_AUTHORIZED = 0xC124


def handle_find(event):
    """Route by the negotiated SOP class (MWL now; UPS will share this event)."""
    if event.context.abstract_syntax == ModalityWorklistInformationFind:
        yield from handle_mwl_find(event)
    else:
        yield failure_status(DicomError("SOP class not supported", status=0x0122)), None


def handle_mwl_find(event):
    started, matches, status = time.monotonic(), 0, 0x0000
    try:
        if not may_use(event.assoc, Service.WORKLIST):
            raise DicomError("This AE may not query the worklist", status=NOT_AUTHORIZED)
        results = worklist_find(_identifier(event))
        for response, all_keys_known in results:
            if event.is_cancelled:
                status = CANCEL
                yield CANCEL, None
                return
            matches += 1
            yield (PENDING if all_keys_known else PENDING_UNSUPPORTED_KEYS), response
    except DicomError as error:
        status = error.status
        yield failure_status(error, elements_field="OffendingElement"), None
    except Exception:
        LOGGER.exception("Worklist query from %s failed", peer(event.assoc))
        status = UNABLE_TO_PROCESS
        error = DicomError("The RIS could not process the query", status=UNABLE_TO_PROCESS)
        yield failure_status(error), None
    finally:
        milliseconds = (time.monotonic() - started) * 1000
        LOGGER.info(
            "MWL C-FIND from %s: status 0x%04X, %d matches, %.0f ms",
            peer(event.assoc),
            status,
            matches,
            milliseconds,
        )


def _identifier(event) -> Dataset:
    try:
        return event.identifier
    except Exception as error:
        raise IdentifierError(f"The identifier could not be decoded: {error}") from error
