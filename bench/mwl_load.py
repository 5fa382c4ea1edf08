"""The worklist under load, and the DICOM process's memory across many associations.

1. Drops and creates the PostgreSQL database ris_bench_load, migrates it and
   seeds --steps scheduled steps (`seed_demo --seed 1`, 200 a day), and starts
   the RIS DICOM service (`manage.py dimse`) on loopback.
2. Load: --clients modalities each open one association and make --queries
   modality worklist queries on it (one station, today, the usual return keys),
   all starting together, each query timed as the client sees it. The clients
   are coroutines on one asyncio loop (bench/async_clients.py), or with
   --client pynetdicom a process each with a pynetdicom association (two
   polling threads apiece, which on the service's own cores cost more CPU
   than the service). Prints the
   failures, p50, p90, p99 and the worst, the throughput, and the number of
   PostgreSQL connections to the database before, at the peak and after.
3. Idle: as many associations opened and left silent; the service's CPU
   over ten seconds, in cores.
4. Memory: --associations associations one after another, each one C-FIND and
   a release; the resident memory of the service (VmRSS) every tenth of the
   way, and its growth from the first tenth to the end.

    .venv/bin/python bench/mwl_load.py [--clients 50] [--queries 100] [--associations 10000]
                                       [--client async|pynetdicom]

Only the database named in --database-url (its name must contain "bench") is
dropped and created, and it is dropped at the end; only loopback is used.
"""

import argparse
import asyncio
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from pynetdicom.sop_class import ModalityWorklistInformationFind  # noqa: E402

from bench.async_clients import Association  # noqa: E402  (after the path is set)
from bench.dicom_clients import associate, service  # noqa: E402
from bench.mwl_latency import AE_TITLE, HOST, connect  # noqa: E402

STATION = "CT1"


def modality_query():
    """What a CT modality asks at the start of a shift (as bench/mwl_latency.py's findscu)."""
    from pydicom import Dataset

    item = Dataset()
    item.ScheduledStationAETitle = STATION
    item.ScheduledProcedureStepStartDate = time.strftime("%Y%m%d")
    item.ScheduledProcedureStepStartTime = ""
    item.Modality = ""
    item.ScheduledProcedureStepID = ""
    item.ScheduledProcedureStepDescription = ""
    query = Dataset()
    query.PatientName = ""
    query.PatientID = ""
    query.PatientBirthDate = ""
    query.PatientSex = ""
    query.AccessionNumber = ""
    query.StudyInstanceUID = ""
    query.RequestedProcedureID = ""
    query.RequestedProcedureDescription = ""
    query.ScheduledProcedureStepSequence = [item]
    return query


def find(assoc, query) -> tuple[float, int, int]:
    """Seconds, matches and the final status of one C-FIND."""
    began = time.perf_counter()
    matches, final = 0, -1
    for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind):
        final = int(status.Status) if status else -1
        matches += final in (0xFF00, 0xFF01)
    return time.perf_counter() - began, matches, final


def one_client(port: int, queries: int, start: "multiprocessing.Barrier", results) -> None:
    """One modality: an association, `queries` C-FINDs on it, the timings reported."""
    query = modality_query()
    start.wait()
    try:
        assoc = associate(port, ModalityWorklistInformationFind, ae_title=STATION)
    except RuntimeError:
        results.put(("refused", [], queries))
        return
    timings, failures = [], 0
    for _ in range(queries):
        seconds, _, final = find(assoc, query)
        timings.append(seconds)
        failures += final != 0x0000
    assoc.release()
    results.put(("done", timings, failures))


def pynetdicom_clients(port: int, clients: int, queries: int) -> list:
    """Each client a process with a pynetdicom association, all starting together."""
    start = multiprocessing.Barrier(clients + 1)
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=one_client, args=(port, queries, start, results))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    outcomes = [results.get(timeout=1800) for _ in workers]
    for worker in workers:
        worker.join()
    return outcomes


def async_clients(port: int, clients: int, queries: int) -> list:
    """Each client a coroutine with its association (bench/async_clients.py), all on
    one event loop in this process: light enough to leave the cores to the service."""
    query = modality_query()

    async def one_modality():
        try:
            assoc = await Association.open(HOST, port, AE_TITLE, STATION)
        except ConnectionError:
            return "refused", [], queries
        timings, failures = [], 0
        for _ in range(queries):
            seconds, _, final = await assoc.find(query)
            timings.append(seconds)
            failures += final != 0x0000
        await assoc.release()
        return "done", timings, failures

    async def all_modalities():
        return await asyncio.gather(*(one_modality() for _ in range(clients)))

    return asyncio.run(all_modalities())


