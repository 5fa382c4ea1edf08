"""Delivers the outbox's DICOM channels to remote AEs: MPPS forwarding and UPS event reports.

Two channels, one way of sending. The DICOM channel carries N-CREATE and N-SET
(MPPS forwarding), sent as an SCU; the UPS event channel carries the event
reports of ris.ups.events, sent as N-EVENT-REPORT by us as the UPS Event SCP.
A message goes on an association from our AE title to the destination's AE
title, host and port (ris.nodes), proposing the one SOP class the message
needs. A dispatcher thread keeps its association open while the destination
has more messages due, up to MESSAGES_PER_ASSOCIATION of them, and releases
it when there are none (HeldAssociation): a burst of events to a subscriber
costs one association, not one each. The outcome is the destination's
answer, sorted in three:

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

UPS event reports (PS3.4 CC.2.4) are sorted the same way. The subscriber
answers with the general N-EVENT-REPORT statuses (PS3.7 10.1.1.1.8, Annex C),
none specific to UPS. 0x0110 Processing Failure, 0x0213 Resource Limitation,
0x0124 Not Authorized and 0x0210 Duplicate Invocation are about the
subscriber: the report is retried, so a subscriber that is down or busy still
gets every event of a workitem, in order. 0x0112 No Such SOP Instance, 0x0113
No Such Event Type, 0x0114 No Such Argument, 0x0115 Invalid Argument Value,
0x0117 Invalid Object Instance, 0x0118 No Such SOP Class and 0x0119
Class-Instance Conflict refuse this report for what it is: it is given up and
the subscriber's next event goes ahead. A malformed payload is given up
without an association.
"""

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from pydicom import Dataset
from pynetdicom import build_role, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.sop_class import UnifiedProcedureStepEvent, UnifiedProcedureStepPush
from pynetdicom.status import STATUS_SUCCESS, STATUS_WARNING, code_to_category

from dimse.reactor import WakefulAE
from ris.dicom import statuses
from ris.nodes.models import RemoteAE
from ris.nodes.selectors import remote_ae_get
from ris.outbox.dispatcher import run_dispatcher
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage
from ris.outbox.payloads import DIMSE_OPERATIONS, N_CREATE
from ris.ups.events import EVENT_TYPES
from ris.webhooks.deliver import run_webhook_dispatcher

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

# Makes the request on the association given; returns (status, data set).
Send = Callable[[Association], tuple[Dataset, Dataset | None]]


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

    def send(self, assoc: Association) -> tuple[Dataset, Dataset | None]:
        uids = (self.sop_class_uid, self.sop_instance_uid)
        if self.operation == N_CREATE:
            return assoc.send_n_create(self.dataset, *uids)
        return assoc.send_n_set(self.dataset, *uids)

    def __str__(self):
        return f"{self.operation} {self.sop_instance_uid}"


@dataclass(frozen=True)
class UpsEventReport:
    """A UPS event message's payload (ris.ups.events), read and checked."""

    event_type_id: int
    sop_instance_uid: str
    info: Dataset

    @classmethod
    def from_payload(cls, payload: dict) -> "UpsEventReport":
        """The report, or a permanent DeliveryError: a malformed payload never gets better."""
        try:
            event_type_id, uid, info = (
                payload["event_type_id"],
                payload["sop_instance_uid"],
                payload["info"],
            )
            # bool is an int to Python, not an Event Type ID (PS3.4 Table CC.2.4-1).
            if type(event_type_id) is not int or event_type_id not in EVENT_TYPES:
                raise ValueError(f"no such event type {event_type_id!r}")
            if not isinstance(uid, str) or not uid:
                raise TypeError("the SOP instance UID is not a string")
            if not isinstance(info, dict):
                raise TypeError("the event information is not a DICOM JSON object")
            return cls(event_type_id, uid, Dataset.from_json(info))
        except (KeyError, TypeError, ValueError) as error:
            raise DeliveryError(f"Malformed UPS event: {error!r}", permanent=True) from error

    def send(self, assoc: Association) -> tuple[Dataset, Dataset | None]:
        # PS3.4 CC.3.1: the Affected SOP Class UID is UPS Push whatever context
        # carries it, here the UPS Event context (meta_uid).
        return assoc.send_n_event_report(
            self.info,
            self.event_type_id,
            UnifiedProcedureStepPush,
            self.sop_instance_uid,
            meta_uid=UnifiedProcedureStepEvent,
        )

    def __str__(self):
        return f"{EVENT_TYPES[self.event_type_id]} {self.sop_instance_uid}"


