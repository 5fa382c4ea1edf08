"""Modality Worklist latency: a typical modality query against the RIS, by schedule size.

For each size (scheduled steps), this script:

1. drops and creates the PostgreSQL database ris_bench, migrates it, seeds it
   with `manage.py seed_demo --procedures N --days D --seed 1`, where
   D = max(1, N // steps-per-day) keeps the department's daily load the same
   at every size (200 steps a day: about 23 on station CT1), and analyzes it;
2. writes the same worklist as DCMTK wlmscpfs files (bench/export_worklist.py:
   every step with every key, built by the RIS's own response code);
3. starts the RIS DICOM service (`manage.py dimse`) and wlmscpfs on loopback,
   and checks that both return the same steps to the modality's query;
4. times DCMTK echoscu (the floor: process start, association, release) and
   the modality's query, `findscu -W` for one station and today's date with the
   usual return keys, each on a new association, against both servers with
   TCP_NODELAY=1 in the client's environment (no Nagle stall), and against
   both again with DCMTK as installed (Nagle on: a server that delays its
   acknowledgements stalls such a client); all interleaved: warm-up rounds,
   then --runs timed rounds;
5. prints medians, 90th percentiles, matches and ratios, and verdicts on
   issue 8's goal: at the smallest size no slower than wlmscpfs, and at every
   size within 1.5 times the echoscu floor; --svg plots the medians.

    .venv/bin/python bench/mwl_latency.py [--sizes 100,1000,10000,100000] [--runs 51] [--svg F]

Only the database named in --database-url (its name must contain "bench") is
dropped and created, and it is dropped at the end unless --keep; only loopback
addresses are used; every process started here is stopped when the script
ends, also on Ctrl-C.
"""

import argparse
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
from pydicom import dcmread

PROJECT = Path(__file__).resolve().parent.parent
MANAGE = PROJECT / "manage.py"
EXPORT = PROJECT / "bench" / "export_worklist.py"
HOST = "127.0.0.1"
AE_TITLE = "RIS"  # the RIS's called AE title, and wlmscpfs's folder of the same name
CALLING_AE_TITLE = "CT1"
GOAL_RATIO = 1.5

TOP_LEVEL_KEYS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
]
STEP_KEYS = [
    "ScheduledStationAETitle={station}",
    "ScheduledProcedureStepStartDate={date}",
    "ScheduledProcedureStepStartTime",
    "Modality",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepDescription",
    "ScheduledProtocolCodeSequence",
]

# What is timed, in the order of the first round (later rounds rotate it):
# (name, server, DICOM command, client with TCP_NODELAY=1).
# Side by side with TCP_NODELAY=1 (how the anchors were measured, and
# the servers' own cost), and with DCMTK as installed, Nagle on in the client
# (what a modality built on it sees: the server's acknowledgements count).
SERIES = [
    ("echo_ris_nodelay", "ris", "echo", True),
    ("find_ris_nodelay", "ris", "find", True),
    ("echo_wlm_nodelay", "wlm", "echo", True),
    ("find_wlm_nodelay", "wlm", "find", True),
    ("echo_ris", "ris", "echo", False),
    ("find_ris", "ris", "find", False),
    ("echo_wlm", "wlm", "echo", False),
    ("find_wlm", "wlm", "find", False),
]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} is not installed (DCMTK: apt-get install dcmtk)")
    return path


FINDSCU, ECHOSCU, WLMSCPFS = tool("findscu"), tool("echoscu"), tool("wlmscpfs")


def modality_query(station: str, date: str) -> list[str]:
    """findscu -k arguments: what a scanner asks for its own day."""
    keys = [*TOP_LEVEL_KEYS]
    keys += [
        "ScheduledProcedureStepSequence[0]." + key.format(station=station, date=date)
        for key in STEP_KEYS
    ]
    return [argument for key in keys for argument in ("-k", key)]