CLIENTS = {"async": async_clients, "pynetdicom": pynetdicom_clients}


def load(port: int, clients: int, queries: int, database_url: str, kind: str) -> None:
    before = connections(database_url)
    peak = Peak(database_url)
    began = time.perf_counter()
    outcomes = CLIENTS[kind](port, clients, queries)
    elapsed = time.perf_counter() - began
    peak.stop()
    time.sleep(2)  # the service closes each association's connection as it ends
    after = connections(database_url)
    timings = sorted(seconds for _, series, _ in outcomes for seconds in series)
    failures = sum(failed for _, _, failed in outcomes)
    refused = sum(outcome == "refused" for outcome, _, _ in outcomes)
    print(f"\nLoad: {clients} associations at once, {queries} queries each ({kind} clients)")
    print(
        f"  queries answered: {len(timings):,}; failed: {failures}; associations refused: {refused}"
    )
    print(
        f"  latency p50 {percentile(timings, 50):.1f} ms, p90 {percentile(timings, 90):.1f} ms,"
        f" p99 {percentile(timings, 99):.1f} ms, worst {timings[-1] * 1000:.1f} ms"
    )
    print(f"  throughput {len(timings) / elapsed:.0f} queries/s over {elapsed:.1f} s")
    print(f"  PostgreSQL connections: {before} before, {peak.most} at the peak, {after} after")


def percentile(sorted_seconds: list[float], percent: int) -> float:
    index = min(len(sorted_seconds) - 1, round(percent / 100 * (len(sorted_seconds) - 1)))
    return sorted_seconds[index] * 1000


def connections(database_url: str) -> int:
    name = database_url.rsplit("/", 1)[1]
    with connect(database_url, "postgres") as admin:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        return admin.execute(query, (name,)).fetchone()[0]


class Peak:
    """The most connections seen, sampled every 0.2 s in a thread."""

    def __init__(self, database_url: str):
        self.most, self._done = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(database_url,), daemon=True)
        self._thread.start()

    def _sample(self, database_url: str) -> None:
        while not self._done.wait(0.2):
            self.most = max(self.most, connections(database_url))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def memory(port: int, pid: int, associations: int) -> None:
    query = modality_query()
    every = max(1, associations // 10)
    samples = []
    print(f"\nMemory: {associations:,} associations one after another (C-FIND, release)")
    began = time.perf_counter()
    for number in range(1, associations + 1):
        assoc = associate(port, ModalityWorklistInformationFind, ae_title=STATION)
        find(assoc, query)
        assoc.release()
        if number % every == 0:
            samples.append((number, resident_mib(pid)))
            print(f"  after {number:>6,}: {samples[-1][1]:6.1f} MiB")
    first, last = samples[0][1], samples[-1][1]
    print(
        f"  growth from {samples[0][0]:,} to {samples[-1][0]:,} associations: "
        f"{last - first:+.1f} MiB ({(last - first) / first:+.1%}); "
        f"{associations / (time.perf_counter() - began):.0f} associations/s"
    )


def idle(port: int, pid: int, clients: int, seconds: float = 10) -> None:
    """The service's CPU while `clients` associations are open and silent."""

    async def hold_open():
        associations = [
            await Association.open(HOST, port, AE_TITLE, STATION) for _ in range(clients)
        ]
        await asyncio.sleep(2)  # past any start-up work of the associations
        began, cpu = time.perf_counter(), cpu_seconds(pid)
        await asyncio.sleep(seconds)
        used = (cpu_seconds(pid) - cpu) / (time.perf_counter() - began)
        for association in associations:
            await association.release()
        return used

    cores = asyncio.run(hold_open())
    print(f"\nIdle: {clients} associations open and silent for {seconds:.0f} s")
    print(f"  the service's CPU: {cores:.3f} of a core")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--associations", type=int, default=10_000)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="service processes sharing the port (RIS_DIMSE_REUSE_PORT); default 1",
    )
    parser.add_argument(
        "--client",
        choices=sorted(CLIENTS),
        default="async",
        help="asyncio coroutines in one process (default), or a pynetdicom process each",
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/ris_bench_load"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures as they come, also into a file
    days = max(1, args.steps // 200)
    seed = ["--procedures", str(args.steps), "--days", str(days), "--seed", "1"]
    with service(args.database_url, seed=seed, processes=args.processes) as (port, pid, _):
        print(
            f"{args.steps:,} scheduled steps; {args.processes} service process(es) on port "
            f"{port}, the first pid {pid}"
        )
        load(port, args.clients, args.queries, args.database_url, args.client)
        idle(port, pid, args.clients)
        if args.associations:
            memory(port, pid, args.associations)


if __name__ == "__main__":
    main()
