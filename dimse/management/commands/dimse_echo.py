from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from dimse.healthcheck import haproxy_tcp_check


class Command(BaseCommand):
    help = (
        "C-ECHO the DICOM service, as a health check: exit status 0 when it accepts "
        "the association and answers success, 1 otherwise. Calls as "
        "RIS_DIMSE_HEALTH_CHECK_AE_TITLE, which the service accepts for C-ECHO only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, help="Default: RIS_DIMSE_PORT.")
        parser.add_argument(
            "--timeout", type=float, default=5, help="Seconds for each step (default 5)."
        )
        parser.add_argument(
            "--haproxy",
            action="store_true",
            help="Print the same check as HAProxy tcp-check lines (deploy/haproxy.cfg), and exit.",
        )

    def handle(self, *args, host, port, timeout, haproxy, **options):
        port = port or settings.RIS_DIMSE_PORT
        calling = settings.RIS_DIMSE_HEALTH_CHECK_AE_TITLE
        if not calling:
            raise CommandError("RIS_DIMSE_HEALTH_CHECK_AE_TITLE is empty: health checks are off")
        if haproxy:
            for line in haproxy_tcp_check(called=settings.RIS_AE_TITLE, calling=calling):
                self.stdout.write(f"    {line}")
            return
        ae = AE(ae_title=calling)
        ae.add_requested_context(Verification)
        ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = timeout
        ae.network_timeout = timeout
        assoc = ae.associate(host, port, ae_title=settings.RIS_AE_TITLE)
        if not assoc.is_established:
            raise CommandError(f"No association with {settings.RIS_AE_TITLE}@{host}:{port}")
        try:
            status = assoc.send_c_echo()
        finally:
            assoc.release()
        if "Status" not in status or status.Status != 0x0000:
            raise CommandError(f"C-ECHO to {host}:{port} was not answered with success")
        self.stdout.write(f"{settings.RIS_AE_TITLE}@{host}:{port} answers C-ECHO")
