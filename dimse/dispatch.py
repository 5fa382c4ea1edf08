"""Delivers the outbox's DICOM messages: N-CREATE and N-SET to remote AEs, as an SCU.

Each message goes on an association of its own, from our AE title to the
destination's AE title, host and port (ris.nodes), proposing the one SOP class
the message needs. The outcome is the destination's answer, sorted in three:

- delivered: success or a warning, or 0x0111 Duplicate SOP Instance to an
  N-CREATE (the destination has the instance: an earlier attempt of ours got
  through and its response was lost, or the modality also reported to it);
- retried (transient): no association, no response, an abort, or a refusal
  that is about the destination rather than the message (busy, out of
  resources, not authorized, the SOP class not accepted). The message keeps
  its place and the destination's later messages wait behind it;
- given up (permanent): a refusal of this message for what it is (a missing
  or invalid attribute, no such instance, an MPPS that may no longer be
  updated). The same message would be refused again, so it is marked dead,
  logged, and the messages behind it go ahead; the messages of other MPPS
  instances must not wait for ever behind one the destination will not take.
"""

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from pydicom import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.status import STATUS_SUCCESS, STATUS_WARNING, code_to_category

from ris.dicom import statuses
from ris.nodes.models import RemoteAE
from ris.nodes.selectors import remote_ae_get
from ris.outbox.dispatcher import run_dispatcher
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage
from ris.outbox.payloads import DIMSE_OPERATIONS, N_CREATE

LOGGER = logging.getLogger("dimse.dispatch")

# PS3.7 Annex C: failures that say the destination cannot take messages now,
# not that this message is wrong; the same message may well succeed later.
RETRY_LATER = {
    statuses.PROCESSING_FAILURE: "Processing failure",
    statuses.SOP_CLASS_NOT_SUPPORTED: "Refused: SOP class not supported",
    statuses.NOT_AUTHORIZED: "Refused: not authorized",
    statuses.DUPLICATE_INVOCATION: "Duplicate invocation",
    statuses.RESOURCE_LIMITATION: "Resource limitation",
}
# With 0x0110, Error ID 0xA710 (PS3.4 Table F.7.2-2) says the MPPS is COMPLETED
# or DISCONTINUED at the destination and "may no longer be updated": final.
DUPLICATE_SOP_INSTANCE = statuses.DUPLICATE_SOP_INSTANCE
PROCESSING_FAILURE = statuses.PROCESSING_FAILURE
MPPS_MAY_NO_LONGER_BE_UPDATED = statuses.MPPS_MAY_NO_LONGER_BE_UPDATED