def findscu_command(port: int, query: list[str], folder: Path) -> list[str]:
    return [
        *(FINDSCU, "-W", "-aet", CALLING_AE_TITLE, "-aec", AE_TITLE),
        *("-X", "-od", str(folder)),
        *query,
        *(HOST, str(port)),
    ]


def echoscu_command(port: int) -> list[str]:
    return [ECHOSCU, "-aet", CALLING_AE_TITLE, "-aec", AE_TITLE, HOST, str(port)]


def client_environment(nodelay: bool) -> dict:
    """DCMTK keeps Nagle's algorithm on unless TCP_NODELAY is set (Debian's build)."""
    env = os.environ.copy()
    env.pop("TCP_NODELAY", None)
    if nodelay:
        env["TCP_NODELAY"] = "1"
    return env


# --- processes -------------------------------------------------------------


class Server:
    """A server subprocess with its output in a log file; stop() ends it."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path):
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_until_echo(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            echo = subprocess.run(echoscu_command(port), capture_output=True, timeout=30)
            if echo.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer C-ECHO in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def free_port(avoid: int = 0) -> int:
    """A TCP port free on loopback now (the kernel's choice), other than `avoid`."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        if port != avoid:
            return port
    raise RuntimeError("No free TCP port on loopback")


def run(command: list[str], env: dict, timeout: float = 1800) -> str:
    """Run a command to completion; its standard output, or an error with its output."""
    result = subprocess.run(
        command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def manage(env: dict, *arguments: str) -> str:
    return run([sys.executable, str(MANAGE), *arguments], env).strip()


# --- the database ----------------------------------------------------------


def connect(url: str, dbname: str | None = None) -> psycopg.Connection:
    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=dbname or parts.path.lstrip("/"),
        autocommit=True,
    )


def reset_database(url: str, create: bool = True) -> None:
    """Drop (and create) the benchmark database: never another, see check_database_url."""
    name = urlsplit(url).path.lstrip("/")
    with connect(url, "postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            admin.execute(f'CREATE DATABASE "{name}"')


def analyze(url: str) -> None:
    """Planner statistics, as autovacuum keeps them on a database in service."""
    with connect(url) as database:
        database.execute("VACUUM ANALYZE")


def server_version(url: str) -> str:
    with connect(url, "postgres") as admin:
        return admin.execute("SHOW server_version").fetchone()[0]


def check_database_url(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("--database-url must be a PostgreSQL URL")
    if "bench" not in name or not re.fullmatch(r"[a-z0-9_]+", name):
        sys.exit(f"Refusing to drop database {name!r}: its name must contain 'bench'")
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("--database-url must point at a loopback address")


# --- measuring -------------------------------------------------------------


@dataclass
class Series:
    """Seconds of each timed run, and the numbers of matches the finds returned."""

    seconds: list[float] = field(default_factory=list)
    matches: set[int] = field(default_factory=set)

    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    def p90_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[8] * 1000


def time_echo(port: int, env: dict) -> tuple[float, None]:
    command = echoscu_command(port)
    began = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, timeout=120)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"echoscu failed: {result.stderr.decode(errors='replace')}")
    return seconds, None


def time_find(port: int, env: dict, query: list[str], scratch: Path) -> tuple[float, int]:
    """One modality query on a new association: seconds, and the number of responses.

    findscu exits 0 whatever the final status: the response files it wrote tell.
    """
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    command = findscu_command(port, query, scratch)
    began = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, timeout=600)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"findscu failed: {result.stderr.decode(errors='replace')}")
    return seconds, sum(1 for _ in scratch.glob("rsp*.dcm"))


