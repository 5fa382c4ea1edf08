"""The real `manage.py dimse` process killed (SIGKILL) and restarted: nothing
lost of the UPS events and MPPS forwards it was delivering, and SCP Status
Change announced at start and stop."""

import os
import signal
import subprocess
import sys
import time

import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid

from ris.dicom.uids import new_uid
from ris.outbox.payloads import N_CREATE, N_SET
from tests.dimse_helpers import MppsScp, free_port, wait_until
from tests.process_helpers import ROOT, wait_for_dicom_service
from tests.test_dimse_mpps import Modality, in_progress
from tests.ups_helpers import (
    SUBSCRIBE,
    EventSubscriber,
    action,
    change_state,
    create,
    ups_associate,
)


@pytest.fixture
def environment(tmp_path):
    """A migrated SQLite database of its own, and fast retries and claims."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "RIS_VAR_DIR": str(tmp_path),
        "RIS_DIMSE_ACCEPT_ANY_AE": "1",
        "RIS_OUTBOX_BACKOFF_BASE": "0.1",
        "RIS_OUTBOX_BACKOFF_CAP": "0.5",
        "RIS_OUTBOX_CLAIM_TIMEOUT": "2",
        "RIS_OUTBOX_POLL_INTERVAL": "0.1",
        "DJANGO_SETTINGS_MODULE": "ris.settings",
    }
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def start_dimse(env, port) -> subprocess.Popen:
    service = subprocess.Popen(
        [sys.executable, "manage.py", "dimse", "--port", str(port), "--bind", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_dicom_service(("127.0.0.1", port), timeout=20)
    except AssertionError:
        service.kill()
        raise AssertionError(f"dimse did not start: {service.communicate()[0]}") from None
    return service


def register(env, ae_title: str, port: int, *options: str) -> None:
    command = ["ae", "add", ae_title, "--host", "127.0.0.1", "--port", str(port), *options]
    subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
    )


def stop_cleanly(service: subprocess.Popen) -> None:
    """SIGTERM, and the service ends as it should: exit status 0."""
    service.send_signal(signal.SIGTERM)
    output, _ = service.communicate(timeout=30)
    assert service.returncode == 0, output


def test_events_survive_a_killed_process_and_status_changes_are_announced(environment):
    port, subscriber = free_port(), EventSubscriber(port=free_port())
    register(environment, "WATCHER", subscriber.port)
    service = start_dimse(environment, port)
    try:
        assoc = ups_associate(("127.0.0.1", port))
        uid = new_uid()
        assert create(assoc, uid) == 0x0000
        assert action(assoc, uid, SUBSCRIBE, ReceivingAE="WATCHER", DeletionLock="FALSE") == 0
        assert change_state(assoc, uid, "IN PROGRESS", new_uid()) == 0x0000
        assoc.release()
        time.sleep(0.5)  # the dispatcher tries the subscriber, which is down, and backs off
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        subscriber.start()
        service = start_dimse(environment, port)
        wait_until(lambda: len(subscriber.reports) >= 3, timeout=20)
        stop_cleanly(service)
    finally:
        service.kill()
        subscriber.stop()
    kinds = [
        (
            report.event_type_id,
            report.information.get("ProcedureStepState") or report.information.get("SCPStatus"),
        )
        for report in subscriber.reports
    ]
    assert kinds == [(1, "SCHEDULED"), (1, "IN PROGRESS"), (4, "RESTARTED"), (4, "GOING DOWN")]


def test_mpps_forwards_survive_a_process_killed_while_delivering_and_serving(environment):
    """Killed while its dispatcher waits for the PACS's answer to a forwarded
    N-CREATE and a modality's association is open: after the restart the PACS
    gets the N-CREATE again (delivery is at least once) and the N-SET, in
    that order, and the modality goes on with the step it created."""
    port, pacs = free_port(), MppsScp(port=free_port())
    register(environment, "PACS", pacs.port, "--forward-mpps")
    pacs.delay = 3.0  # the PACS answers slowly: the forward is in flight when the kill comes
    pacs.start()
    service = start_dimse(environment, port)
    uid = str(generate_uid())
    try:
        modality = Modality(("127.0.0.1", port))
        status, _ = modality.create(in_progress(), uid)
        assert status.Status == 0x0000
        wait_until(lambda: pacs.begun, timeout=10)  # the forward is in flight
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        wait_until(lambda: pacs.received, timeout=10)  # the PACS took it; the answer was lost
        pacs.delay = 0.0
        modality.assoc.abort()  # its association died with the process

        service = start_dimse(environment, port)
        modality = Modality(("127.0.0.1", port))
        change = Dataset()
        change.PerformedProcedureStepDescription = "CT chest"
        assert modality.set(uid, change).Status == 0x0000  # the step from before the kill
        modality.release()
        wait_until(lambda: N_SET in [r.operation for r in pacs.received], timeout=20)
        stop_cleanly(service)
    finally:
        service.kill()
        pacs.stop()
    received = [(r.operation, r.sop_instance_uid) for r in pacs.received]
    assert received == [(N_CREATE, uid), (N_CREATE, uid), (N_SET, uid)]
    assert pacs.received[-1].dataset.PerformedProcedureStepDescription == "CT chest"
