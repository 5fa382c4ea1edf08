import time

from django.core.management.base import BaseCommand, CommandError

from ris.scheduling.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Add a realistic demo schedule: N requested procedures, each with one scheduled "
        "step, over D days from today, on the demo stations. Run again to add more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--procedures", type=int, default=500, metavar="N")
        parser.add_argument("--days", type=int, default=5, metavar="D")
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed, for a reproducible schedule."
        )

    def handle(self, *args, procedures, days, seed, **options):
        if procedures < 0 or days < 1:
            raise CommandError("--procedures must be 0 or more and --days 1 or more.")
        began = time.perf_counter()
        report = seed_demo(procedures=procedures, days=days, seed=seed)
        seconds = time.perf_counter() - began
        self.stdout.write(
            f"Added {report.scheduled_steps} scheduled steps ({report.requested_procedures} "
            f"requested procedures, {report.orders} orders, {report.patients} patients) "
            f"over {days} days in {seconds:.1f} s."
        )
        if report.overbooked_steps:
            self.stdout.write(
                f"{report.overbooked_steps} steps did not fit the stations' working days "
                "and overlap others: use more --days for a realistic schedule."
            )
