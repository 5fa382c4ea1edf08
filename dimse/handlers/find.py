"""C-FIND: the Modality Worklist (PS3.4 K.4.1), translated to and from the domain."""

import logging
import time

from pydicom import Dataset
from pynetdicom.sop_class import ModalityWorklistInformationFind

from dimse.handlers.associations import may_use, peer
from dimse.handlers.status import failure_status
from ris.dicom.errors import DicomError, IdentifierError
from ris.dicom.statuses import (
    CANCEL,
    PENDING,
    PENDING_UNSUPPORTED_KEYS,
    SOP_CLASS_NOT_SUPPORTED,
    SUCCESS,
    UNABLE_TO_PROCESS,
)
from ris.dicom.statuses import WORKLIST_NOT_AUTHORIZED as NOT_AUTHORIZED
from ris.nodes.models import Service
from ris.scheduling.worklist import worklist_find

LOGGER = logging.getLogger("dimse")


def handle_find(event):
    """Route by the negotiated SOP class (MWL now; UPS will share this event)."""
    if event.context.abstract_syntax == ModalityWorklistInformationFind:
        yield from handle_mwl_find(event)
    else:
        yield (
            failure_status(DicomError("SOP class not supported", status=SOP_CLASS_NOT_SUPPORTED)),
            None,
        )


def handle_mwl_find(event):
    started, matches, status = time.monotonic(), 0, SUCCESS
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
