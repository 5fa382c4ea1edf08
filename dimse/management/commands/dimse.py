import logging
import signal
import threading
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dimse import server
from dimse.dispatch import start_dispatchers
from ris.outbox.models import Channel
from ris.outbox.selectors import outbox_due_heads
from ris.ups.services import ups_announce_scp_status

LOGGER = logging.getLogger("dimse")

# How long, at shutdown, the UPS event dispatcher gets to deliver the "GOING
# DOWN" reports (those it cannot deliver by then go when the service is back).
GOING_DOWN_DELIVERY = 5.0


class Command(BaseCommand):
    help = (
        "Run the DICOM service (Verification, Modality Worklist, MPPS, Unified Procedure "
        "Step) until SIGTERM or Ctrl-C; in-flight associations get RIS_DIMSE_SHUTDOWN_GRACE "
        "seconds to finish. It also delivers the queued messages (MPPS forwarding, UPS "
        "event reports as N-EVENT-REPORT, HIS webhooks) unless given --no-dispatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ae-title", help="Our AE title (default: RIS_AE_TITLE).")
        parser.add_argument("--port", type=int, help="TCP port (default: RIS_DIMSE_PORT).")
        parser.add_argument("--bind", help="Address to listen on (default: RIS_DIMSE_BIND).")
        parser.add_argument(
            "--tls-port",
            type=int,
            help="Also listen with TLS on this port (default: RIS_DIMSE_TLS_PORT; the "
            "certificate and key come from RIS_DIMSE_TLS_CERTIFICATE and _PRIVATE_KEY).",
        )
        parser.add_argument(
            "--reuse-port",
            action="store_true",
            default=None,
            help="Share the port with the other service processes on this host, which the "
            "kernel balances new associations across (default: RIS_DIMSE_REUSE_PORT).",
        )
        parser.add_argument(
            "--no-dispatch",
            action="store_false",
            dest="dispatch",
            help="Do not deliver queued messages (MPPS forwarding, UPS event reports, HIS "
            "webhooks) here (run `manage.py dispatch` instead).",
        )

    def handle(self, *args, ae_title, port, bind, tls_port, reuse_port, dispatch, **options):
        config = server.ServiceConfig.from_settings(
            ae_title=ae_title, port=port, bind=bind, tls_port=tls_port, reuse_port=reuse_port
        )
        try:
            running = server.start_all(config)
        except (OSError, ImproperlyConfigured) as error:
            ports = [str(config.port)] if config.plain else []
            ports += [f"{config.tls_port} (TLS)"] if config.tls_port is not None else []
            raise CommandError(
                f"Cannot listen on {config.bind}, port {' and '.join(ports)}: {error}"
            ) from error
        stopping, dispatch_stop = threading.Event(), threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        dispatchers = self._start_dispatchers(dispatch_stop) if dispatch else []
        _announce("RESTARTED")
        stopping.wait()
        self.stdout.write("Stopping: letting open associations finish.")
        server.stop_all(running)
        _announce("GOING DOWN")
        if dispatchers:
            _wait_for_ups_events(GOING_DOWN_DELIVERY)
        dispatch_stop.set()
        for dispatcher in dispatchers:
            # The grace is per thread; they stop together, so it is the wait in all.
            dispatcher.join(timeout=settings.RIS_DIMSE_SHUTDOWN_GRACE)
        self.stdout.write("DICOM service stopped.")

    def _start_dispatchers(self, stopping: threading.Event) -> list[threading.Thread]:
        """Deliver every DICOM channel's queue in threads that end when `stopping` is set."""
        self.stdout.write("Dispatching queued DICOM messages.")
        return start_dispatchers(stop=stopping)


def _announce(scp_status: str) -> None:
    """SCP Status Change (PS3.4 CC.2.4.3) to every UPS subscriber. The service
    runs without it if the database is away; nobody could be told anyway."""
    try:
        queued = ups_announce_scp_status(scp_status=scp_status)
    except Exception:
        LOGGER.exception("Could not queue the UPS SCP Status Change %s", scp_status)
    else:
        LOGGER.info("UPS SCP Status Change %s queued for %d subscriptions", scp_status, queued)


def _wait_for_ups_events(seconds: float) -> None:
    """Until no UPS event is due, or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not outbox_due_heads(channel=Channel.UPS_EVENT, now=timezone.now()).exists():
            return
        time.sleep(0.05)