def sps_ids(port: int, query: list[str], scratch: Path) -> list[str]:
    """The SPS IDs a query returns, read from findscu's response files (for checking)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    subprocess.run(findscu_command(port, query, scratch), capture_output=True, timeout=600)
    return sorted(
        str(dcmread(path).ScheduledProcedureStepSequence[0].ScheduledProcedureStepID)
        for path in scratch.glob("rsp*.dcm")
    )


@dataclass
class SizeResult:
    size: int
    days: int
    seed_output: str
    exported: int
    seconds_to_prepare: dict
    series: dict[str, Series]

    def median(self, name: str) -> float:
        return self.series[name].median_ms()

    def p90(self, name: str) -> float:
        return self.series[name].p90_ms()

    @property
    def matches(self) -> str:
        counts = self.series["find_ris"].matches | self.series["find_wlm_nodelay"].matches
        return "/".join(map(str, sorted(counts)))


def prepare(size: int, days: int, args, env: dict, dbdir: Path) -> tuple[str, int, dict]:
    """A fresh database with the demo schedule, and the same worklist as files."""
    seconds = {}
    began = time.perf_counter()
    reset_database(args.database_url)
    manage(env, "migrate", "--noinput")
    seconds["migrate"] = time.perf_counter() - began
    began = time.perf_counter()
    seeded = manage(env, "seed_demo", "--procedures", str(size), "--days", str(days), "--seed", "1")
    seconds["seed"] = time.perf_counter() - began
    say("  " + seeded.replace("\n", "\n  "))
    began = time.perf_counter()
    analyze(args.database_url)
    seconds["analyze"] = time.perf_counter() - began
    shutil.rmtree(dbdir, ignore_errors=True)
    began = time.perf_counter()
    exported = export_worklist(dbdir, args.export_jobs, env)
    seconds["export"] = time.perf_counter() - began
    say(f"  exported {exported} worklist files in {seconds['export']:.0f} s")
    return seeded, exported, seconds


def export_worklist(dbdir: Path, jobs: int, env: dict) -> int:
    """The whole worklist as wlmscpfs files, written by `jobs` processes."""
    command = [sys.executable, str(EXPORT), str(dbdir), AE_TITLE, "--parts", str(jobs)]
    processes = []
    written = 0
    try:
        for part in range(jobs):
            processes.append(
                subprocess.Popen(
                    [*command, "--part", str(part)],
                    env=env,
                    cwd=PROJECT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for process in processes:
            out, err = process.communicate(timeout=3600)
            if process.returncode != 0:
                raise RuntimeError(f"export_worklist.py failed:\n{err}")
            written += int(out.split()[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return written


def measure_size(size: int, args, env: dict, work: Path) -> SizeResult:
    days = max(1, size // args.steps_per_day)
    dbdir = work / f"wlistdb-{size}"
    seeded, exported, prepared = prepare(size, days, args, env, dbdir)
    today = datetime.now(ZoneInfo(env["TIME_ZONE"])).strftime("%Y%m%d")
    query = modality_query(args.station, today)
    scratch = work / "responses"
    ports = {"ris": free_port()}
    ports["wlm"] = free_port(avoid=ports["ris"])
    ris_command = [sys.executable, str(MANAGE), "dimse", "--ae-title", AE_TITLE]
    ris_command += ["--port", str(ports["ris"]), "--bind", HOST]
    # The RIS turns Nagle's algorithm off on its sockets; wlmscpfs does when
    # TCP_NODELAY is set, so that the two servers are compared alike.
    wlm_command = [WLMSCPFS, "-dfp", str(dbdir), "-csk", "-dhl", str(ports["wlm"])]
    servers = []
    try:
        servers.append(Server("RIS DICOM service", ris_command, env, work / f"ris-{size}.log"))
        wlm_env = {**env, "TCP_NODELAY": "1"}
        servers.append(Server("wlmscpfs", wlm_command, wlm_env, work / f"wlmscpfs-{size}.log"))
        for server, port in zip(servers, ports.values(), strict=True):
            server.wait_until_echo(port)

        expected = sps_ids(ports["ris"], query, scratch)
        if not expected:
            raise RuntimeError(f"The RIS returned no match for {args.station} on {today}")
        other = sps_ids(ports["wlm"], query, scratch)
        if other != expected:
            raise RuntimeError(
                f"The RIS and wlmscpfs disagree: {len(expected)} and {len(other)} matches"
            )
        say(f"  {len(expected)} matches for {args.station} on {today}, the same from both")

        series = {name: Series() for name, *_ in SERIES}
        tasks: list[tuple[str, Callable]] = []
        for name, server, command, nodelay in SERIES:
            port, client = ports[server], client_environment(nodelay)
            if command == "echo":
                tasks.append((name, lambda p=port, e=client: time_echo(p, e)))
            else:
                tasks.append((name, lambda p=port, e=client: time_find(p, e, query, scratch)))
        for round_ in range(args.warmup + args.runs):
            shift = round_ % len(tasks)  # each series runs first, second, ... in turn
            for name, task in tasks[shift:] + tasks[:shift]:
                seconds, matches = task()
                if matches is not None and matches != len(expected):
                    raise RuntimeError(f"{name}: {matches} matches, expected {len(expected)}")
                if round_ >= args.warmup:
                    series[name].seconds.append(seconds)
                    if matches is not None:
                        series[name].matches.add(matches)
    finally:
        for server in reversed(servers):
            server.stop()
        if not args.keep:
            shutil.rmtree(dbdir, ignore_errors=True)
    return SizeResult(size, days, seeded, exported, prepared, series)


# --- reporting -------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def table(results: list[SizeResult]) -> list[str]:
    """Both servers, the client with TCP_NODELAY=1: the RIS against its floor and wlmscpfs."""
    lines = [
        "| steps | days | matches | echoscu RIS | echoscu wlmscpfs | RIS median | RIS p90 "
        "| wlmscpfs median | wlmscpfs p90 | RIS / echoscu RIS | RIS / echoscu wlmscpfs "
        "| RIS / wlmscpfs |",
        "|" + "---:|" * 12,
    ]
    for r in results:
        floor, wlm_floor = r.median("echo_ris_nodelay"), r.median("echo_wlm_nodelay")
        ris, wlm = r.median("find_ris_nodelay"), r.median("find_wlm_nodelay")
        lines.append(
            f"| {r.size:,} | {r.days} | {r.matches} | {floor:.1f} ms | {wlm_floor:.1f} ms "
            f"| {ris:.1f} ms | {r.p90('find_ris_nodelay'):.1f} ms | {wlm:.1f} ms "
            f"| {r.p90('find_wlm_nodelay'):.1f} ms | {ris / floor:.2f} | {ris / wlm_floor:.2f} "
            f"| {ris / wlm:.2f} |"
        )
    return lines


def table_as_installed(results: list[SizeResult]) -> list[str]:
    """Both servers with DCMTK as installed: Nagle on in the client."""
    lines = [
        "| steps | matches | echoscu RIS | echoscu wlmscpfs | RIS median | RIS p90 "
        "| wlmscpfs median | wlmscpfs p90 | RIS / echoscu RIS | RIS / wlmscpfs |",
        "|" + "---:|" * 10,
    ]
    for r in results:
        floor, ris, wlm = r.median("echo_ris"), r.median("find_ris"), r.median("find_wlm")
        lines.append(
            f"| {r.size:,} | {r.matches} | {floor:.1f} ms | {r.median('echo_wlm'):.1f} ms "
            f"| {ris:.1f} ms | {r.p90('find_ris'):.1f} ms | {wlm:.1f} ms "
            f"| {r.p90('find_wlm'):.1f} ms | {ris / floor:.2f} | {ris / wlm:.2f} |"
        )
    return lines


def print_tables(results: list[SizeResult]) -> None:
    say("findscu and echoscu with TCP_NODELAY=1, against both servers:")
    for line in table(results):
        say(line)
    say("findscu and echoscu as installed (Nagle's algorithm on in the client), both servers:")
    for line in table_as_installed(results):
        say(line)


def verdicts(results: list[SizeResult]) -> list[str]:
    """Issue 8's goal: no slower than wlmscpfs at the smallest size, and within
    1.5 times the echoscu floor at every size (TCP_NODELAY=1)."""
    small = min(results, key=lambda r: r.size)
    ris, wlm = small.median("find_ris_nodelay"), small.median("find_wlm_nodelay")
    lines = [
        f"Verdict: at {small.size:,} steps the RIS answers in {ris:.1f} ms, wlmscpfs in "
        f"{wlm:.1f} ms (goal: RIS <= wlmscpfs): {'PASS' if ris <= wlm else 'FAIL'}"
    ]
    for r in results:
        ratio = r.median("find_ris_nodelay") / r.median("echo_ris_nodelay")
        lines.append(
            f"Verdict: at {r.size:,} steps the RIS answers in {ratio:.2f} times its echoscu "
            f"floor (goal <= {GOAL_RATIO}): {'PASS' if ratio <= GOAL_RATIO else 'FAIL'}"
        )
    return lines


def svg_plot(results: list[SizeResult]) -> str:
    """Median latency against scheduled steps, both on log scales, as a small SVG."""
    series = [
        ("RIS findscu", "find_ris_nodelay", "#1f5fa8", ""),
        ("wlmscpfs findscu", "find_wlm_nodelay", "#c0392b", ""),
        ("RIS echoscu (floor)", "echo_ris_nodelay", "#1f5fa8", "4 3"),
        ("wlmscpfs echoscu", "echo_wlm_nodelay", "#c0392b", "4 3"),
    ]
    sizes = [r.size for r in results]
    medians = [r.median(name) for r in results for _, name, _, _ in series]
    ticks = (1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000)
    ticks = [t for t in ticks if min(medians) / 3 <= t <= max(medians) * 3]
    width, height, left, right, bottom, top = 600, 340, 70, 30, 45, 20
    size_range = (math.log10(min(sizes)), math.log10(max(sizes)))
    ms_range = (math.log10(ticks[0]), math.log10(ticks[-1]))

    def scale(value, span, start, length):
        return start + (math.log10(value) - span[0]) / ((span[1] - span[0]) or 1) * length

    def x(size):
        return scale(size, size_range, left, width - left - right)

    def y(ms):
        return height - scale(ms, ms_range, bottom, height - bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="{height - 8}">scheduled steps (log scale)</text>',
        f'<text x="4" y="{top - 6}">median ms (log scale)</text>',
    ]
    for size in sizes:
        parts.append(f'<text x="{x(size) - 14:.1f}" y="{height - bottom + 16}">{size:,}</text>')
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            'stroke="#ddd"/>'
        )
        parts.append(f'<text x="{left - 40}" y="{y(tick) + 4:.1f}">{tick:,}</text>')
    for number, (label, name, colour, dash) in enumerate(series):
        points = " ".join(f"{x(r.size):.1f},{y(r.median(name)):.1f}" for r in results)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}"/>'
        )
        legend_y = top + 10 + 14 * number
        parts.append(
            f'<line x1="{left + 10}" y1="{legend_y}" x2="{left + 34}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
        )
        parts.append(f'<text x="{left + 40}" y="{legend_y + 4}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def figures(result: SizeResult) -> dict:
    """One size's raw figures, for --json."""
    return {
        "steps": result.size,
        "days": result.days,
        "seed_output": result.seed_output,
        "exported": result.exported,
        "seconds_to_prepare": result.seconds_to_prepare,
        "matches": result.matches,
        **{
            name: {
                "median_ms": series.median_ms(),
                "p90_ms": series.p90_ms(),
                "seconds": series.seconds,
            }
            for name, series in result.series.items()
        },
    }


