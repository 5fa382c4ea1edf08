import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from ris.scheduling.demo import seed_demo
from ris.scheduling.models import ScheduledProcedureStep
from ris.ups.demo import seed_demo_workitems
from ris.ups.models import Workitem

DEMO_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Prepare the demo started by 'make run': a schedule and UPS workitems (only if "
        "there are none yet) and an administrator login, which it prints."
    )

    def add_arguments(self, parser):
        parser.add_argument("--procedures", type=int, default=400, metavar="N")
        parser.add_argument("--days", type=int, default=5, metavar="D")

    def handle(self, *args, procedures, days, **options):
        if not ScheduledProcedureStep.objects.exists():
            report = seed_demo(procedures=procedures, days=days)
            self.stdout.write(
                f"Demo schedule: {report.scheduled_steps} steps for {report.patients} "
                f"patients over {days} days."
            )
        if not Workitem.objects.exists():
            created = seed_demo_workitems()
            self.stdout.write(f"Demo workitems (UPS): {created}.")
        password = self._demo_password()
        self.stdout.write(self.style.SUCCESS(f"Admin login: {DEMO_USERNAME} / {password}"))

    def _demo_password(self) -> str:
        """The demo administrator's password, made once and kept under var/."""
        path = settings.VAR_DIR / "demo-admin-password"
        users = get_user_model().objects
        if path.exists() and users.filter(username=DEMO_USERNAME).exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        user = users.filter(username=DEMO_USERNAME).first() or users.model(
            username=DEMO_USERNAME, is_staff=True, is_superuser=True
        )
        user.set_password(password)
        user.save()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
        return password
