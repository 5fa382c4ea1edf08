"""The UPS-RS event channel (PS3.18 11.13): a WebSocket per subscriber AE title.

A UPS-RS subscriber subscribes over HTTP (its events are then queued on the
outbox's "ups-websocket" channel, in the transaction of each change) and
opens `ws[s]://<host>/dicomweb/subscribers/<AE title>`. While the socket is
open, its events are sent in order, one text frame each; events queued while
it was closed wait for it (the standard lets them be dropped; a subscriber
that reconnects loses nothing here). A frame sent counts as delivered:
WebSocket has no acknowledgement.
"""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import path
from rest_framework.authtoken.models import Token

from ris.outbox.models import Channel
from ris.outbox.services import outbox_claim_next, outbox_mark_delivered, outbox_release
from ris.ups.events import event_report_json
from ris.ups.selectors import websocket_subscriber_owned_by


class TokenAuthMiddleware:
    """Signs in a client that sends `Authorization: Token <key>` (DRF's tokens,
    as for the REST API); other clients keep what the session gave them."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        kind, _, key = header.partition(" ")
        if kind.lower() == "token" and key:
            scope = dict(scope, user=await _user_for_token(key.strip()))
        return await self.inner(scope, receive, send)


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class UpsEventConsumer(AsyncWebsocketConsumer):
    """Sends one subscriber AE title's queued UPS events while its socket is open."""

    async def connect(self):
        user = self.scope.get("user")
        self.ae_title = self.scope["url_route"]["kwargs"]["ae_title"].strip()
        if user is None or not user.is_authenticated or not await _may_open(user, self.ae_title):
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.open = True
        await self.accept()
        self.sender = asyncio.create_task(self._send_events())

    async def disconnect(self, code):
        """Let the sender finish its step rather than cancel it: cancelled
        between claiming a message and sending it, it would leave the message
        claimed, and late, until the claim ran out."""
        self.open = False
        sender = getattr(self, "sender", None)
        if sender is not None:
            await sender

    async def receive(self, text_data=None, bytes_data=None):
        """The channel is one-way (PS3.18 11.13); what a client sends is ignored."""

    async def _send_events(self):
        interval = settings.RIS_UPSRS_WEBSOCKET_POLL_INTERVAL
        while self.open:
            message = await _claim(self.ae_title)
            if message is None:
                await asyncio.sleep(interval)
                continue
            if not self.open or not await self._sent(message):
                await database_sync_to_async(outbox_release)(message=message)
                return
            await database_sync_to_async(outbox_mark_delivered)(message=message)

    async def _sent(self, message) -> bool:
        report = event_report_json(message.payload, message_id=message.pk)
        try:
            await self.send(text_data=json.dumps(report))
        except Exception:  # the socket is gone; the message goes on the next one
            return False
        return True


@database_sync_to_async
def _may_open(user, ae_title: str) -> bool:
    """The client that subscribed the AE title opens its socket (or a person
    whose roles let them see workitems)."""
    if user.has_perm("ups.view_workitem"):
        return True
    return websocket_subscriber_owned_by(ae_title=ae_title, user=user)


@database_sync_to_async
def _claim(ae_title: str):
    return outbox_claim_next(channel=Channel.UPS_WEBSOCKET, destination=ae_title)


websocket_urlpatterns = [
    path("dicomweb/subscribers/<str:ae_title>", UpsEventConsumer.as_asgi()),
]
