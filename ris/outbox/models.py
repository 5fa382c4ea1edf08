"""Outbound messages: one row per message the RIS must deliver to another system.

A destination's messages form a queue ordered by primary key: a message is
sent only when every message queued before it for the same channel and
destination has been delivered or given up.
"""

from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    """How a message travels; each channel has its own dispatcher and deliver function."""

    DICOM = "dicom", "DICOM (N-CREATE, N-SET to a remote AE)"
    UPS_EVENT = "ups-event", "UPS event (N-EVENT-REPORT)"
    UPS_WEBSOCKET = "ups-websocket", "UPS event (UPS-RS WebSocket)"
    WEBHOOK = "webhook", "HIS webhook"


class State(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    DEAD = "dead", "failed permanently"


class OutboundMessage(models.Model):
    """A message for one destination, with its delivery history.

    The primary key is the queue's sequence: ids grow in the order messages
    are inserted, so a destination's messages go out in the order the changes
    that caused them were made. (Of two transactions running at the same time
    the later id may commit first and be sent first; neither caused the other.)
    """

    channel = models.CharField(max_length=32, choices=Channel)
    destination = models.CharField(
        max_length=255,
        help_text="Whom the message is for, as its channel names it: for DICOM, the AE "
        "title of a remote AE. Each channel and destination is one ordered queue.",
    )
    payload = models.JSONField(help_text="What to send, in the channel's own shape.")
    state = models.CharField(max_length=16, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Delivery attempts started.")
    next_attempt_at = models.DateTimeField(
        default=timezone.now, help_text="Not tried again before this time (back-off)."
    )
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While a dispatcher is delivering the message: when its claim runs out "
        "and another dispatcher may try (the first one is presumed dead).",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbound message"
        indexes = [
            # The claim: due pending messages of a channel, longest waiting first.
            models.Index(
                fields=["channel", "next_attempt_at", "id"],
                condition=models.Q(state="pending"),
                name="outbox_pending_due",
            ),
            # The claim's test that nothing queued earlier for the destination is pending.
            models.Index(
                fields=["channel", "destination", "id"],
                condition=models.Q(state="pending"),
                name="outbox_pending_queue",
            ),
        ]

    def __str__(self):
        return f"{self.channel} message {self.pk} to {self.destination} ({self.state})"