# Messages sent on one association before the dispatcher lets other
# destinations have a turn (and releases it).
MESSAGES_PER_ASSOCIATION = 100


class HeldAssociation:
    """The association a dispatcher thread keeps open between messages to one
    destination (ris.outbox.dispatcher.HeldConnection). A message sent
    without one gets one of its own, released after the response."""

    def __init__(self):
        self.remote_ae: RemoteAE | None = None
        self._assoc: Association | None = None
        self._key: tuple | None = None
        self._sent = 0

    @property
    def destination(self) -> str | None:
        return self.remote_ae.ae_title if self.remote_ae else None

    @property
    def drained(self) -> bool:
        return self._sent >= MESSAGES_PER_ASSOCIATION

    def is_open_for(self, remote_ae: RemoteAE, sop_class_uid: str) -> bool:
        open_ = self._assoc is not None and self._assoc.is_established
        return open_ and self._key == _key(remote_ae, sop_class_uid)

    def open_for(self, remote_ae: RemoteAE, sop_class_uid: str, roles=()) -> Association:
        """The open association to `remote_ae` for `sop_class_uid`, or a new one."""
        if not self.is_open_for(remote_ae, sop_class_uid):
            self.close()
            self._assoc = _associate(remote_ae, sop_class_uid, roles=roles)
            self.remote_ae, self._key = remote_ae, _key(remote_ae, sop_class_uid)
        self._sent += 1
        return self._assoc

    def close(self) -> None:
        assoc, self._assoc = self._assoc, None
        self.remote_ae, self._key, self._sent = None, None, 0
        if assoc is not None:
            assoc.release()


def _key(remote_ae: RemoteAE, sop_class_uid: str) -> tuple:
    """What an association is open to: a change of host or port opens another."""
    return (remote_ae.ae_title, remote_ae.host, remote_ae.port, sop_class_uid)


def _send_on(
    held: HeldAssociation | None,
    remote_ae: RemoteAE,
    sop_class_uid: str,
    what: str,
    send: Send,
    roles=(),
) -> Dataset:
    """Send on the held association, or on one of its own (released after);
    the response status."""
    if held is None:
        held = HeldAssociation()
        try:
            return _send_on(held, remote_ae, sop_class_uid, what, send, roles)
        finally:
            held.close()
    reused = held.is_open_for(remote_ae, sop_class_uid)
    try:
        return _send_held(held, remote_ae, sop_class_uid, what, send, roles)
    except DeliveryError as error:
        if error.permanent or not reused:
            raise
    # The destination may have closed an association we kept (a limit of its
    # own): once more, on a new one.
    return _send_held(held, remote_ae, sop_class_uid, what, send, roles)


def _send_held(held, remote_ae, sop_class_uid, what, send, roles) -> Dataset:
    """Send on the held association; the response status. If the exchange
    fails or no response comes (a timeout, an abort) the association is
    closed and DeliveryError raised: transient, the message is tried again."""
    assoc = held.open_for(remote_ae, sop_class_uid, roles)
    try:
        status = _send(assoc, what, send)
    except DeliveryError:
        held.close()
        raise
    if _code(status) is None:
        held.close()
        raise DeliveryError(f"{what}: no response from {remote_ae} (timeout or abort)")
    return status


def deliver_dicom(message: OutboundMessage, held: HeldAssociation | None = None) -> None:
    """Send one DICOM message to its destination; raise DeliveryError if it did not land."""
    request = DimseRequest.from_payload(message.payload)
    remote_ae = _destination(message.destination, held)
    status = _send_on(held, remote_ae, request.sop_class_uid, str(request), request.send)
    if _code(status) == statuses.DUPLICATE_SOP_INSTANCE and request.operation == N_CREATE:
        LOGGER.info("%s: %s already has the instance (0x0111)", request, remote_ae.ae_title)
        return
    _check(status, str(request), remote_ae, is_final=_is_final_for_mpps)


