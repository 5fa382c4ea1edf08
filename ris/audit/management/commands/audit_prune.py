from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ris.audit.services import audit_prune


class Command(BaseCommand):
    help = (
        "Delete audit events older than the retention period (RIS_AUDIT_RETENTION_DAYS, or "
        "--days); with no period set, keep everything. Run it daily (cron, a systemd timer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Keep this many days (default: the setting).")

    def handle(self, *args, days, **options):
        days = settings.RIS_AUDIT_RETENTION_DAYS if days is None else days
        if not days:
            self.stdout.write("No retention period is set: the audit trail is kept whole.")
            return
        if days < 1:
            raise CommandError("The retention period must be at least one day.")
        before = timezone.now() - timedelta(days=days)
        deleted = audit_prune(before=before)
        self.stdout.write(f"Deleted {deleted} audit events from before {before:%Y-%m-%d %H:%M}.")