@dataclass(frozen=True)
class DimseRequest:
    """A DICOM message's payload (ris.outbox.payloads), read and checked."""

    operation: str
    sop_class_uid: str
    sop_instance_uid: str
    dataset: Dataset

    @classmethod
    def from_payload(cls, payload: dict) -> "DimseRequest":
        """The request, or a permanent DeliveryError: a malformed payload never gets better."""
        try:
            if not isinstance(payload["dataset"], dict):
                raise TypeError("the data set is not a DICOM JSON object")
            request = cls(
                operation=payload["operation"],
                sop_class_uid=payload["sop_class_uid"],
                sop_instance_uid=payload["sop_instance_uid"],
                dataset=Dataset.from_json(payload["dataset"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DeliveryError(f"Malformed DICOM message: {error!r}", permanent=True) from error
        if request.operation not in DIMSE_OPERATIONS:
            raise DeliveryError(f"Unknown operation {request.operation!r}", permanent=True)
        return request

    def __str__(self):
        return f"{self.operation} {self.sop_instance_uid}"


def deliver_dicom(message: OutboundMessage) -> None:
    """Send one DICOM message to its destination; raise DeliveryError if it did not land."""
    request = DimseRequest.from_payload(message.payload)
    remote_ae = _destination(ae_title=message.destination)
    assoc = _associate(remote_ae, request.sop_class_uid)
    try:
        status = _send(assoc, request)
    finally:
        assoc.release()
    _check(status, request, remote_ae)


def run_dicom_dispatcher(*, stop: threading.Event, poll_interval: float | None = None) -> None:
    """Deliver the DICOM channel's messages until `stop` is set."""
    run_dispatcher(
        channel=Channel.DICOM, deliver=deliver_dicom, stop=stop, poll_interval=poll_interval
    )


def start_dicom_dispatcher(
    *, stop: threading.Event, poll_interval: float | None = None
) -> threading.Thread:
    """The DICOM dispatcher in a background thread, until `stop` is set."""
    thread = threading.Thread(
        target=run_dicom_dispatcher,
        kwargs={"stop": stop, "poll_interval": poll_interval},
        name="dicom-dispatcher",
        daemon=True,
    )
    thread.start()
    return thread


def _destination(*, ae_title: str) -> RemoteAE:
    """The registered remote AE to send to.

    Unknown: permanent, nothing but an operator can make it known again (who
    can re-register it and retry the dead messages in the admin). Disabled:
    transient, switching an AE off pauses its queue; nothing is lost.
    """
    try:
        remote_ae = remote_ae_get(ae_title=ae_title)
    except RemoteAE.DoesNotExist as error:
        raise DeliveryError(str(error), permanent=True) from error
    if not remote_ae.enabled:
        raise DeliveryError(f"Remote AE {remote_ae} is disabled; waiting until it is enabled.")
    return remote_ae


def _associate(remote_ae: RemoteAE, sop_class_uid: str) -> Association:
    ae = AE(ae_title=settings.RIS_AE_TITLE)
    ae.connection_timeout = settings.RIS_OUTBOX_DICOM_CONNECTION_TIMEOUT
    ae.acse_timeout = settings.RIS_DIMSE_ACSE_TIMEOUT
    ae.dimse_timeout = settings.RIS_DIMSE_DIMSE_TIMEOUT
    ae.network_timeout = settings.RIS_DIMSE_NETWORK_TIMEOUT
    ae.add_requested_context(sop_class_uid)
    try:
        assoc = ae.associate(remote_ae.host, remote_ae.port, ae_title=remote_ae.ae_title)
    except OSError as error:  # the host name does not resolve
        raise DeliveryError(f"Cannot reach {remote_ae}: {error}") from error
    if not assoc.is_established:
        raise DeliveryError(f"No association with {remote_ae}: {_why_not(assoc)}")
    return assoc


def _why_not(assoc: Association) -> str:
    answer = assoc.acceptor.primitive  # the A-ASSOCIATE-AC or -RJ, if one came
    if assoc.is_rejected:
        return (
            f"rejected (result {answer.result}, source {answer.result_source}, "
            f"reason {answer.diagnostic})"
        )
    if assoc.rejected_contexts:  # accepted, but not for our SOP class: pynetdicom aborts
        uids = ", ".join(str(cx.abstract_syntax) for cx in assoc.rejected_contexts)
        return f"it did not accept the SOP class {uids}"
    if answer is None:
        return "connection refused or failed, or no answer"
    return "aborted"


def _send(assoc: Association, request: DimseRequest) -> Dataset:
    """The response status, empty if none came (timeout, abort)."""
    uids = (request.sop_class_uid, request.sop_instance_uid)
    try:
        if request.operation == N_CREATE:
            status, _ = assoc.send_n_create(request.dataset, *uids)
        else:
            status, _ = assoc.send_n_set(request.dataset, *uids)
    except RuntimeError as error:  # the association ended before the request went out
        raise DeliveryError(f"{request}: association lost: {error}") from error
    except ValueError as error:  # pynetdicom could not encode the data set
        raise DeliveryError(f"{request}: cannot encode: {error}", permanent=True) from error
    return status


def _check(status: Dataset, request: DimseRequest, remote_ae: RemoteAE) -> None:
    """Return if the destination took the message; raise DeliveryError, sorted, if not."""
    if "Status" not in status:
        raise DeliveryError(f"{request}: no response from {remote_ae} (timeout or abort)")
    code = int(status.Status)
    if code_to_category(code) in (STATUS_SUCCESS, STATUS_WARNING):
        LOGGER.info("%s delivered to %s (status 0x%04X)", request, remote_ae.ae_title, code)
        return
    if code == DUPLICATE_SOP_INSTANCE and request.operation == N_CREATE:
        LOGGER.info("%s: %s already has the instance (0x0111)", request, remote_ae.ae_title)
        return
    raise DeliveryError(_refusal(status, request, remote_ae), permanent=_is_final(status))


def _is_final(status: Dataset) -> bool:
    code = int(status.Status)
    if code == PROCESSING_FAILURE:
        return status.get("ErrorID") == MPPS_MAY_NO_LONGER_BE_UPDATED
    return code not in RETRY_LATER


def _refusal(status: Dataset, request: DimseRequest, remote_ae: RemoteAE) -> str:
    details = [f"status 0x{int(status.Status):04X}"]
    if "ErrorID" in status:
        details.append(f"error ID 0x{int(status.ErrorID):04X}")
    if status.get("ErrorComment"):
        details.append(str(status.ErrorComment))
    return f"{request} refused by {remote_ae.ae_title}: {', '.join(details)}"
