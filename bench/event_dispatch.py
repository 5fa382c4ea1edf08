"""How fast the dispatcher delivers UPS events, alone, with a backlog or without.

1. Drops and creates the PostgreSQL database ris_bench_dispatch and migrates it.
2. Starts, in a process of its own, a UPS Event SCP that answers every
   N-EVENT-REPORT with success, and registers it as --watchers remote AEs.
3. For each round: queues --events events for each watcher (as ris.ups.events
   does: one message per subscriber), and, with --backlog N, N more for an
   AE registered on a port where nothing listens (a subscriber that is down:
   its head backs off and the rest waits behind it). Then runs the UPS event
   dispatcher threads of a `dimse` process (RIS_UPS_EVENT_DISPATCH_THREADS)
   in this process until every watcher's events are delivered, and prints
   events per second and the dispatcher's CPU per event.

    .venv/bin/python bench/event_dispatch.py [--watchers 5] [--events 200] [--backlog 0,2000]

Only the database named in --database-url (its name must contain "bench") is
dropped and created, and it is dropped at the end; only loopback is used.
"""

import argparse
import logging
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.mwl_latency import HOST, check_database_url, free_port, reset_database  # noqa: E402


def answer_every_report(port: int, ready) -> None:
    """The watchers' UPS Event SCP (all of them are this one server)."""
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import UnifiedProcedureStepEvent

    ae = AE(ae_title="WATCHER")
    ae.add_supported_context(UnifiedProcedureStepEvent, scu_role=False, scp_role=True)
    ae.maximum_associations = 50
    handlers = [(evt.EVT_N_EVENT_REPORT, lambda event: (0x0000, None))]
    ae.start_server((HOST, port), block=False, evt_handlers=handlers)
    ready.set()
    time.sleep(24 * 3600)


def queue_events(watchers: list[str], events: int, backlog: int) -> None:
    from django.db import transaction
    from pydicom import Dataset
    from pydicom.uid import generate_uid

    from ris.outbox.models import Channel
    from ris.outbox.services import outbox_enqueue
    from ris.ups.events import event_payload

    info = Dataset()
    info.ProcedureStepState = "IN PROGRESS"
    info.InputReadinessState = "READY"
    with transaction.atomic():
        for _ in range(backlog):
            payload = event_payload(event_type_id=1, sop_instance_uid=generate_uid(), info=info)
            outbox_enqueue(channel=Channel.UPS_EVENT, destination="DOWN", payload=payload)
        for _ in range(events):
            payload = event_payload(event_type_id=1, sop_instance_uid=generate_uid(), info=info)
            for watcher in watchers:
                outbox_enqueue(channel=Channel.UPS_EVENT, destination=watcher, payload=payload)


def deliver_all(watchers: list[str]) -> tuple[float, float]:
    """Run the dispatcher threads until the watchers' messages are all
    delivered; (seconds, CPU seconds of this process)."""
    from dimse.dispatch import start_dispatchers
    from ris.outbox.models import Channel, OutboundMessage, State

    waiting = OutboundMessage.objects.filter(
        channel=Channel.UPS_EVENT, destination__in=watchers, state=State.PENDING
    )
    stop = threading.Event()
    began_cpu, began = time.process_time(), time.perf_counter()
    threads = start_dispatchers(stop=stop, poll_interval=0.2)
    while waiting.exists():
        time.sleep(0.05)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    stop.set()
    for thread in threads:
        thread.join()
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=5)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--backlog", default="0,2000")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/ris_bench_dispatch"
    )
    args = parser.parse_args()
    check_database_url(args.database_url)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="ris.settings",
        DATABASE_URL=args.database_url,
        DEBUG="1",
        LOG_LEVEL="ERROR",
    )
    reset_database(args.database_url)
    import django

    django.setup()
    # The subscriber that is down is tried again and again: pynetdicom logs each refusal.
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    from django.core.management import call_command

    from ris.nodes.services import remote_ae_add
    from ris.outbox.models import OutboundMessage

    port, ready = free_port(), multiprocessing.Event()
    scp = multiprocessing.Process(target=answer_every_report, args=(port, ready), daemon=True)
    scp.start()
    try:
        ready.wait(30)
        call_command("migrate", verbosity=0)
        watchers = [f"WATCH{number + 1}" for number in range(args.watchers)]
        for watcher in watchers:
            remote_ae_add(ae_title=watcher, host=HOST, port=port, services=[])
        remote_ae_add(ae_title="DOWN", host=HOST, port=free_port(), services=[])
        print(f"UPS events to {args.watchers} watchers, {args.events} each, dispatcher alone")
        print(f"{'backlog':>8} {'events':>7} {'per second':>11} {'CPU ms/event':>13}")
        for backlog in (int(count) for count in args.backlog.split(",")):
            OutboundMessage.objects.all().delete()
            queue_events(watchers, args.events, backlog)
            elapsed, cpu = deliver_all(watchers)
            total = args.events * args.watchers
            print(f"{backlog:>8} {total:>7} {total / elapsed:>11.0f} {cpu / total * 1000:>13.2f}")
    finally:
        scp.kill()
        from django.db import connections

        connections.close_all()
        reset_database(args.database_url, create=False)


if __name__ == "__main__":
    main()
