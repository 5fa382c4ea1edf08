"""Clients for the tests: a pynetdicom SCU and DCMTK's findscu, on loopback."""

import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset, dcmread
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)

from dimse.dispatch import run_dicom_dispatcher
from dimse.reactor import read_a_quick_rejection
from ris.outbox.payloads import N_CREATE, N_SET

RIS_AE_TITLE = "RIS"


def scu(calling_ae_title: str = "MODALITY") -> AE:
    ae = AE(ae_title=calling_ae_title)
    ae.add_requested_context(Verification)
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


def associate(address, calling_ae_title="MODALITY", called_ae_title=RIS_AE_TITLE):
    """An association, or its rejection: read also when the RIS rejected
    before pynetdicom's requestor looked (dimse.reactor.read_a_quick_rejection)."""
    host, port = address
    association = scu(calling_ae_title).associate(host, port, ae_title=called_ae_title)
    read_a_quick_rejection(association)
    return association


def mwl_find(address, identifier: Dataset, calling_ae_title="MODALITY", ae: AE | None = None):
    """All responses of one worklist query on a new association: [(status, identifier)]."""
    host, port = address
    assoc = (ae or scu(calling_ae_title)).associate(host, port, ae_title=RIS_AE_TITLE)
    assert assoc.is_established, "association was not accepted"
    try:
        return [
            (int(status.Status), response, status)
            for status, response in assoc.send_c_find(identifier, ModalityWorklistInformationFind)
        ]
    finally:
        assoc.release()


def matches(responses) -> list[Dataset]:
    """The identifiers of the pending responses, after checking the query succeeded."""
    final_status = responses[-1][0]
    assert final_status == 0x0000, f"final status 0x{final_status:04X}"
    return [response for status, response, _ in responses if status in (0xFF00, 0xFF01)]


def _dcmtk(program: str) -> str | None:
    """DCMTK's program on PATH, not pynetdicom's app of the same name (a Python
    script in a virtual environment's bin directory, on PATH when one is active)."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which(program, path=directory)
        if candidate and not _is_python_script(candidate):
            return candidate
    return None


def _is_python_script(path: str) -> bool:
    with open(path, "rb") as executable:
        first_line = executable.readline(200)
    return first_line.startswith(b"#!") and b"python" in first_line


FINDSCU = _dcmtk("findscu")


def findscu(address, keys: list[str], folder: Path, *extra: str) -> list[Dataset]:
    """DCMTK's findscu -W with the given -k keys; the responses it wrote to files."""
    host, port = address
    folder.mkdir(parents=True, exist_ok=True)
    command = [FINDSCU, "-W", "-aet", "MODALITY", "-aec", RIS_AE_TITLE, "-X", "-od", str(folder)]
    for key in keys:
        command += ["-k", key]
    result = subprocess.run(
        [*command, *extra, host, str(port)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [dcmread(path) for path in sorted(folder.glob("rsp*.dcm"))]


# --- A destination for forwarded MPPS, and the dispatcher that feeds it ---

MPPS = ModalityPerformedProcedureStep


@dataclass
class Received:
    operation: str
    sop_instance_uid: str
    dataset: Dataset
    calling_ae_title: str
    called_ae_title: str


class MppsScp:
    """A stand-in PACS: an MPPS SCP on a loopback port that records what it receives.

    It answers success unless `answers` maps an operation to another status
    (an int, or a status Dataset with Error ID and comment).
    """

    def __init__(self, port: int):
        self.port = port
        self.received: list[Received] = []
        self.answers: dict[str, int | Dataset] = {}
        self.delay = 0.0
        self.begun = 0  # requests taken, answered or not yet
        self.associations = 0  # accepted so far
        # A destination that takes one message per association, and aborts
        # one that brings a second.
        self.one_per_association = False
        # The associations served once; weakly held, since an id() is reused
        # once its association is freed, and a new one looked served.
        self._served = weakref.WeakSet()
        self._server = None
        # Calling AE titles it accepts; any if empty (else it rejects at once).
        self.known_callers: list[str] = []

    def start(self, *sop_classes) -> None:
        ae = AE(ae_title="PACS")
        ae.require_calling_aet = self.known_callers
        for sop_class in sop_classes or (MPPS,):
            ae.add_supported_context(sop_class)
        handlers = [
            (evt.EVT_N_CREATE, self._on_create),
            (evt.EVT_N_SET, self._on_set),
            (evt.EVT_ACCEPTED, self._on_accepted),
        ]
        self._server = ae.make_server(("127.0.0.1", self.port), evt_handlers=handlers)
        # A short poll interval: shutdown() waits for the accept loop's next turn.
        serve = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        serve.start()

    def stop(self) -> None:
        if self._server is not None:
            socketserver.BaseServer.shutdown(self._server)  # made, not started, by the AE
            self._server.server_close()
            self._server = None

    @property
    def open_associations(self) -> int:
        return len(self._server.active_associations) if self._server else 0

    def _on_accepted(self, event):
        self.associations += 1

    def _on_create(self, event):
        uid = event.request.AffectedSOPInstanceUID
        return self._record(event, N_CREATE, uid, event.attribute_list)

    def _on_set(self, event):
        uid = event.request.RequestedSOPInstanceUID
        return self._record(event, N_SET, uid, event.modification_list)

    def _record(self, event, operation, uid, dataset):
        if self.one_per_association:
            if event.assoc in self._served:
                event.assoc.abort()
                return 0x0110, None
            self._served.add(event.assoc)
        self.begun += 1
        time.sleep(self.delay)
        requestor, acceptor = event.assoc.requestor, event.assoc.acceptor
        self.received.append(
            Received(operation, str(uid), dataset, requestor.ae_title, acceptor.ae_title)
        )
        return self.answers.get(operation, 0x0000), dataset


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@contextmanager
def dispatcher_running(run, poll_interval: float = 0.02):
    """A dispatcher loop (`run`, e.g. run_dicom_dispatcher) in a thread, stopped
    and joined on leaving the block."""
    stop = threading.Event()
    thread = threading.Thread(target=run, kwargs={"stop": stop, "poll_interval": poll_interval})
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def dicom_dispatcher(poll_interval: float = 0.02):
    return dispatcher_running(run_dicom_dispatcher, poll_interval)
