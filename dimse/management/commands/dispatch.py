import signal
import threading

from django.core.management.base import BaseCommand

from dimse import dispatch


class Command(BaseCommand):
    help = (
        "Deliver queued DICOM messages (MPPS forwarding) to remote AEs until SIGTERM or "
        "Ctrl-C. Any number may run against one PostgreSQL database; `dimse` runs one "
        "too unless given --no-dispatch."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll-interval",
            type=float,
            help="Seconds between looks at the queue (default: RIS_OUTBOX_POLL_INTERVAL).",
        )

    def handle(self, *args, poll_interval, **options):
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        self.stdout.write("Dispatching queued DICOM messages.")
        self.stdout.flush()
        # In this thread: a delivery under way when the signal comes is finished first.
        dispatch.run_dicom_dispatcher(stop=stopping, poll_interval=poll_interval)
        self.stdout.write("DICOM dispatcher stopped.")
