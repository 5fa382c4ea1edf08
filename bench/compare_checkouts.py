"""Two checkouts of the RIS side by side: the DICOM service's CPU and findscu's
wall time per query, interleaved, to measure one change against another.

On a shared machine a change of a few milliseconds is lost in the noise
between two runs of mwl_latency.py. Here both versions serve at once, from
the same database, and each round times one client against each, in
alternating order; the CPU each service process spent on the query is read
from /proc (user + system time of all its threads).

    .venv/bin/python bench/compare_checkouts.py BEFORE AFTER \\
        --database-url postgres://postgres@127.0.0.1:5432/ris_bench_prof [--runs 100] [--echo]

BEFORE and AFTER are checkouts (`git worktree add /tmp/before <commit>`); each
runs `manage.py dimse` from its own folder with this project's Python. The
database must hold a schedule already (`manage.py migrate`, then
`manage.py seed_demo --procedures 1000 --days 5 --seed 1`); it is only read.
The client is the latency benchmark's modality query (findscu -W, station
CT1, today) or, with --echo, echoscu. Prints, per checkout, the mean service
CPU per query and the median wall time, and the median of the paired
differences of wall time.
"""

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwl_latency import (
    CALLING_AE_TITLE,
    HOST,
    client_environment,
    echoscu_command,
    findscu_command,
    free_port,
    modality_query,
)

WARM_UP = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_ms(pid: int) -> float:
    """User and system CPU time of a process, all its threads (proc(5): stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS * 1000


def start_service(checkout: Path, port: int, env: dict) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "dimse", "--port", str(port), "--bind", HOST]
    return subprocess.Popen(
        [*command, "--no-dispatch"],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(port: int, service: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"The service on port {port} exited")
        if subprocess.run(echoscu_command(port), capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"The service on port {port} did not answer C-ECHO")


def interleave(services: dict[int, subprocess.Popen], command, runs: int):
    """Per port: the service's CPU and the client's wall time of each timed round."""
    cpu = {port: [] for port in services}
    wall = {port: [] for port in services}
    client_env = client_environment(nodelay=True)
    for round_number in range(WARM_UP + runs):
        order = list(services.items())
        for port, service in order if round_number % 2 else order[::-1]:
            before, started = process_cpu_ms(service.pid), time.perf_counter()
            result = subprocess.run(command(port), env=client_env, capture_output=True)
            elapsed = (time.perf_counter() - started) * 1000
            if result.returncode != 0 or b"E:" in result.stderr:
                raise SystemExit(result.stderr.decode(errors="replace"))
            time.sleep(0.05)  # the service's last turn (the release) is counted too
            if round_number >= WARM_UP:
                cpu[port].append(process_cpu_ms(service.pid) - before)
                wall[port].append(elapsed)
    return cpu, wall


def stop(services: list[subprocess.Popen]) -> None:
    for service in services:
        service.terminate()
        service.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", type=Path, nargs=2, metavar="CHECKOUT")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--echo", action="store_true", help="time echoscu instead")
    args = parser.parse_args()

    env = os.environ.copy()
    env.update(
        DATABASE_URL=args.database_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        LOG_LEVEL="WARNING",
        RIS_DIMSE_ACCEPT_ANY_AE="1",
        TIME_ZONE=env.get("TIME_ZONE", "UTC"),
    )
    today = datetime.now(ZoneInfo(env["TIME_ZONE"])).strftime("%Y%m%d")
    query = modality_query(CALLING_AE_TITLE, today)
    first = free_port()
    ports = [first, free_port(avoid=first)]
    services = [start_service(c, p, env) for c, p in zip(args.checkouts, ports, strict=True)]
    with contextlib.ExitStack() as stack:
        stack.callback(stop, services)
        for port, service in zip(ports, services, strict=True):
            wait_for(port, service)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))

        def command(port: int) -> list[str]:
            return echoscu_command(port) if args.echo else findscu_command(port, query, scratch)

        cpu, wall = interleave(dict(zip(ports, services, strict=True)), command, args.runs)
    client = "echoscu" if args.echo else "findscu (modality query)"
    print(f"{client}, {args.runs} interleaved rounds")
    for checkout, port in zip(args.checkouts, ports, strict=True):
        print(
            f"  {checkout}: service CPU per query {statistics.mean(cpu[port]):.1f} ms, "
            f"wall median {statistics.median(wall[port]):.1f} ms"
        )
    differences = [a - b for a, b in zip(wall[ports[0]], wall[ports[1]], strict=True)]
    print(f"  paired wall difference, first minus second: {statistics.median(differences):.1f} ms")


if __name__ == "__main__":
    main()
