"""Several `manage.py dimse` processes on one port (RIS_DIMSE_REUSE_PORT): the
kernel spreads the associations over them, and each answers the same."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom import Dataset

from tests.dimse_helpers import free_port, matches, mwl_find, wait_until
from tests.factories import ScheduledProcedureStepFactory
from tests.process_helpers import ROOT, database_url, stop_processes

pytestmark = pytest.mark.django_db(transaction=True)


def start(port: int, log: Path, *options: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
        "RIS_DIMSE_ACCEPT_ANY_AE": "1",
        "LOG_LEVEL": "INFO",
        "DJANGO_SETTINGS_MODULE": "ris.settings",
    }
    command = [sys.executable, "manage.py", "dimse", "--port", str(port), "--bind", "127.0.0.1"]
    with log.open("w") as output:
        return subprocess.Popen(
            [*command, "--no-dispatch", *options],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def any_step() -> Dataset:
    identifier = Dataset()
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    return identifier


def test_two_processes_share_the_port_and_give_the_same_answers(tmp_path):
    step = ScheduledProcedureStepFactory()
    port = free_port()
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes = [start(port, log, "--reuse-port") for log in logs]
    try:
        for log in logs:
            wait_until(lambda log=log: "listening" in log.read_text(), timeout=30)
        answers = set()
        for _ in range(30):
            [response] = matches(mwl_find(("127.0.0.1", port), any_step()))
            answers.add(response.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID)
        queried = ["MWL C-FIND from" in log.read_text() for log in logs]
    finally:
        stop_processes(processes)
    assert answers == {step.sps_id}
    assert queried == [True, True]  # 30 connections all to one of two: odds of 2 in 2**30


def test_without_reuse_port_a_second_process_cannot_take_the_port(tmp_path):
    port = free_port()
    first = start(port, tmp_path / "first.log")
    try:
        wait_until(lambda: "listening" in (tmp_path / "first.log").read_text(), timeout=30)
        second = start(port, tmp_path / "second.log")
        assert second.wait(timeout=30) != 0
        assert "Cannot listen on 127.0.0.1" in (tmp_path / "second.log").read_text()
    finally:
        stop_processes([first])
