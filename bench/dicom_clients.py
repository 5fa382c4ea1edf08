"""The benchmarks' DICOM clients: pynetdicom associations with the RIS on loopback."""

import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from pynetdicom import evt

from bench.mwl_latency import (
    AE_TITLE,
    HOST,
    Server,
    check_database_url,
    free_port,
    manage,
    reset_database,
)
from dimse.reactor import WakefulAE


def associate(port: int, *contexts, ae_title: str = "BENCH"):
    """An association with the RIS, its socket without Nagle's delay, so that
    the figures are the service's, not a client's ~40 ms stall per request (a
    request's command and data set go out as separate PDUs; see
    docs/benchmarks.md on DCMTK's clients).

    The RIS's own requestor AE (the dispatcher's, dimse.reactor.WakefulAE):
    pynetdicom's loop can take a response meant for a send_*() made as it
    turns (its issue 875), and under the mixed load one exam in a few hundred
    waited 60 s for an MPPS response the RIS had sent in 30 ms. It also waits
    instead of polling, so the clients take less of the cores the service
    runs on."""
    ae = WakefulAE(ae_title=ae_title)
    for context in contexts:
        ae.add_requested_context(context)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    handlers = [(evt.EVT_CONN_OPEN, _no_delay)]
    assoc = ae.associate(HOST, port, ae_title=AE_TITLE, evt_handlers=handlers)
    if not assoc.is_established:
        raise RuntimeError("the RIS refused the association")
    return assoc


def _no_delay(event) -> None:
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@contextmanager
def service(
    database_url: str,
    *,
    seed: tuple[str, ...] | list[str] = (),
    prepare: Callable[[dict], None] | None = None,
    processes: int = 1,
    **settings: str,
):
    """A fresh benchmark database (migrated, seeded with `seed_demo *seed` if
    given, then given to `prepare` with the service's environment, if given)
    and the RIS DICOM service on a free loopback port: (port, pid, env),
    pid the first process's. With several `processes` they share the port
    (--reuse-port) and only the first dispatches. Both are gone on leaving: the
    service stopped, the database dropped. The service logs warnings only,
    unless BENCH_LOG_LEVEL says otherwise (INFO: a line per operation, with
    its milliseconds as the service saw them, in dimse-0.log of a ris-bench-*
    folder in the temporary directory)."""
    check_database_url(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # As in production: with DEBUG on, Django keeps each connection's
        # last 9,000 SQL statements in memory, which the memory figures count.
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "RIS_DIMSE_ACCEPT_ANY_AE": "1",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }
    reset_database(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    if seed:
        manage(env, "seed_demo", *seed)
    if prepare:
        prepare(env)
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="ris-bench-"))
    command = [sys.executable, "manage.py", "dimse", "--port", str(port)]
    if processes > 1:
        command.append("--reuse-port")
    servers = []
    try:
        for number in range(processes):
            extra = ["--no-dispatch"] if number else []
            log = logs / f"dimse-{number}.log"
            servers.append(Server(f"dimse {number}", command + extra, env, log))
        for server in servers:
            server.wait_until_echo(port)
        yield port, servers[0].process.pid, env
    finally:
        for server in servers:
            server.stop()
        reset_database(database_url, create=False)
