"""A department's history for the event benchmarks: work done before.

Workitems and MPPS pile up: a department keeps its finished ones. This fills
a benchmark database with them through the RIS's own services, as the doors
would have: each workitem created, claimed, given what COMPLETED needs and
completed (PS3.4 CC.2.5, CC.2.6, CC.1.1); each MPPS created IN PROGRESS and
set COMPLETED (F.7.2). Run before any subscriber exists, it queues no event.
The workitems are then made a day older: history, gone from the worklist
(RIS_UPS_FINAL_RETENTION) as yesterday's work is. Else a new global
subscriber would be sent an initial State Report for each (CC.2.3.2), as
the standard asks for work finished minutes ago, and the benchmark would
time that queue instead of the claim's.

    python bench/backlog.py --workitems N --mpps N --jobs 2

in the environment of the benchmark's service (DATABASE_URL and the rest:
bench.dicom_clients.service), with `--jobs` processes sharing the work.
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import django
from django.db.models import F
from pydicom import Dataset

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ris.settings")
django.setup()  # before the RIS's models; no connection is opened until a job's first query

from bench.ups_fanout import mpps_completed, mpps_in_progress, workitem  # noqa: E402
from ris.dicom.uids import new_uid  # noqa: E402
from ris.mpps.services import mpps_create, mpps_set  # noqa: E402
from ris.ups.models import Workitem  # noqa: E402
from ris.ups.services import ups_change_state, ups_create, ups_set  # noqa: E402


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "99RIS", meaning
    return item


def completion(claim: str) -> Dataset:
    """The performer's N-SET meeting COMPLETED's final state requirements (CC.2.5.1.3)."""
    stamp = time.strftime("%Y%m%d%H%M%S")
    performed = Dataset()
    performed.PerformedStationNameCodeSequence = [_code("CAD1", "CAD server")]
    performed.PerformedProcedureStepStartDateTime = stamp
    performed.PerformedProcedureStepEndDateTime = stamp
    performed.PerformedWorkitemCodeSequence = [_code("CAD-LUNG", "Lung CAD")]
    performed.OutputInformationSequence = []
    ds = Dataset()
    ds.UnifiedProcedureStepPerformedProcedureSequence = [performed]
    ds.TransactionUID = claim
    return ds


def completed_workitem() -> None:
    uid, claim = new_uid(), new_uid()
    ups_create(sop_instance_uid=uid, attributes=workitem(), created_by="BENCH")
    ups_change_state(sop_instance_uid=uid, requested_state="IN PROGRESS", transaction_uid=claim)
    ups_set(sop_instance_uid=uid, modifications=completion(claim))
    ups_change_state(sop_instance_uid=uid, requested_state="COMPLETED", transaction_uid=claim)


def completed_mpps() -> None:
    uid = new_uid()
    mpps_create(sop_instance_uid=uid, attributes=mpps_in_progress(), calling_ae_title="CT1")
    mpps_set(sop_instance_uid=uid, modifications=mpps_completed())


def age_history() -> None:
    """Completed a day before: out of the worklist, kept for audit."""
    completed = Workitem.objects.filter(created_by="BENCH", final_at__isnull=False)
    completed.update(final_at=F("final_at") - timedelta(days=1))


def fill_share(workitems: int, mpps: int) -> None:
    """One process's share."""
    for _ in range(workitems):
        completed_workitem()
    for _ in range(mpps):
        completed_mpps()


def _shares(total: int, jobs: int) -> list[int]:
    return [total // jobs + (1 if number < total % jobs else 0) for number in range(jobs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workitems", type=int, default=0)
    parser.add_argument("--mpps", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    began = time.perf_counter()
    shares = zip(_shares(args.workitems, args.jobs), _shares(args.mpps, args.jobs), strict=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        for done in [pool.submit(fill_share, *share) for share in shares]:
            done.result()
    age_history()
    print(
        f"{args.workitems:,} completed workitems and {args.mpps:,} completed MPPS"
        f" in {time.perf_counter() - began:.0f} s"
    )


if __name__ == "__main__":
    main()
