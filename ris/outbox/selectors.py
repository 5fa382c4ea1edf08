"""Read paths of the outbox: which message may go next."""

from datetime import datetime

from django.db.models import Min, Q, QuerySet

from ris.outbox.models import OutboundMessage, State


def outbox_due_heads(
    *, channel: str, now: datetime, destination: str | None = None
) -> QuerySet[OutboundMessage]:
    """Messages that may be sent now, longest waiting first.

    A message may go when it is pending, its back-off has run out, no
    dispatcher holds a live claim on it, and no message queued before it for
    the same destination is still pending: that last rule keeps each
    destination's messages strictly in order (an N-SET never overtakes the
    N-CREATE of its instance), while other destinations go on. With
    `destination`, that destination's only.
    """
    pending = OutboundMessage.objects.filter(channel=channel, state=State.PENDING)
    if destination is not None:
        pending = pending.filter(destination=destination)
    # Each destination's head, its oldest pending message, from the index on
    # (channel, destination, id). Not "no earlier message is pending" row by
    # row: behind a destination that is down, a backlog of thousands would be
    # probed on every claim of every dispatcher.
    heads = pending.values("destination").annotate(head=Min("id")).values("head")
    return (
        pending.filter(id__in=heads, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at", "id")
    )
