import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from ris.scheduling.demo import seed_demo
from ris.scheduling.models import ScheduledProcedureStep
from ris.ups.demo import seed_demo_workitems
from ris.ups.models import Workitem
from ris.web import roles
from ris.web.roles import user_assign_roles

DEMO_ADMIN = "admin"
# The demo's people: one per role of the web UI (ris.web.roles).
DEMO_LOGINS = {
    DEMO_ADMIN: [roles.ADMINISTRATOR, roles.SCHEDULER],
    "scheduler": [roles.SCHEDULER],
    "technologist": [roles.TECHNOLOGIST],
}


class Command(BaseCommand):
    help = (
        "Prepare the demo started by 'make run': a schedule and UPS workitems (only if "
        "there are none yet) and a login for each role of the web UI, which it prints."
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
        for username, granted in DEMO_LOGINS.items():
            password = self._demo_login(username, granted)
            self.stdout.write(
                self.style.SUCCESS(f"Login {username} / {password} ({', '.join(granted)})")
            )

    def _demo_login(self, username: str, granted: list[str]) -> str:
        """A demo user with its roles; its password is made once and kept under var/."""
        path = settings.VAR_DIR / f"demo-{username}-password"
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if path.exists() and user is not None:
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        user = user or users.model(username=username, is_superuser=username == DEMO_ADMIN)
        user.set_password(password)
        user.save()
        user_assign_roles(user, granted)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
        return password
