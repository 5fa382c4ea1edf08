"""A department's mixed DICOM traffic at once: worklist, MPPS, UPS and events.

1. Drops and creates the PostgreSQL database ris_bench_mixed, migrates it,
   seeds today's worklist (`seed_demo`), and starts the RIS DICOM service
   (`manage.py dimse`, with its dispatcher) on loopback. A stand-in PACS
   receives the forwarded MPPS, and --watchers UPS Event SCUs subscribe
   globally.
2. All at once: --modalities modalities each do --exams exams (a new
   association: a worklist query, MPPS N-CREATE IN PROGRESS, N-SET COMPLETED,
   release), and --performers UPS performers each do --workitems workitems
   (a new association: N-CREATE, UPS C-FIND on the Pull context, N-ACTION
   claim, N-GET, N-SET of the final attributes, N-ACTION COMPLETED, release).
3. Prints, per operation, the count, failures, p50, p99 and the worst as the
   client saw them; the throughput; how long after the last operation every
   forward reached the PACS and every watcher had every state change; and
   the PostgreSQL connections to the database before, at the peak and after.
   Exits non-zero if an operation failed, something was not delivered, or
   the connections did not come back to their number before.

    .venv/bin/python bench/mixed_load.py [--modalities 20] [--exams 10]
                                         [--performers 10] [--workitems 10] [--watchers 5]

Only the database named in --database-url (its name must contain "bench") is
dropped and created, and it is dropped at the end; only loopback is used.
"""

import argparse
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
)

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.dicom_clients import associate, service  # noqa: E402  (after the path is set)
from bench.mwl_latency import HOST, free_port, manage  # noqa: E402
from bench.mwl_load import Peak, connections, modality_query, percentile  # noqa: E402
from bench.ups_fanout import (  # noqa: E402
    CHANGE_STATE,
    Subscriber,
    mpps_completed,
    mpps_in_progress,
    subscribe,
    workitem,
)

SUCCESS_OR_WARNING = {0x0000, 0x0001, 0xB300, 0xB304, 0xB306}


class Timings:
    """Each operation's seconds and failures, from every client thread."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def time(self, name: str, send) -> object:
        """Call send(); it returns (status, data set); the data set is returned."""
        began = time.perf_counter()
        try:
            status, dataset = send()
            ok = status is not None and int(status.Status) in SUCCESS_OR_WARNING
        except Exception:  # a dropped association counts as a failure, not a crash
            ok, dataset = False, None
        with self._lock:
            self.seconds[name].append(time.perf_counter() - began)
            if not ok:
                self.failures[name] += 1
        return dataset


class Pacs:
    """The MPPS forwarding destination: counts what it receives."""

    def __init__(self):
        self.port, self.received = free_port(), 0
        ae = AE(ae_title="PACS")
        ae.add_supported_context(ModalityPerformedProcedureStep)
        handlers = [(evt.EVT_N_CREATE, self._take), (evt.EVT_N_SET, self._take)]
        self.server = ae.start_server((HOST, self.port), block=False, evt_handlers=handlers)

    def _take(self, event):
        self.received += 1
        return 0x0000, None

    def stop(self) -> None:
        self.server.shutdown()


def exam(port: int, timings: Timings) -> None:
    """One exam as a modality runs it: worklist, MPPS start and end."""
    assoc = associate(
        port, ModalityWorklistInformationFind, ModalityPerformedProcedureStep, ae_title="CT1"
    )
    query = modality_query()
    worklist = ModalityWorklistInformationFind
    timings.time("MWL C-FIND", lambda: _last(assoc.send_c_find(query, worklist)))
    uid = generate_uid()
    mpps = ModalityPerformedProcedureStep
    timings.time("MPPS N-CREATE", lambda: assoc.send_n_create(mpps_in_progress(), mpps, uid))
    timings.time("MPPS N-SET", lambda: assoc.send_n_set(mpps_completed(), mpps, uid))
    assoc.release()


def _last(responses) -> tuple:
    """A C-FIND's final response (status, identifier)."""
    *_, final = responses
    return final


def performance(port: int, timings: Timings) -> str:
    """One workitem through a performer's hands, SCHEDULED to COMPLETED; its UID."""
    uid = str(generate_uid())
    push, pull = UnifiedProcedureStepPush, UnifiedProcedureStepPull
    assoc = associate(port, push, pull, ae_title="PERFORMER")
    timings.time("UPS N-CREATE", lambda: assoc.send_n_create(workitem(), push, uid))
    timings.time("UPS C-FIND", lambda: _last(assoc.send_c_find(_scheduled_query(), pull)))
    transaction = generate_uid()
    claim = _state("IN PROGRESS", transaction)
    timings.time("UPS N-ACTION claim", lambda: assoc.send_n_action(claim, CHANGE_STATE, pull, uid))
    timings.time("UPS N-GET", lambda: assoc.send_n_get([0x00741000], push, uid))
    final = _final_attributes(transaction)
    timings.time("UPS N-SET", lambda: assoc.send_n_set(final, push, uid))
    done = _state("COMPLETED", transaction)
    timings.time(
        "UPS N-ACTION complete", lambda: assoc.send_n_action(done, CHANGE_STATE, pull, uid)
    )
    assoc.release()
    return uid


def _scheduled_query() -> Dataset:
    query = Dataset()
    query.ProcedureStepState = "SCHEDULED"
    query.WorklistLabel = "CAD"
    query.SOPInstanceUID = ""
    query.ProcedureStepLabel = ""
    return query