def dcmtk_version(banner: str) -> str:
    """'$dcmtk: findscu v3.6.7 2022-04-22 $' -> '3.6.7 (2022-04-22)'."""
    found = re.search(r"v(\d[\d.]*)\s+(\S+)", banner)
    return f"{found[1]} ({found[2]})" if found else banner


def code_version() -> str:
    """The commit measured, and whether the working tree differs from it (read-only git)."""
    try:
        commit = run(["git", "rev-parse", "--short", "HEAD"], os.environ.copy(), timeout=30)
        changes = run(["git", "status", "--porcelain"], os.environ.copy(), timeout=30)
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return "unknown (not a git checkout)"
    changed = [line[3:] for line in changes.splitlines()]
    return commit.strip() + (
        f" with uncommitted changes in {', '.join(changed)}" if changed else ""
    )


def machine(database_url: str) -> list[str]:
    banner = run([FINDSCU, "--version"], os.environ.copy(), timeout=30).strip().splitlines()
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = f"{int(meminfo.read_text().split()[1]) / 1024 / 1024:.1f} GiB"
    return [
        f"CPUs: {os.cpu_count()}, RAM: {memory}, {platform.platform()}",
        f"PostgreSQL {server_version(database_url)}, Python {platform.python_version()}, "
        f"DCMTK {dcmtk_version(banner[0] if banner else '?')}",
        f"Code: commit {code_version()}",
    ]


