import signal
import threading

from django.core.management.base import BaseCommand

from dimse import dispatch


class Command(BaseCommand):
    help = (
        "Deliver queued messages until SIGTERM or Ctrl-C: MPPS forwarding (N-CREATE, "
        "N-SET) and UPS event reports (N-EVENT-REPORT) to remote AEs, and order and step "
        "status changes to the HIS callback URLs of API clients (webhooks), each channel "
        "in a thread of its own. Any number may run against one PostgreSQL database; "
        "`dimse` runs them too unless given --no-dispatch."
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
        threads = dispatch.start_dispatchers(stop=stopping, poll_interval=poll_interval)
        stopping.wait()
        # Without a timeout: a delivery under way when the signal came is finished first.
        for thread in threads:
            thread.join()
        for name, _ in dispatch.DISPATCHERS.values():
            self.stdout.write(f"{name} dispatcher stopped.")
