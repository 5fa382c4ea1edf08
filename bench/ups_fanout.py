"""UPS events fanned out, and MPPS pairs, end to end through the real service.

1. Drops and creates the PostgreSQL database ris_bench_ups, migrates it, and
   starts the RIS DICOM service (`manage.py dimse`, with its event dispatcher)
   on loopback.
2. MPPS: --pairs N-CREATE + N-SET (IN PROGRESS, then COMPLETED) of an
   unscheduled exam on one association, then the same spread over --mpps-clients
   associations at once; pairs per second, and the growth of the pair's time
   as performed steps pile up (first tenth against last tenth).
3. UPS: for each count in --subscribers (1, 10, 50), that many UPS Event SCUs
   listen on loopback, are registered as remote AEs and subscribe globally;
   then --rounds times a workitem is created and claimed (N-ACTION to IN
   PROGRESS), and the time from the claim's request to each subscriber's State
   Report IN PROGRESS is taken. Prints the median of the first and of the last
   subscriber to hear it, per count, with the workitems on the worklist.

All of it once for each size in --backlog (0, 10,000): a fresh database
holding that many completed workitems and as many completed MPPS
(bench/backlog.py, through the RIS's own services) before the service
starts, as a department's history grows.

    .venv/bin/python bench/ups_fanout.py [--subscribers 1,10,50] [--rounds 5] [--pairs 200] \
        [--backlog 0,10000]

Only the database named in --database-url (its name must contain "bench") is
dropped and created, and it is dropped at the end; only loopback is used.
"""

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    UnifiedProcedureStepEvent,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepWatch,
    Verification,
)

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.dicom_clients import associate, service  # noqa: E402  (after the path is set)
from bench.mwl_latency import (  # noqa: E402
    HOST,
    analyze,
    free_port,
    manage,
    run,
)

GLOBAL_SUBSCRIPTION = "1.2.840.10008.5.1.4.34.5"
SUBSCRIBE, CHANGE_STATE = 3, 1


# --- MPPS ---------------------------------------------------------------------


def mpps_in_progress() -> Dataset:
    """An unscheduled exam's N-CREATE (PS3.4 F.7.2.1), as a modality sends it."""
    item = Dataset()
    item.StudyInstanceUID = generate_uid()
    item.ReferencedStudySequence = []
    item.AccessionNumber = ""
    item.RequestedProcedureID = ""
    item.RequestedProcedureDescription = ""
    item.ScheduledProcedureStepID = ""
    item.ScheduledProcedureStepDescription = ""
    item.ScheduledProtocolCodeSequence = []
    ds = Dataset()
    ds.ScheduledStepAttributesSequence = [item]
    ds.PatientName = "Bench^Patient"
    ds.PatientID = "BENCH1"
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "CT1"
    ds.PerformedStationName = ""
    ds.PerformedLocation = ""
    ds.PerformedProcedureStepStartDate = time.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = time.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = ""
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = "CT"
    ds.StudyID = ""
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    return ds


def mpps_completed() -> Dataset:
    series = Dataset()
    series.PerformingPhysicianName = ""
    series.ProtocolName = "Routine"
    series.OperatorsName = ""
    series.SeriesInstanceUID = generate_uid()
    series.SeriesDescription = ""
    series.RetrieveAETitle = ""
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image.ReferencedSOPInstanceUID = generate_uid()
    series.ReferencedImageSequence = [image]
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.PerformedProcedureStepEndDate = time.strftime("%Y%m%d")
    ds.PerformedProcedureStepEndTime = time.strftime("%H%M%S")
    ds.PerformedSeriesSequence = [series]
    return ds


def mpps_pairs(port: int, pairs: int) -> list[float]:
    """Seconds of each N-CREATE + N-SET pair on one association."""
    assoc = associate(port, ModalityPerformedProcedureStep, ae_title="CT1")
    seconds = []
    for _ in range(pairs):
        uid = generate_uid()
        began = time.perf_counter()
        created, _ = assoc.send_n_create(mpps_in_progress(), ModalityPerformedProcedureStep, uid)
        done, _ = assoc.send_n_set(mpps_completed(), ModalityPerformedProcedureStep, uid)
        seconds.append(time.perf_counter() - began)
        if int(created.Status) != 0 or int(done.Status) != 0:
            raise RuntimeError(f"MPPS refused: {created.Status:04X} {done.Status:04X}")
    assoc.release()
    return seconds


