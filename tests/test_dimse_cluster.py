"""Several DICOM nodes, one service (deploy/): two `manage.py dimse --no-dispatch`
processes and one `manage.py dispatch` on one database, behind HAProxy with
deploy/haproxy.cfg where haproxy is installed. A worklist query gets the same
answer from each; a UPS subscription made through one hears of changes made
through the other, once each; a claim race across them has one winner;
killing one loses nothing."""

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid

from ris.dicom.uids import new_uid
from ris.mpps.models import PerformedProcedureStep
from ris.nodes.services import remote_ae_add
from ris.outbox.payloads import N_CREATE, N_SET
from ris.ups.services import ups_create
from tests.dimse_helpers import associate, free_port, matches, mwl_find, wait_until
from tests.factories import ScheduledProcedureStepFactory, StationFactory
from tests.process_helpers import ROOT, database_url, stop_processes, wait_for_dicom_service
from tests.test_dimse_audit import station_query
from tests.test_dimse_mpps import Modality, in_progress
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

HAPROXY = shutil.which("haproxy")


@dataclass
class Cluster:
    nodes: list[tuple[str, int]]  # each DICOM process's own address
    processes: dict[str, subprocess.Popen]  # "dimse1", "dimse2", "dispatcher", "haproxy"
    balanced: tuple[str, int] | None  # HAProxy's DICOM port, if haproxy is installed
    stats: str | None  # HAProxy's statistics as CSV


@pytest.fixture
def cluster(tmp_path):
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
    processes = {}
    try:
        for number, port in enumerate(ports, start=1):
            processes[f"dimse{number}"] = _manage(
                env, "dimse", "--port", str(port), "--bind", "127.0.0.1", "--no-dispatch"
            )
        processes["dispatcher"] = _manage(env, "dispatch", "--poll-interval", "0.1")
        nodes = [("127.0.0.1", port) for port in ports]
        for node in nodes:
            wait_for_dicom_service(node)
        balanced = stats = None
        if HAPROXY:
            balanced, stats = (
                ("127.0.0.1", free_port()),
                f"http://127.0.0.1:{free_port()}/stats;csv",
            )
            config = tmp_path / "haproxy.cfg"
            config.write_text(_local_haproxy_config(ports, balanced[1], stats))
            processes["haproxy"] = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            up = {"dimse1": "UP", "dimse2": "UP"}
            wait_until(lambda: _statuses(stats) == up, timeout=15)
        yield Cluster(nodes, processes, balanced, stats)
    finally:
        stop_processes(list(processes.values()))


