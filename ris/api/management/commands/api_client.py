"""manage.py api_client create|list|revoke|token|callback: the REST API's HIS clients."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ris.api import services
from ris.api.models import ApiClient


class Command(BaseCommand):
    help = "Create, list and revoke REST API clients (a user, a token and its rights each)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="A new client; prints its token.")
        create.add_argument("name")
        create.add_argument("--write", action="store_true", help="May create and change.")
        create.add_argument("--callback-url", default="", help="Where notifications go.")
        create.add_argument(
            "--secret", action="store_true", help="Generate a callback secret and print it."
        )
        commands.add_parser("list", help="Every client with its rights and callback URL.")
        revoke = commands.add_parser("revoke", help="Delete the token and disable the client.")
        revoke.add_argument("name")
        token = commands.add_parser("token", help="A new token (the old one stops working).")
        token.add_argument("name")
        callback = commands.add_parser("callback", help="Set the callback URL.")
        callback.add_argument("name")
        callback.add_argument("url", help='The URL, or "" for none.')
        callback.add_argument("--secret", action="store_true", help="A new callback secret.")

    def handle(self, *args, command, **options):
        getattr(self, f"handle_{command}")(**options)

    def handle_create(self, *, name, write, callback_url, secret, **options):
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"A client named {name!r} exists already.")
        try:
            client, token = services.api_client_create(
                name=name, can_write=write, callback_url=callback_url, with_secret=secret
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"token: {token.key}")
        if client.callback_secret:
            self.stdout.write(f"callback secret: {client.callback_secret}")

    def handle_list(self, **options):
        for client in ApiClient.objects.select_related("user"):
            rights = "read-write" if client.can_write else "read-only"
            state = "" if client.user.is_active else " (revoked)"
            self.stdout.write(f"{client.name}\t{rights}{state}\t{client.callback_url or '-'}")

    def handle_revoke(self, *, name, **options):
        services.api_client_revoke(client=self._client(name))
        self.stdout.write(f"revoked: {name}")

    def handle_token(self, *, name, **options):
        token = services.api_client_new_token(client=self._client(name))
        self.stdout.write(f"token: {token.key}")

    def handle_callback(self, *, name, url, secret, **options):
        try:
            client = services.api_client_set_callback(
                client=self._client(name), callback_url=url, with_secret=secret
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if secret:
            self.stdout.write(f"callback secret: {client.callback_secret}")

    def _client(self, name: str) -> ApiClient:
        client = ApiClient.objects.select_related("user").filter(name=name).first()
        if client is None:
            raise CommandError(f"No client named {name!r}.")
        return client