def parse_args():
    parser = argparse.ArgumentParser(
        description="Modality Worklist latency of the RIS against DCMTK wlmscpfs, by size."
    )
    parser.add_argument(
        "--sizes",
        default="100,1000,10000,100000",
        help="scheduled steps per run, comma-separated (default: 100,1000,10000,100000)",
    )
    parser.add_argument("--runs", type=int, default=51, help="timed rounds (default: 51)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default: 3)")
    parser.add_argument(
        "--steps-per-day",
        type=int,
        default=200,
        help="the department's steps a day: --days is max(1, N // this) (default: 200)",
    )
    parser.add_argument("--station", default="CT1", help="the querying station (default: CT1)")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/ris_bench",
        help="the database to drop, create and fill (its name must contain 'bench')",
    )
    parser.add_argument(
        "--export-jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes writing the wlmscpfs files (default: number of CPUs)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--svg", type=Path, help="also plot the medians to this SVG file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the last size's database, and every size's worklist files and server logs",
    )
    args = parser.parse_args()
    try:
        args.sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes: whole numbers separated by commas")
    if min(args.sizes) < 1 or args.runs < 2 or args.warmup < 0 or args.export_jobs < 1:
        parser.error("--sizes and --export-jobs must be positive, --runs at least 2")
    check_database_url(args.database_url)
    return args


