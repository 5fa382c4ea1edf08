"""The dispatcher tests' shared pieces: MPPS queued for forwarding, and the
management commands run as real processes, each on its own SQLite file."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection
from pydicom import Dataset
from pydicom.uid import generate_uid

from ris.nodes.selectors import mpps_destinations
from ris.outbox.models import Channel
from ris.outbox.payloads import dicom_payload
from ris.outbox.services import outbox_enqueue
from tests.dimse_helpers import MPPS, associate, wait_until

ROOT = Path(__file__).resolve().parent.parent

# --- MPPS forwarding, in this process ---------------------------------------------------


def mpps_created(uid: str) -> Dataset:
    """An N-CREATE Attribute List: IN PROGRESS, with a name outside ASCII."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "P000001"
    step = Dataset()
    step.StudyInstanceUID = generate_uid()
    step.AccessionNumber = "A000001"
    step.ScheduledProcedureStepID = "SPS1"
    ds.ScheduledStepAttributesSequence = [step]
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "CT1"
    ds.PerformedProcedureStepStartDate = "20260101"
    ds.PerformedProcedureStepStartTime = "101500"
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.Modality = "CT"
    return ds


def forward_mpps(operation: str, uid: str, dataset: Dataset) -> None:
    """What the MPPS service does with each N-CREATE and N-SET it accepts."""
    payload = dicom_payload(
        operation=operation, sop_class_uid=MPPS, sop_instance_uid=uid, dataset=dataset
    )
    for destination in mpps_destinations():
        outbox_enqueue(channel=Channel.DICOM, destination=destination.ae_title, payload=payload)


# --- The commands, as processes -----------------------------------------------------------

PREPARE = """
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
"""

# argv[1]: the port of the PACS that MPPS is forwarded to.
ENQUEUE = """
import sys, django; django.setup()
from django.db import connection
from pydicom import Dataset
from ris.nodes.services import remote_ae_add
from ris.outbox.payloads import dicom_payload
from ris.outbox.services import outbox_enqueue
remote_ae_add(ae_title="PACS", host="127.0.0.1", port=int(sys.argv[1]), forward_mpps=True)
dataset = Dataset()
dataset.PerformedProcedureStepStatus = "IN PROGRESS"
payload = dicom_payload(operation="N-CREATE", sop_class_uid="1.2.840.10008.3.1.2.3.3",
                        sop_instance_uid="1.2.3.4", dataset=dataset)
outbox_enqueue(channel="dicom", destination="PACS", payload=payload)
"""


def command_environment(var_dir: Path) -> dict:
    env = {**os.environ, "DEBUG": "1", "RIS_VAR_DIR": str(var_dir)}
    env["DJANGO_SETTINGS_MODULE"] = "ris.settings"
    env.pop("DATABASE_URL", None)  # the commands run on their own SQLite file
    return env


def run_python(code: str, var_dir: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=command_environment(var_dir),
        check=True,
        timeout=60,
    )


def migrated_database(tmp_path_factory, var_dir: Path) -> Path:
    """`var_dir` with a copy of an SQLite database with the schema, made once a session."""
    template = tmp_path_factory.getbasetemp() / "migrated" / "ris.sqlite3"
    if not template.exists():
        # Migrated aside, then moved: a failed migration leaves no template behind.
        folder = tmp_path_factory.mktemp("migrating")
        run_python(PREPARE, folder)
        folder.rename(template.parent)
    shutil.copy(template, var_dir / "ris.sqlite3")
    return var_dir


def database_url() -> str:
    """The test database, for processes to share with this one."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    return f"postgres://{settings['USER']}@{host}:{port}/{settings['NAME']}"


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each, then wait for all; kill those that do not stop in 30 s."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def run_until_sigterm(command: list[str], var_dir: Path, until) -> str:
    """Run `manage.py COMMAND` until `until()` holds, then SIGTERM it; its output."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=command_environment(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(until, timeout=15)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, output
    return output


def wait_for_dicom_service(address, timeout: float = 30) -> None:
    """Until the DICOM service at `address` accepts an association."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assoc = associate(address)
        if assoc.is_established:
            assoc.release()
            return
        time.sleep(0.1)
    raise AssertionError(f"no DICOM service on {address}")
