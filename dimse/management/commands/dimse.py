import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from dimse import server


class Command(BaseCommand):
    help = (
        "Run the DICOM service (Verification, Modality Worklist) until SIGTERM or Ctrl-C; "
        "in-flight associations get RIS_DIMSE_SHUTDOWN_GRACE seconds to finish."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ae-title", help="Our AE title (default: RIS_AE_TITLE).")
        parser.add_argument("--port", type=int, help="TCP port (default: RIS_DIMSE_PORT).")
        parser.add_argument("--bind", help="Address to listen on (default: RIS_DIMSE_BIND).")

    def handle(self, *args, ae_title, port, bind, **options):
        config = server.ServiceConfig.from_settings(ae_title=ae_title, port=port, bind=bind)
        try:
            running = server.start(config)
        except OSError as error:
            raise CommandError(f"Cannot listen on {config.bind}:{config.port}: {error}") from error
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        stopping.wait()
        self.stdout.write("Stopping: letting open associations finish.")
        server.stop(running)
        self.stdout.write("DICOM service stopped.")
