"""Registering and revoking the systems that call the REST API."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from ris.api.models import ApiClient
from ris.audit.services import audit_record


@transaction.atomic
def api_client_create(
    *, name: str, can_write: bool = False, callback_url: str = "", with_secret: bool = False
) -> tuple[ApiClient, Token]:
    """A client with a user of its own (no password: it signs in by token) and its token."""
    user = get_user_model().objects.create_user(username=f"api-{name}")
    user.set_unusable_password()
    user.save()
    client = ApiClient(
        user=user,
        name=name,
        can_write=can_write,
        callback_url=callback_url,
        callback_secret=secrets.token_hex(32) if with_secret else "",
    )
    client.full_clean()
    client.save()
    _audit(client, "create", can_write=can_write, callback_url=callback_url)
    return client, Token.objects.create(user=user)


@transaction.atomic
def api_client_revoke(*, client: ApiClient) -> None:
    """Take the client's token away and disable its user; the rows stay, for the
    record of who changed what."""
    Token.objects.filter(user=client.user).delete()
    client.user.is_active = False
    client.user.save(update_fields=["is_active"])
    _audit(client, "revoke")


@transaction.atomic
def api_client_new_token(*, client: ApiClient) -> Token:
    """A new token for the client (the old one stops working), and its user enabled again."""
    Token.objects.filter(user=client.user).delete()
    client.user.is_active = True
    client.user.save(update_fields=["is_active"])
    _audit(client, "new_token")
    return Token.objects.create(user=client.user)


@transaction.atomic
def api_client_set_callback(
    *, client: ApiClient, callback_url: str, with_secret: bool = False
) -> ApiClient:
    """Where the client's notifications go, and optionally a new signing secret."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    client.callback_url = callback_url
    if with_secret:
        client.callback_secret = secrets.token_hex(32)
    client.full_clean()
    client.save()
    _audit(client, "set_callback", callback_url=callback_url, new_secret=with_secret)
    return client


def _audit(client: ApiClient, verb: str, **detail) -> None:
    """Never the token or the secret, only that they changed."""
    audit_record(
        action=f"api_client.{verb}", object_type="api_client", object_id=client.name, detail=detail
    )