def measure_mpps(port: int, pairs: int, clients: int) -> None:
    one = mpps_pairs(port, pairs)
    tenth = max(1, pairs // 10)
    print(f"\nMPPS: {pairs} N-CREATE + N-SET pairs on one association")
    print(
        f"  {pairs / sum(one):.1f} pairs/s; a pair's median {statistics.median(one) * 1000:.1f} ms"
        f" over the first tenth, {statistics.median(one[-tenth:]) * 1000:.1f} ms over the last"
    )
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: mpps_pairs(port, pairs // clients), range(clients)))
    elapsed = time.perf_counter() - began
    print(
        f"  {clients} associations at once, {pairs // clients} pairs each: "
        f"{clients * (pairs // clients) / elapsed:.1f} pairs/s"
    )


# --- UPS ----------------------------------------------------------------------


class Subscriber:
    """A UPS Event SCU on loopback, noting when each State Report arrives."""

    def __init__(self, ae_title: str):
        self.ae_title, self.port = ae_title, free_port()
        self.heard: dict[tuple[str, str], float] = {}
        ae = AE(ae_title=ae_title)
        ae.add_supported_context(Verification)
        # The RIS proposes itself as the SCP of UPS Event (PS3.7 D.3.3.4).
        ae.add_supported_context(UnifiedProcedureStepEvent, scu_role=False, scp_role=True)
        self.server = ae.start_server(
            (HOST, self.port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, self._report)]
        )

    def _report(self, event):
        state = event.event_information.get("ProcedureStepState", "")
        key = (str(event.request.AffectedSOPInstanceUID), state)
        self.heard.setdefault(key, time.perf_counter())
        return 0x0000, None

    def stop(self) -> None:
        self.server.shutdown()


def workitem() -> Dataset:
    ds = Dataset()
    ds.ScheduledProcedureStepPriority = "MEDIUM"
    ds.ProcedureStepLabel = "Bench CAD"
    ds.WorklistLabel = "CAD"
    ds.ScheduledProcedureStepStartDateTime = time.strftime("%Y%m%d%H%M%S")
    ds.InputReadinessState = "READY"
    ds.ProcedureStepState = "SCHEDULED"
    ds.PatientName = "Bench^Patient"
    ds.PatientID = "BENCH1"
    ds.ScheduledWorkitemCodeSequence = []
    ds.ScheduledStationNameCodeSequence = []
    ds.ProcedureStepProgressInformationSequence = []
    ds.UnifiedProcedureStepPerformedProcedureSequence = []
    return ds


def subscribe(port: int, subscribers: list[Subscriber]) -> None:
    assoc = associate(port, UnifiedProcedureStepWatch)
    for subscriber in subscribers:
        info = Dataset()
        info.ReceivingAE = subscriber.ae_title
        info.DeletionLock = "FALSE"
        status, _ = assoc.send_n_action(
            info, SUBSCRIBE, UnifiedProcedureStepWatch, GLOBAL_SUBSCRIPTION
        )
        if int(status.Status) not in (0x0000, 0xB304):
            raise RuntimeError(f"subscribe refused: {int(status.Status):04X}")
    assoc.release()


def fanout_round(port: int, subscribers: list[Subscriber]) -> tuple[float, float]:
    """Create and claim a workitem; seconds until the first and the last hear IN PROGRESS."""
    uid = str(generate_uid())
    assoc = associate(
        port, UnifiedProcedureStepPush, UnifiedProcedureStepPull, ae_title="PERFORMER"
    )
    status, _ = assoc.send_n_create(workitem(), UnifiedProcedureStepPush, uid)
    info = Dataset()
    info.ProcedureStepState = "IN PROGRESS"
    info.TransactionUID = generate_uid()
    claimed_at = time.perf_counter()
    claimed, _ = assoc.send_n_action(info, CHANGE_STATE, UnifiedProcedureStepPull, uid)
    assoc.release()
    if int(status.Status) != 0 or int(claimed.Status) != 0:
        raise RuntimeError(f"UPS refused: {int(status.Status):04X} {int(claimed.Status):04X}")
    deadline = time.monotonic() + 120
    key = (uid, "IN PROGRESS")
    while not all(key in subscriber.heard for subscriber in subscribers):
        if time.monotonic() > deadline:
            raise RuntimeError("not every subscriber heard the claim within 120 s")
        time.sleep(0.002)
    heard = sorted(subscriber.heard[key] - claimed_at for subscriber in subscribers)
    return heard[0], heard[-1]


def measure_ups(port: int, env: dict, counts: list[int], rounds: int) -> None:
    print("\nUPS: a workitem claimed; time from the claim to its State Report IN PROGRESS")
    print(
        f"{'subscribers':>12} {'workitems':>10} {'first ms':>9} {'last ms':>9}"
        f" {'ms/subscriber':>14}"
    )
    subscribers: list[Subscriber] = []
    made = 0
    try:
        for count in counts:
            while len(subscribers) < count:
                subscriber = Subscriber(f"WATCH{len(subscribers) + 1}")
                manage(
                    env,
                    "ae",
                    "add",
                    subscriber.ae_title,
                    "--host",
                    HOST,
                    "--port",
                    str(subscriber.port),
                )
                subscribers.append(subscriber)
            subscribe(port, subscribers)
            times = [fanout_round(port, subscribers) for _ in range(rounds)]
            made += rounds
            first = statistics.median(t[0] for t in times) * 1000
            last = statistics.median(t[1] for t in times) * 1000
            print(f"{count:>12} {made:>10} {first:>9.1f} {last:>9.1f} {last / count:>14.1f}")
    finally:
        for subscriber in subscribers:
            subscriber.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--mpps-clients", type=int, default=10)
    parser.add_argument(
        "--backlog",
        default="0,10000",
        help="completed workitems and MPPS already in the database, per run (default: 0,10000)",
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/ris_bench_ups"
    )
    args = parser.parse_args()
    counts = [int(count) for count in args.subscribers.split(",")]
    for backlog in (int(size) for size in args.backlog.split(",")):
        print(f"\n== {backlog:,} completed workitems and {backlog:,} completed MPPS before")
        # Dispatchers look at the queue every 0.2 s besides PostgreSQL's NOTIFY.
        with service(
            args.database_url,
            prepare=lambda env, size=backlog: fill_backlog(args.database_url, env, size),
            RIS_OUTBOX_POLL_INTERVAL="0.2",
        ) as (port, _, env):
            measure_mpps(port, args.pairs, args.mpps_clients)
            measure_ups(port, env, counts, args.rounds)


def fill_backlog(database_url: str, env: dict, size: int) -> None:
    """The department's history, made before the service starts and analyzed
    (as autovacuum would have by then)."""
    if not size:
        return
    filler = [sys.executable, str(PROJECT / "bench" / "backlog.py")]
    print("  " + run([*filler, "--workitems", str(size), "--mpps", str(size)], env).strip())
    analyze(database_url)


if __name__ == "__main__":
    main()
