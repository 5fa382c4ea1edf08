"""MPPS N-CREATE and N-SET (PS3.4 F.7), translated to and from ris.mpps.services."""

import logging
import time

from pydicom import Dataset
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from dimse.handlers.associations import may_use, peer
from ris.dicom.errors import DicomError
from ris.mpps.services import mpps_create, mpps_set
from ris.nodes.models import Service

LOGGER = logging.getLogger("dimse")

SUCCESS, PROCESSING_FAILURE, NOT_AUTHORIZED, NO_SUCH_SOP_CLASS = 0x0000, 0x0110, 0x0124, 0x0118


def handle_n_create(event):
    if event.context.abstract_syntax != ModalityPerformedProcedureStep:
        return status_dataset(DicomError("SOP class not supported", status=NO_SUCH_SOP_CLASS)), None
    return _logged(event, "N-CREATE", _create)


def handle_n_set(event):
    if event.context.abstract_syntax != ModalityPerformedProcedureStep:
        return status_dataset(DicomError("SOP class not supported", status=NO_SUCH_SOP_CLASS)), None
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
        result = (status_dataset(error, with_attributes=operation == "N-SET"), None)
    except Exception:
        LOGGER.exception("MPPS %s from %s failed", operation, peer(event.assoc))
        result = (
            status_dataset(DicomError("The RIS could not process it", status=PROCESSING_FAILURE)),
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


def status_dataset(error: DicomError, with_attributes: bool = False) -> Dataset:
    """Status, Error Comment (64 characters) and Error ID; the tags at fault go in
    Attribute Identifier List (0000,1005) where the response has one (N-SET), and
    into the comment as well, since N-CREATE responses carry no such list."""
    dataset = Dataset()
    dataset.Status = error.status
    tags = " ".join(f"({tag >> 16:04X},{tag & 0xFFFF:04X})" for tag in error.offending)
    dataset.ErrorComment = (f"{tags}: {error.comment}" if tags else error.comment)[:64]
    if error.error_id is not None:
        dataset.ErrorID = error.error_id
    if with_attributes and error.offending:
        dataset.AttributeIdentifierList = list(error.offending)
    return dataset