def _state(state: str, transaction: str) -> Dataset:
    info = Dataset()
    info.ProcedureStepState = state
    info.TransactionUID = transaction
    return info


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def _final_attributes(transaction: str) -> Dataset:
    """What COMPLETED requires (PS3.4 CC.2.5.1.3), with the claim's Transaction UID."""
    performed = Dataset()
    performed.PerformedStationNameCodeSequence = [_code("CAD1", "99RIS", "CAD server")]
    performed.PerformedProcedureStepStartDateTime = time.strftime("%Y%m%d%H%M%S")
    performed.PerformedProcedureStepEndDateTime = time.strftime("%Y%m%d%H%M%S")
    performed.PerformedWorkitemCodeSequence = [_code("CAD-LUNG", "99RIS", "Lung CAD")]
    performed.OutputInformationSequence = []
    ds = Dataset()
    ds.TransactionUID = transaction
    ds.UnifiedProcedureStepPerformedProcedureSequence = [performed]
    return ds


def run(args, port: int, env: dict) -> bool:
    """Two rounds of the same load. The first fills the connection pool to the
    size it keeps; a leak would show as more connections after the second."""
    pacs = Pacs()
    manage(env, "ae", "add", "PACS", "--host", HOST, "--port", str(pacs.port), "--forward-mpps")
    watchers = [Subscriber(f"WATCH{number + 1}") for number in range(args.watchers)]
    for watcher in watchers:
        manage(env, "ae", "add", watcher.ae_title, "--host", HOST, "--port", str(watcher.port))
    subscribe(port, watchers)
    time.sleep(2)  # the subscriptions' own events are out
    counts = [connections(args.database_url)]
    passed = True
    try:
        for number in (1, 2):
            peak = Peak(args.database_url)
            timings, elapsed, uids = one_round(args, port)
            forwards = 2 * args.modalities * args.exams * number
            delivered = _wait_for_delivery(pacs, watchers, uids, forwards)
            peak.stop()
            time.sleep(2)  # the service closes each association's connection as it ends
            counts += [peak.most, connections(args.database_url)]
            passed &= report(args, number, timings, elapsed, delivered)
    finally:
        pacs.stop()
        for watcher in watchers:
            watcher.stop()
    before, _, after_first, _, after_second = counts
    print(
        f"\nPostgreSQL connections: {before} before, {counts[1]} at the first round's peak,"
        f" {after_first} after it; {counts[3]} at the second's peak, {after_second} after it"
    )
    if after_second > after_first:
        print("  MORE CONNECTIONS after the second round than after the first: a leak")
    return passed and after_second <= after_first


def one_round(args, port: int) -> tuple["Timings", float, list[str]]:
    timings = Timings()
    began = time.perf_counter()
    with ThreadPoolExecutor(args.modalities + args.performers) as pool:
        exams = [
            pool.submit(_repeat, exam, args.exams, port, timings) for _ in range(args.modalities)
        ]
        works = [
            pool.submit(_repeat, performance, args.workitems, port, timings)
            for _ in range(args.performers)
        ]
        for future in exams:
            future.result()
        uids = [uid for future in works for uid in future.result()]
    return timings, time.perf_counter() - began, uids


def _repeat(work, times: int, port: int, timings: Timings) -> list:
    return [work(port, timings) for _ in range(times)]


def _wait_for_delivery(pacs: Pacs, watchers: list, uids: list[str], forwards: int):
    """(seconds until everything was delivered or None after two minutes,
    forwards the PACS has received)."""
    began, deadline = time.perf_counter(), time.monotonic() + 120
    expected = {(uid, state) for uid in uids for state in ("IN PROGRESS", "COMPLETED")}
    while time.monotonic() < deadline:
        heard = all(expected <= watcher.heard.keys() for watcher in watchers)
        if heard and pacs.received >= forwards:
            return time.perf_counter() - began, pacs.received
        time.sleep(0.05)
    return None, pacs.received


def report(args, number: int, timings: Timings, elapsed: float, delivered) -> bool:
    operations = sum(len(seconds) for seconds in timings.seconds.values())
    failures = sum(timings.failures.values())
    print(
        f"\nMixed load, round {number}: {args.modalities} modalities x {args.exams} exams and "
        f"{args.performers} UPS performers x {args.workitems} workitems at once, "
        f"{args.watchers} watchers subscribed globally"
    )
    print(f"{'operation':<24} {'count':>6} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'worst':>8}")
    for name, seconds in timings.seconds.items():
        ordered = sorted(seconds)
        print(
            f"{name:<24} {len(ordered):>6} {timings.failures[name]:>6}"
            f" {percentile(ordered, 50):>8.1f} {percentile(ordered, 99):>8.1f}"
            f" {ordered[-1] * 1000:>8.1f}"
        )
    print(
        f"  {operations} operations, {failures} failed, in {elapsed:.1f} s:"
        f" {operations / elapsed:.1f} per second"
    )
    seconds, forwarded = delivered
    if seconds is None:
        print(f"  NOT DELIVERED within 2 minutes ({forwarded} forwards reached the PACS)")
    else:
        print(
            f"  every MPPS forward (all {forwarded} so far) and every state change to every"
            f" watcher delivered {seconds:.1f} s after the round's last operation"
        )
    return failures == 0 and seconds is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modalities", type=int, default=20)
    parser.add_argument("--exams", type=int, default=10)
    parser.add_argument("--performers", type=int, default=10)
    parser.add_argument("--workitems", type=int, default=10)
    parser.add_argument("--watchers", type=int, default=5)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/ris_bench_mixed"
    )
    args = parser.parse_args()
    seed = ("--procedures", "200", "--days", "1", "--seed", "1")
    with service(args.database_url, seed=seed, RIS_OUTBOX_POLL_INTERVAL="0.2") as (port, _, env):
        passed = run(args, port, env)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