def deliver_ups_event(message: OutboundMessage, held: HeldAssociation | None = None) -> None:
    """Send one UPS event report as N-EVENT-REPORT; raise DeliveryError if it did not land.

    We open the association, yet we are the UPS Event SCP (PS3.4 CC.2.4): the
    SCP/SCU Role Selection (PS3.7 D.3.3.4) proposes us as SCP only, as
    dcm4chee-arc does; some subscribers refuse the context without it.
    """
    report = UpsEventReport.from_payload(message.payload)
    remote_ae = _destination(message.destination, held)
    roles = [build_role(UnifiedProcedureStepEvent, scp_role=True)]
    status = _send_on(held, remote_ae, UnifiedProcedureStepEvent, str(report), report.send, roles)
    _check(status, str(report), remote_ae)


def run_dicom_dispatcher(*, stop: threading.Event, poll_interval: float | None = None) -> None:
    """Deliver the DICOM channel's messages until `stop` is set."""
    _run_holding(Channel.DICOM, deliver_dicom, stop, poll_interval)


def run_ups_event_dispatcher(*, stop: threading.Event, poll_interval: float | None = None) -> None:
    """Deliver the UPS event channel's messages until `stop` is set."""
    _run_holding(Channel.UPS_EVENT, deliver_ups_event, stop, poll_interval)


def _run_holding(channel: str, deliver, stop: threading.Event, poll_interval) -> None:
    held = HeldAssociation()
    run_dispatcher(
        channel=channel,
        deliver=lambda message: deliver(message, held),
        stop=stop,
        poll_interval=poll_interval,
        held=held,
    )


# Each channel this module delivers: its name for people, and its dispatcher.
DISPATCHERS = {
    Channel.DICOM: ("DICOM", run_dicom_dispatcher),
    Channel.UPS_EVENT: ("UPS event", run_ups_event_dispatcher),
    # Not DICOM, but run beside the DICOM channels by `dimse` and `dispatch`
    # (ris.webhooks.deliver: HTTP POSTs to the HIS).
    Channel.WEBHOOK: ("HIS webhook", run_webhook_dispatcher),
}


def start_dispatchers(
    *, stop: threading.Event, poll_interval: float | None = None
) -> list[threading.Thread]:
    """Dispatcher threads for each channel of DISPATCHERS, in its order, until `stop` is set.

    Threads per channel, so that a subscriber slow to answer does not hold up
    MPPS forwarding, nor a slow PACS the event reports. UPS events get
    RIS_UPS_EVENT_DISPATCH_THREADS of them, delivering to as many subscribers
    at once; each subscriber's events stay in order, since a destination's
    next message is not due while the one before it is claimed
    (ris.outbox.selectors.outbox_due_heads).
    """
    threads = []
    for channel, (_, run) in DISPATCHERS.items():
        for number in range(1, _threads_for(channel) + 1):
            thread = threading.Thread(
                target=run,
                kwargs={"stop": stop, "poll_interval": poll_interval},
                name=f"{channel}-dispatcher" + (f"-{number}" if number > 1 else ""),
                daemon=True,
            )
            thread.start()
            threads.append(thread)
    return threads


def _threads_for(channel: str) -> int:
    if channel == Channel.UPS_EVENT:
        return max(1, settings.RIS_UPS_EVENT_DISPATCH_THREADS)
    return 1


def _destination(ae_title: str, held: "HeldAssociation | None" = None) -> RemoteAE:
    """The registered remote AE to send to: the one the held association is
    open to (a change to it applies from the next association, as for the
    service's callers), or looked up.

    Unknown: permanent, nothing but an operator can make it known again (who
    can re-register it and retry the dead messages in the admin). Disabled:
    transient, switching an AE off pauses its queue; nothing is lost.
    """
    if held is not None and held.destination == ae_title:
        return held.remote_ae
    try:
        remote_ae = remote_ae_get(ae_title=ae_title)
    except RemoteAE.DoesNotExist as error:
        raise DeliveryError(str(error), permanent=True) from error
    if not remote_ae.enabled:
        raise DeliveryError(f"Remote AE {remote_ae} is disabled; waiting until it is enabled.")
    return remote_ae


