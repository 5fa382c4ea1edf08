"""MPPS N-CREATE and N-SET (PS3.4 F.7), translated to and from ris.mpps.services."""

import logging
import time

from pydicom import Dataset

from dimse.handlers.associations import may_use, peer
from dimse.handlers.status import failure_status
from ris.dicom.errors import DicomError
from ris.dicom.statuses import NOT_AUTHORIZED, PROCESSING_FAILURE, SUCCESS
from ris.mpps.services import mpps_create, mpps_set
from ris.nodes.models import Service

LOGGER = logging.getLogger("dimse")


# N-CREATE responses have no Attribute Identifier List (PS3.7 10.3.5); N-SET's do.
ELEMENTS_FIELD = {"N-CREATE": None, "N-SET": "AttributeIdentifierList"}


# MPPS is the only SOP class negotiated for N-services, so these serve it alone;
# UPS will route by the context's abstract syntax.
def handle_n_create(event):
    return _logged(event, "N-CREATE", _create)


def handle_n_set(event):
    return _logged(event, "N-SET", _set)


def _create(event):
    requested_uid = event.request.AffectedSOPInstanceUID
    performed = mpps_create(
        sop_instance_uid=str(requested_uid) if requested_uid else None,
        attributes=event.attribute_list,
        calling_ae_title=event.assoc.requestor.ae_title.strip(),
    )
    if requested_uid:
        return SUCCESS, None, performed.sop_instance_uid
    # PS3.7 10.1.5.1.4: the RIS made the UID, so the response carries it.
    made = Dataset()
    made.AffectedSOPInstanceUID = performed.sop_instance_uid
    return SUCCESS, made, performed.sop_instance_uid


def _set(event):
    uid = str(event.request.RequestedSOPInstanceUID)
    mpps_set(sop_instance_uid=uid, modifications=event.modification_list)
    return SUCCESS, None, uid


def _logged(event, operation: str, perform):
    """Run the operation, answer refusals with their status, log one line."""
    started, uid = time.monotonic(), "?"
    try:
        if not may_use(event.assoc, Service.MPPS):
            raise DicomError("This AE may not report MPPS", status=NOT_AUTHORIZED)
        status, dataset, uid = perform(event)
        result = (status, dataset)
    except DicomError as error:
        result = (failure_status(error, elements_field=ELEMENTS_FIELD[operation]), None)
    except Exception:
        LOGGER.exception("MPPS %s from %s failed", operation, peer(event.assoc))
        result = (
            failure_status(DicomError("The RIS could not process it", status=PROCESSING_FAILURE)),
            None,
        )
    status = result[0] if isinstance(result[0], int) else result[0].Status
    LOGGER.info(
        "MPPS %s from %s: %s, status 0x%04X, %.0f ms",
        operation,
        peer(event.assoc),
        uid,
        status,
        (time.monotonic() - started) * 1000,
    )
    return result
