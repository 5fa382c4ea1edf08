"""Delivers the "webhook" channel: each message POSTed, signed, to its client's callback URL.

The URL and the secret are the client's at the time of delivery, so that a
corrected URL or a new secret applies to the messages still queued. The
outcome is the receiver's answer, sorted in three:

- delivered: any 2xx;
- retried (transient): no connection, a timeout, a broken answer, 408 Request
  Timeout, 429 Too Many Requests, any 5xx (RFC 9110 15.6: the server's
  trouble, not the message's), and a client with a URL but no secret yet. The
  message keeps its place and the client's later messages wait behind it, so
  a receiver that is down gets everything, in order, when it is back;
- given up (permanent): any other answer (4xx; 3xx, not followed), a client
  that no longer exists, is deactivated or has no callback URL any more, and
  a malformed payload. The same message would fare the same again, so it is
  marked dead and the client's next message goes ahead.

docs/webhooks.md is the receiver's side of this.
"""

import http.client
import logging
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

from ris.api.models import ApiClient
from ris.outbox.dispatcher import run_dispatcher
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage
from ris.webhooks.payloads import EVENTS, encode_body, signature
from ris.webhooks.selectors import webhook_client_get

LOGGER = logging.getLogger("ris.webhooks")

USER_AGENT = "RIS-webhooks/1"
# RFC 9110 15.5.9 408 and RFC 6585 4 429: the receiver asks us to come back later.
RETRY_LATER = {408, 429}
# How much of a refusal's body is kept in the message's last_error.
ERROR_BODY_BYTES = 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: urllib would resend the POST as a GET without
    its body (RFC 9110 15.4.3), and a 200 to that GET would count as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx


def deliver_webhook(message: OutboundMessage) -> None:
    """POST one webhook message to its client; raise DeliveryError if it did not land."""
    event, body = _read_payload(message.payload)
    client = _client(destination=message.destination)
    data = encode_body(body)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-RIS-Event": event,
        "X-RIS-Delivery": str(message.pk),
        "X-RIS-Timestamp": timestamp,
        "X-RIS-Signature": signature(secret=client.callback_secret, timestamp=timestamp, body=data),
    }
    request = urllib.request.Request(client.callback_url, data=data, headers=headers, method="POST")
    what = f"{event} {message.pk} to {client.name}"
    status, answer = _post(request, what=what)
    _check(status, answer, what=what)


def run_webhook_dispatcher(*, stop: threading.Event, poll_interval: float | None = None) -> None:
    """Deliver the webhook channel's messages until `stop` is set."""
    run_dispatcher(
        channel=Channel.WEBHOOK, deliver=deliver_webhook, stop=stop, poll_interval=poll_interval
    )


def _read_payload(payload: dict) -> tuple[str, dict]:
    """The event and body, or a permanent DeliveryError: a malformed payload never gets better."""
    event = payload.get("event") if isinstance(payload, dict) else None
    body = payload.get("body") if isinstance(payload, dict) else None
    if event not in EVENTS or not isinstance(body, dict):
        raise DeliveryError(f"Malformed webhook message: {payload!r:.200}", permanent=True)
    return event, body


def _client(*, destination: str) -> ApiClient:
    """The client to POST to, as it is now.

    Gone, deactivated, without a callback URL or with one that is not HTTP:
    permanent, the client no longer wants or may not have the messages. A URL
    but no secret: transient, nothing goes out unsigned, and nothing is lost
    while an administrator sets one.
    """
    try:
        client = webhook_client_get(destination=destination)
    except ApiClient.DoesNotExist as error:
        raise DeliveryError(str(error), permanent=True) from error
    if not client.user.is_active:
        raise DeliveryError(f"API client {client} is deactivated.", permanent=True)
    if not client.callback_url:
        raise DeliveryError(f"API client {client} has no callback URL any more.", permanent=True)
    if urlsplit(client.callback_url).scheme not in ("http", "https"):
        raise DeliveryError(
            f"API client {client}: the callback URL is not http(s): "
            f"{_without_credentials(client.callback_url)}",
            permanent=True,
        )
    if not client.callback_secret:
        raise DeliveryError(f"API client {client} has no callback secret; waiting for one.")
    return client


def _post(request: urllib.request.Request, *, what: str) -> tuple[int, bytes]:
    """The receiver's status and the start of its answer, or a transient DeliveryError."""
    opener = urllib.request.build_opener(_NoRedirects)
    timeout = settings.RIS_WEBHOOK_TIMEOUT
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, b""
    except urllib.error.HTTPError as error:  # an answer, not 2xx
        with error:
            return error.code, _start_of(error)
    except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets
        where = _without_credentials(request.full_url)
        raise DeliveryError(f"{what}: no answer from {where}: {error}") from error


def _without_credentials(url: str) -> str:
    """The URL for logs and the outbox's last error: a user:password@ part of it
    is a secret, like the callback secret."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def _start_of(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(ERROR_BODY_BYTES)
    except (OSError, http.client.HTTPException):
        return b""


def _check(status: int, answer: bytes, *, what: str) -> None:
    """Return if the receiver took the message; raise DeliveryError, sorted, if not."""
    if 200 <= status < 300:
        LOGGER.info("%s delivered (HTTP %d)", what, status)
        return
    reason = f"{what}: HTTP {status}"
    if answer:
        reason += f": {answer.decode('utf-8', 'replace').strip()}"
    if status in RETRY_LATER or status >= 500:
        raise DeliveryError(reason)
    raise DeliveryError(reason, permanent=True)