def _associate(
    remote_ae: RemoteAE,
    sop_class_uid: str,
    *,
    roles: Iterable[SCP_SCU_RoleSelectionNegotiation] = (),
) -> Association:
    """An association proposing `sop_class_uid` (with `roles`), or a transient DeliveryError."""
    ae = WakefulAE(ae_title=settings.RIS_AE_TITLE)
    ae.connection_timeout = settings.RIS_OUTBOX_DICOM_CONNECTION_TIMEOUT
    ae.acse_timeout = settings.RIS_DIMSE_ACSE_TIMEOUT
    ae.dimse_timeout = settings.RIS_DIMSE_DIMSE_TIMEOUT
    ae.network_timeout = settings.RIS_DIMSE_NETWORK_TIMEOUT
    ae.add_requested_context(sop_class_uid)
    try:
        assoc = ae.associate(
            remote_ae.host,
            remote_ae.port,
            ae_title=remote_ae.ae_title,
            ext_neg=list(roles),
            evt_handlers=[(evt.EVT_CONN_OPEN, _without_nagle)],
        )
    except OSError as error:  # the host name does not resolve
        raise DeliveryError(f"Cannot reach {remote_ae}: {error}") from error
    if not assoc.is_established:
        raise DeliveryError(f"No association with {remote_ae}: {_why_not(assoc)}")
    return assoc


def _without_nagle(event) -> None:
    """TCP_NODELAY on the connection, as on those the service accepts
    (dimse/server.py): a DIMSE message goes out as separate PDUs (command, then
    data set), and Nagle's algorithm would hold the second until the peer's
    delayed ACK, about 40 ms per request, so per subscriber and per PACS."""
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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


def _send(assoc: Association, what: str, send: Send) -> Dataset:
    """Make the request on `assoc`; the response status, empty if none came."""
    try:
        status, _ = send(assoc)
    except RuntimeError as error:  # the association ended before the request went out
        raise DeliveryError(f"{what}: association lost: {error}") from error
    except ValueError as error:  # pynetdicom could not encode the data set
        raise DeliveryError(f"{what}: cannot encode: {error}", permanent=True) from error
    return status


def _code(status: Dataset) -> int | None:
    return int(status.Status) if "Status" in status else None


def _is_final(status: Dataset) -> bool:
    """A refusal the same message would meet again: any failure not in RETRY_LATER."""
    return int(status.Status) not in RETRY_LATER


def _is_final_for_mpps(status: Dataset) -> bool:
    """As _is_final, but 0x0110 with Error ID 0xA710 is final (PS3.4 F.7.2.2)."""
    if int(status.Status) == statuses.PROCESSING_FAILURE:
        return status.get("ErrorID") == statuses.MPPS_MAY_NO_LONGER_BE_UPDATED
    return _is_final(status)


def _check(
    status: Dataset,
    what: str,
    remote_ae: RemoteAE,
    *,
    is_final: Callable[[Dataset], bool] = _is_final,
) -> None:
    """Return if the destination took the message; raise DeliveryError, sorted, if
    not. A response without status never gets here (_send_held)."""
    code = _code(status)
    if code_to_category(code) in (STATUS_SUCCESS, STATUS_WARNING):
        LOGGER.info("%s delivered to %s (status 0x%04X)", what, remote_ae.ae_title, code)
        return
    raise DeliveryError(_refusal(status, what, remote_ae), permanent=is_final(status))


def _refusal(status: Dataset, what: str, remote_ae: RemoteAE) -> str:
    details = [f"status 0x{int(status.Status):04X}"]
    if "ErrorID" in status:
        details.append(f"error ID 0x{int(status.ErrorID):04X}")
    if status.get("ErrorComment"):
        details.append(str(status.ErrorComment))
    return f"{what} refused by {remote_ae.ae_title}: {', '.join(details)}"
