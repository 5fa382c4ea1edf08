"""UPS clients for the tests: a pynetdicom SCU for Push, Pull, Watch and Query,
a subscriber that listens for N-EVENT-REPORT, and the UPS event dispatcher, on loopback."""

import socketserver
import threading
import time
from dataclasses import dataclass

from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    UnifiedProcedureStepEvent,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery,
    UnifiedProcedureStepWatch,
    Verification,
)

from dimse.dispatch import run_ups_event_dispatcher
from ris.dicom.uids import new_uid
from tests.dimse_helpers import RIS_AE_TITLE, dispatcher_running

PUSH = UnifiedProcedureStepPush
GLOBAL = "1.2.840.10008.5.1.4.34.5"
FILTERED_GLOBAL = "1.2.840.10008.5.1.4.34.5.1"
CHANGE_STATE, REQUEST_CANCEL, SUBSCRIBE, UNSUBSCRIBE, SUSPEND = 1, 2, 3, 4, 5


def ups_associate(address, calling_ae_title="PERFORMER", contexts=None):
    ae = AE(ae_title=calling_ae_title)
    for sop_class in contexts or (
        UnifiedProcedureStepPush,
        UnifiedProcedureStepPull,
        UnifiedProcedureStepWatch,
        UnifiedProcedureStepQuery,
    ):
        ae.add_requested_context(sop_class)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    host, port = address
    assoc = ae.associate(host, port, ae_title=RIS_AE_TITLE)
    assert assoc.is_established, "association was not accepted"
    return assoc


