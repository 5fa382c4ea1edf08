import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dimse import server
from dimse.dispatch import start_dicom_dispatcher


class Command(BaseCommand):
    help = (
        "Run the DICOM service (Verification, Modality Worklist) until SIGTERM or Ctrl-C; "
        "in-flight associations get RIS_DIMSE_SHUTDOWN_GRACE seconds to finish. It also "
        "delivers queued DICOM messages (MPPS forwarding) unless given --no-dispatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ae-title", help="Our AE title (default: RIS_AE_TITLE).")
        parser.add_argument("--port", type=int, help="TCP port (default: RIS_DIMSE_PORT).")
        parser.add_argument("--bind", help="Address to listen on (default: RIS_DIMSE_BIND).")
        parser.add_argument(
            "--no-dispatch",
            action="store_false",
            dest="dispatch",
            help="Do not deliver queued DICOM messages here (run `manage.py dispatch` instead).",
        )

    def handle(self, *args, ae_title, port, bind, dispatch, **options):
        config = server.ServiceConfig.from_settings(ae_title=ae_title, port=port, bind=bind)
        try:
            running = server.start(config)
        except OSError as error:
            raise CommandError(f"Cannot listen on {config.bind}:{config.port}: {error}") from error
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        dispatcher = self._start_dispatcher(stopping) if dispatch else None
        stopping.wait()
        self.stdout.write("Stopping: letting open associations finish.")
        server.stop(running)
        if dispatcher is not None:
            dispatcher.join(timeout=settings.RIS_DIMSE_SHUTDOWN_GRACE)
        self.stdout.write("DICOM service stopped.")

    def _start_dispatcher(self, stopping: threading.Event) -> threading.Thread:
        """Deliver queued DICOM messages in a thread that ends when `stopping` is set."""
        self.stdout.write("Dispatching queued DICOM messages.")
        return start_dicom_dispatcher(stop=stopping)