def _manage(env, *command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _local_haproxy_config(ports: list[int], port: int, stats: str) -> str:
    """deploy/haproxy.cfg with loopback addresses, checks every 0.2 s, and no Docker DNS."""
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    config = re.sub(r"\nresolvers docker\n([ \t]+\S.*\n)+", "\n", config)
    config = config.replace(" resolvers docker", "").replace("inter 5s", "inter 200ms")
    config = config.replace("bind :11112", f"bind 127.0.0.1:{port}")
    stats_port = stats.split(":")[2].split("/")[0]
    config = config.replace("bind :8404", f"bind 127.0.0.1:{stats_port}")
    for number, node_port in enumerate(ports, start=1):
        config = config.replace(f"dimse{number}:11112", f"127.0.0.1:{node_port}")
    return config


def _statuses(stats: str) -> dict[str, str]:
    """Each backend server's status as HAProxy's checks have it ("UP",
    "DOWN", or on the way: "UP 1/2")."""
    try:
        with urllib.request.urlopen(stats, timeout=2) as response:
            text = response.read().decode().lstrip("# ")
    except OSError:
        return {}
    return {
        row["svname"]: row["status"]
        for row in csv.DictReader(io.StringIO(text))
        if row["pxname"] == "ris_dimse" and row["svname"] != "BACKEND"
    }


SCP_STATUS = 5  # UPS event type of an SCP Status Change (PS3.4 Table CC.2.4-1)


def test_a_subscription_through_one_process_hears_changes_through_the_other(cluster):
    subscriber = EventSubscriber(port=free_port())
    subscriber.start()
    remote_ae_add(ae_title="WATCHER", host="127.0.0.1", port=subscriber.port, services=["ups"])
    first, second = (ups_associate(address) for address in cluster.nodes)
    try:
        uid = new_uid()
        assert create(second, uid) == 0x0000
        assert action(first, uid, SUBSCRIBE, ReceivingAE="WATCHER", DeletionLock="TRUE") == 0
        claim = new_uid()
        assert change_state(second, uid, "IN PROGRESS", claim) == 0x0000
        assert n_set(second, uid, completion(), transaction_uid=claim).Status == 0x0000
        assert change_state(second, uid, "COMPLETED", claim) == 0x0000
        wait_until(lambda: len(subscriber.reports) >= 3, timeout=15)
        time.sleep(1)  # time enough for a duplicate to arrive
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


def test_a_claim_race_across_two_processes_has_one_winner(cluster):
    uids = [new_uid() for _ in range(10)]
    for uid in uids:
        ups_create(sop_instance_uid=uid, attributes=workitem())
    performers = [
        ups_associate(address, f"PERFORMER{n}") for n, address in enumerate(cluster.nodes)
    ]
    try:
        outcomes = claim_race(performers, uids)
    finally:
        for assoc in performers:
            assoc.release()
    assert [sorted(pair) for pair in outcomes] == [[0x0000, 0xC301]] * len(uids)


def test_a_worklist_query_gets_the_same_answer_from_each_process_and_through_haproxy(cluster):
    station = StationFactory(ae_title="CT1")
    for _ in range(3):
        ScheduledProcedureStepFactory(station=station)
    addresses = [*cluster.nodes, *([cluster.balanced] * 4 if cluster.balanced else [])]
    answers = [
        [match.to_json_dict() for match in matches(mwl_find(address, station_query("CT1"), "CT1"))]
        for address in addresses
    ]
    assert len(answers[0]) == 3
    assert all(answer == answers[0] for answer in answers)


@pytest.mark.skipif(not HAPROXY, reason="haproxy is not installed")
def test_haproxy_takes_a_killed_process_out_and_nothing_is_lost(cluster, pacs):
    """An MPPS begun through the first process, which is then killed. At once,
    before any check has failed, modalities calling HAProxy are served by the
    second process (a refused connection is redispatched); the check then
    takes the first out. The modality completes its step, and the dispatcher
    forwards both messages to the PACS."""
    pacs.start()
    remote_ae_add(ae_title="PACS", host="127.0.0.1", port=pacs.port, forward_mpps=True)
    uid = str(generate_uid())
    modality = Modality(cluster.nodes[0])
    status, _ = modality.create(in_progress(), uid)
    assert status.Status == 0x0000
    modality.assoc.abort()
    cluster.processes["dimse1"].send_signal(signal.SIGKILL)
    cluster.processes["dimse1"].wait(timeout=10)

    for _ in range(4):  # leastconn would send the first to the idle, dead process
        assoc = associate(cluster.balanced)
        assert assoc.is_established
        assoc.release()
    change = Dataset()
    change.PerformedProcedureStepDescription = "CT chest"
    modality = Modality(cluster.balanced)
    try:
        assert modality.set(uid, change).Status == 0x0000
    finally:
        modality.release()
    wait_until(lambda: _statuses(cluster.stats) == {"dimse1": "DOWN", "dimse2": "UP"})
    wait_until(lambda: len(pacs.received) >= 2, timeout=15)
    assert [(r.operation, r.sop_instance_uid) for r in pacs.received] == [
        (N_CREATE, uid),
        (N_SET, uid),
    ]
    performed = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert performed.status == "IN PROGRESS"