def workitem(**values) -> Dataset:
    """A valid N-CREATE attribute list; keyword arguments replace or add attributes."""
    ds = Dataset()
    ds.ScheduledProcedureStepPriority = "MEDIUM"
    ds.ProcedureStepLabel = "Lung CAD"
    ds.WorklistLabel = "CAD"
    ds.ScheduledProcedureStepStartDateTime = "20261125093000"
    ds.InputReadinessState = "READY"
    ds.ProcedureStepState = "SCHEDULED"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P1"
    ds.IssuerOfPatientID = "HOSP"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.ScheduledWorkitemCodeSequence = [code("CAD-LUNG", "99RIS", "Lung CAD")]
    ds.ScheduledStationNameCodeSequence = []
    ds.TransactionUID = None
    ds.ProcedureStepProgressInformationSequence = []
    ds.UnifiedProcedureStepPerformedProcedureSequence = []
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def dataset(**values) -> Dataset:
    """A data set with the given attributes, by keyword."""
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def code(value: str, scheme: str, meaning: str) -> Dataset:
    return dataset(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def completion() -> Dataset:
    """An N-SET that meets the COMPLETED final state requirements (CC.2.5.1.3)."""
    performed = Dataset()
    performed.PerformedStationNameCodeSequence = [code("CAD1", "99RIS", "CAD server")]
    performed.PerformedProcedureStepStartDateTime = "20261125093100"
    performed.PerformedProcedureStepEndDateTime = "20261125093500"
    performed.PerformedWorkitemCodeSequence = [code("CAD-LUNG", "99RIS", "Lung CAD")]
    performed.OutputInformationSequence = []
    ds = Dataset()
    ds.UnifiedProcedureStepPerformedProcedureSequence = [performed]
    return ds


def cancellation_reason() -> Dataset:
    """An N-SET with what CANCELED needs besides the time the SCP fills."""
    progress = Dataset()
    progress.ProcedureStepDiscontinuationReasonCodeSequence = [
        code("110514", "DCM", "Incorrect worklist entry selected")
    ]
    ds = Dataset()
    ds.ProcedureStepProgressInformationSequence = [progress]
    return ds


def create(assoc, uid: str, attributes: Dataset | None = None) -> int:
    status, _ = assoc.send_n_create(attributes or workitem(), PUSH, uid)
    return int(status.Status)


def n_set(assoc, uid: str, modifications: Dataset, transaction_uid: str | None = None) -> Dataset:
    if transaction_uid:
        modifications.TransactionUID = transaction_uid
    status, _ = assoc.send_n_set(modifications, PUSH, uid)
    return status


def action(assoc, uid: str, action_type: int, **information) -> int:
    info = dataset(**information)
    # pynetdicom cannot send an empty data set; no Action Information is None.
    status, _ = assoc.send_n_action(info or None, action_type, PUSH, uid)
    return int(status.Status)


def change_state(assoc, uid: str, state: str, transaction_uid: str | None) -> int:
    info = {"ProcedureStepState": state}
    if transaction_uid:
        info["TransactionUID"] = transaction_uid
    return action(assoc, uid, CHANGE_STATE, **info)


@dataclass
class EventReport:
    event_type_id: int
    sop_class_uid: str
    sop_instance_uid: str
    information: Dataset
    calling_ae_title: str
    called_ae_title: str
    proposed_roles: tuple[bool, bool]  # the requestor's (SCU, SCP) for UPS Event
    subscriber_roles: tuple[bool, bool]  # the subscriber's own (SCU, SCP) after negotiation
    received_at: float


class EventSubscriber:
    """A UPS Event SCU: listens on a loopback port and records each N-EVENT-REPORT.

    It answers `answer` (success) unless `answers` holds, for an instance UID,
    a list of statuses to answer in turn (`answer` once the list is used up).
    """

    def __init__(self, port: int, ae_title: str = "WATCHER"):
        self.port, self.ae_title = port, ae_title
        self.reports: list[EventReport] = []
        self.answer = 0x0000
        self.answers: dict[str, list[int]] = {}
        self._server = None

    def start(
        self, *, scu_role: bool | None = False, scp_role: bool | None = True, ups_event=True
    ) -> None:
        """Listen; the roles are those it accepts for the requestor (pynetdicom's meaning).

        The RIS proposes itself as SCP only for UPS Event (PS3.7 D.3.3.4);
        accepting that proposal, SCU no and SCP yes, makes this AE the UPS
        Event SCU. Without `ups_event` it offers Verification only.
        """
        ae = AE(ae_title=self.ae_title)
        ae.add_supported_context(Verification)
        if ups_event:
            ae.add_supported_context(
                UnifiedProcedureStepEvent, scu_role=scu_role, scp_role=scp_role
            )
        handlers = [(evt.EVT_N_EVENT_REPORT, self._on_report)]
        self._server = ae.make_server(("127.0.0.1", self.port), evt_handlers=handlers)
        # A short poll interval: shutdown() waits for the accept loop's next turn.
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            socketserver.BaseServer.shutdown(self._server)  # made, not started, by the AE
            self._server.server_close()
            self._server = None

    def _on_report(self, event):
        request, assoc = event.request, event.assoc
        [context] = [
            cx for cx in assoc.accepted_contexts if cx.context_id == event.context.context_id
        ]
        proposed = assoc.requestor.role_selection[UnifiedProcedureStepEvent]
        uid = str(request.AffectedSOPInstanceUID)
        self.reports.append(
            EventReport(
                event_type_id=int(request.EventTypeID),
                sop_class_uid=str(request.AffectedSOPClassUID),
                sop_instance_uid=uid,
                information=event.event_information,
                calling_ae_title=assoc.requestor.ae_title.strip(),
                called_ae_title=assoc.acceptor.ae_title.strip(),
                proposed_roles=(proposed.scu_role, proposed.scp_role),
                subscriber_roles=(context.as_scu, context.as_scp),
                received_at=time.time(),
            )
        )
        pending = self.answers.get(uid)
        return (pending.pop(0) if pending else self.answer), None

    def received(self) -> list[tuple[int, str]]:
        """(event type, instance UID) of each report, in order."""
        return [(report.event_type_id, report.sop_instance_uid) for report in self.reports]

    def of_type(self, event_type_id: int) -> list[EventReport]:
        return [report for report in self.reports if report.event_type_id == event_type_id]

    def states(self, uid: str | None = None) -> list[str]:
        """The states the State Reports told, in order (of one workitem if given)."""
        return [
            report.information.ProcedureStepState
            for report in self.of_type(1)
            if uid is None or report.sop_instance_uid == uid
        ]


def ups_event_dispatcher(poll_interval: float = 0.02):
    """The UPS event dispatcher in a thread, stopped and joined on leaving.

    Tests wait on what the subscriber received, never by reading the outbox
    while the dispatcher runs: the in-memory SQLite test database shares its
    cache between threads and then fails a write at once with "table is
    locked" instead of waiting. The dispatcher ends its turn before it stops,
    so the outcome of the last report received is recorded by the time the
    thread is joined.
    """
    return dispatcher_running(run_ups_event_dispatcher, poll_interval)


def claim_race(performers, uids: list[str]) -> list[tuple[int, int]]:
    """Two performers (associations) claim each workitem at the same moment;
    the pair of statuses they got, for each workitem."""
    barrier = threading.Barrier(len(performers))
    results = [[] for _ in performers]

    def claim_all(number):
        for uid in uids:
            barrier.wait()
            results[number].append(change_state(performers[number], uid, "IN PROGRESS", new_uid()))

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in range(len(performers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return list(zip(*results, strict=True))
