"""The real `manage.py dimse` process and UPS events: SCP Status Change at start
and stop, and nothing lost when the process is killed (SIGKILL) and restarted."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ris.dicom.uids import new_uid
from tests.dimse_helpers import free_port, wait_until
from tests.ups_helpers import (
    SUBSCRIBE,
    EventSubscriber,
    action,
    change_state,
    create,
    ups_associate,
)

ROOT = Path(__file__).resolve().parent.parent


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
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            assoc = ups_associate(("127.0.0.1", port))
        except AssertionError:
            time.sleep(0.1)
            continue
        assoc.release()
        return service
    service.kill()
    raise AssertionError(f"dimse did not start: {service.communicate()[0]}")


def test_events_survive_a_killed_process_and_status_changes_are_announced(environment):
    port, subscriber = free_port(), EventSubscriber(port=free_port())
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "ae",
            "add",
            "WATCHER",
            "--host",
            "127.0.0.1",
            "--port",
            str(subscriber.port),
        ],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )
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
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
        assert service.returncode == 0, output
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