def main() -> None:
    args = parse_args()
    env = os.environ.copy()
    env.update(
        DATABASE_URL=args.database_url,
        DEBUG="0",  # as in production (DEBUG keeps every SQL statement in memory)
        SECRET_KEY=secrets.token_urlsafe(50),
        LOG_LEVEL="WARNING",  # no log line per association
        RIS_DIMSE_ACCEPT_ANY_AE="1",
        TIME_ZONE=env.get("TIME_ZONE", "UTC"),
        DATABASE_CONN_MAX_AGE=env.get("DATABASE_CONN_MAX_AGE", "0"),
        PYTHONUNBUFFERED="1",
    )
    for line in machine(args.database_url):
        say(line)
    say(
        f"Sizes {', '.join(f'{size:,}' for size in args.sizes)}; {args.warmup} warm-up and "
        f"{args.runs} timed rounds, interleaved; station {args.station}; "
        f"TIME_ZONE {env['TIME_ZONE']}; DATABASE_CONN_MAX_AGE {env['DATABASE_CONN_MAX_AGE']}"
    )
    work = Path(tempfile.mkdtemp(prefix="ris-bench-"))
    results = []
    began = time.perf_counter()
    try:
        for size in args.sizes:
            say(f"\n{size:,} scheduled steps")
            results.append(measure_size(size, args, env, work))
            print_tables(results[-1:])
    finally:
        if args.keep:
            say(f"\nKept the last database, and the worklist files and logs in {work}.")
        else:
            shutil.rmtree(work, ignore_errors=True)
            reset_database(args.database_url, create=False)
    say(f"\nCode at the end: commit {code_version()}")
    say(f"All sizes ({time.perf_counter() - began:.0f} s in all):")
    print_tables(results)
    for line in verdicts(results):
        say(line)
    if args.svg:
        args.svg.write_text(svg_plot(results))
    if args.json:
        args.json.write_text(json.dumps([figures(result) for result in results], indent=2) + "\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\nInterrupted: the servers were stopped.")
