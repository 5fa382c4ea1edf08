"""Reads for webhooks: who is notified, and the client a message is for."""

from django.db.models import QuerySet

from ris.api.models import ApiClient

DESTINATION_PREFIX = "api-client:"


def webhook_clients() -> QuerySet[ApiClient]:
    """The API clients to notify: a callback URL, and a user that may still sign in."""
    return ApiClient.objects.exclude(callback_url="").filter(user__is_active=True).order_by("pk")


def webhook_destination(*, client: ApiClient) -> str:
    """The client's outbox destination: its key, which outlives a change of name or URL."""
    return f"{DESTINATION_PREFIX}{client.pk}"


def webhook_client_get(*, destination: str) -> ApiClient:
    """The client of an outbox destination; ApiClient.DoesNotExist if there is none."""
    key = destination.removeprefix(DESTINATION_PREFIX)
    if key == destination or not key.isdigit():
        raise ApiClient.DoesNotExist(f"{destination!r} names no API client.")
    try:
        return ApiClient.objects.select_related("user").get(pk=int(key))
    except ApiClient.DoesNotExist as error:
        raise ApiClient.DoesNotExist(f"API client {key} no longer exists.") from error
