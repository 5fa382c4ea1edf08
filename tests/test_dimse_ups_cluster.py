"""Two `manage.py dimse` processes on one database are one UPS service: a
subscription made through one hears of changes made through the other, once
each, and a claim race across them has one winner."""

import os
import subprocess
import sys
import time

import pytest

from ris.dicom.uids import new_uid
from ris.nodes.services import remote_ae_add
from ris.ups.services import ups_create
from tests.dimse_helpers import free_port, wait_until
from tests.process_helpers import ROOT, database_url, stop_processes
from tests.ups_helpers import (
    SUBSCRIBE,
    EventSubscriber,
    action,
    change_state,
    claim_race,
    completion,
    create,
    n_set,
    ups_associate,
    workitem,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def services(tmp_path):
    """Two DICOM service processes, each with its own dispatchers; their addresses."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
        "RIS_VAR_DIR": str(tmp_path),
        "RIS_DIMSE_ACCEPT_ANY_AE": "1",
        "RIS_OUTBOX_POLL_INTERVAL": "0.1",
        "DJANGO_SETTINGS_MODULE": "ris.settings",
    }
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "dimse", "--port", str(port), "--bind", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        addresses = [("127.0.0.1", port) for port in ports]
        for address in addresses:
            _wait_for_service(address)
        yield addresses
    finally:
        stop_processes(processes)


SCP_STATUS = 5  # UPS event type of an SCP Status Change (PS3.4 Table CC.2.4-1)


def _wait_for_service(address) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ups_associate(address).release()
            return
        except AssertionError:
            time.sleep(0.1)
    raise AssertionError(f"no DICOM service on {address}")


def test_a_subscription_through_one_process_hears_changes_through_the_other(services):
    subscriber = EventSubscriber(port=free_port())
    subscriber.start()
    remote_ae_add(ae_title="WATCHER", host="127.0.0.1", port=subscriber.port, services=["ups"])
    first, second = (ups_associate(address) for address in services)
    try:
        uid = new_uid()
        assert create(second, uid) == 0x0000
        assert action(first, uid, SUBSCRIBE, ReceivingAE="WATCHER", DeletionLock="TRUE") == 0
        claim = new_uid()
        assert change_state(second, uid, "IN PROGRESS", claim) == 0x0000
        assert n_set(second, uid, completion(), transaction_uid=claim).Status == 0x0000
        assert change_state(second, uid, "COMPLETED", claim) == 0x0000
        wait_until(lambda: len(subscriber.reports) >= 3, timeout=15)
        time.sleep(1)  # both processes' dispatchers have had time to send a duplicate
    finally:
        first.release()
        second.release()
        subscriber.stop()
    assert subscriber.states(uid) == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]
    # A process that finishes starting after the subscription announces its
    # RESTARTED SCP status to it (CC.2.4.3, event 5): an event of its own, not a
    # duplicate; every other event came once.
    changes = [report for report in subscriber.reports if report.event_type_id != SCP_STATUS]
    assert len(changes) == 3


def test_a_claim_race_across_two_processes_has_one_winner(services):
    uids = [new_uid() for _ in range(10)]
    for uid in uids:
        ups_create(sop_instance_uid=uid, attributes=workitem())
    performers = [ups_associate(address, f"PERFORMER{n}") for n, address in enumerate(services)]
    try:
        outcomes = claim_race(performers, uids)
    finally:
        for assoc in performers:
            assoc.release()
    assert [sorted(pair) for pair in outcomes] == [[0x0000, 0xC301]] * len(uids)
