"""`manage.py ae`: register, list, switch and remove remote AEs from a shell."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError

from ris.nodes.models import RemoteAE, Service
from ris.nodes.selectors import remote_ae_list
from ris.nodes.services import remote_ae_add, remote_ae_remove, remote_ae_set_enabled

LIST_COLUMNS = ["AE title", "address", "enabled", "services", "forward", "description"]


def _service_names(value: str) -> list[str]:
    """Split the --services list; the service, not argparse, knows the valid names."""
    return [name.strip() for name in value.split(",") if name.strip()]


class Command(BaseCommand):
    help = "Manage the remote DICOM application entities allowed to talk to the RIS."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        add = actions.add_parser("add", help="Register a remote AE.")
        add.add_argument("ae_title", metavar="TITLE")
        add.add_argument("--host", required=True, help="Host name or IP address.")
        add.add_argument("--port", required=True, type=int, help="TCP port, 1-65535.")
        add.add_argument("--description", default="")
        add.add_argument("--disabled", action="store_true", help="Register it switched off.")
        add.add_argument(
            "--forward-mpps",
            action="store_true",
            help="Forward every MPPS N-CREATE and N-SET the RIS receives to this AE.",
        )
        add.add_argument(
            "--services",
            type=_service_names,
            metavar="LIST",
            help=f"Comma-separated services it may use (default: all of "
            f"{','.join(Service.values)}).",
        )
        actions.add_parser("list", help="Show the registered remote AEs.")
        for action, text in [
            ("remove", "Forget a remote AE."),
            ("enable", "Accept associations from a remote AE."),
            ("disable", "Reject associations from a remote AE, keeping its settings."),
        ]:
            actions.add_parser(action, help=text).add_argument("ae_title", metavar="TITLE")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as error:
            raise CommandError(_describe(error)) from error
        except RemoteAE.DoesNotExist as error:
            raise CommandError(str(error)) from error

    def _add(
        self, *, ae_title, host, port, description, disabled, services, forward_mpps, **options
    ):
        remote_ae = remote_ae_add(
            ae_title=ae_title,
            host=host,
            port=port,
            description=description,
            enabled=not disabled,
            services=services,
            forward_mpps=forward_mpps,
        )
        self.stdout.write(self.style.SUCCESS(f"Registered {remote_ae}."))

    def _list(self, **options):
        remote_aes = list(remote_ae_list())
        if not remote_aes:
            self.stdout.write("No remote AEs are registered.")
            return
        table = [LIST_COLUMNS, *(_row(remote_ae) for remote_ae in remote_aes)]
        widths = [max(map(len, column)) for column in zip(*table, strict=True)]
        for row in table:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())

    def _remove(self, *, ae_title, **options):
        remote_ae_remove(ae_title=ae_title)
        self.stdout.write(self.style.SUCCESS(f"Removed {ae_title.strip()}."))

    def _enable(self, *, ae_title, **options):
        remote_ae = remote_ae_set_enabled(ae_title=ae_title, enabled=True)
        self.stdout.write(self.style.SUCCESS(f"Enabled {remote_ae}."))

    def _disable(self, *, ae_title, **options):
        remote_ae = remote_ae_set_enabled(ae_title=ae_title, enabled=False)
        self.stdout.write(self.style.SUCCESS(f"Disabled {remote_ae}."))


def _row(remote_ae: RemoteAE) -> list[str]:
    return [
        remote_ae.ae_title,
        remote_ae.address,
        "yes" if remote_ae.enabled else "no",
        ",".join(remote_ae.services) or "-",
        "mpps" if remote_ae.forward_mpps else "-",
        remote_ae.description,
    ]


def _describe(error: ValidationError) -> str:
    """One line per problem, naming the field: "port: Ensure this value is ..."."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "\n".join(
        message if field == NON_FIELD_ERRORS else f"{field}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    )
