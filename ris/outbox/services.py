"""The write path of the outbox: queue a message, claim it, record how its delivery went.

Delivery is at least once. A dispatcher claims a message for a limited time
(RIS_OUTBOX_CLAIM_TIMEOUT), delivers it outside any transaction, then records
the outcome; if it dies on the way, the claim runs out and another dispatcher
sends the message again. Receivers see a repeat as a duplicate (for DICOM
N-CREATE, status 0x0111), never a loss.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from ris.outbox import wakeup
from ris.outbox.models import OutboundMessage, State
from ris.outbox.selectors import outbox_due_heads

LOGGER = logging.getLogger("ris.outbox")

# 2 ** 30 times any sensible base is far past any cap; a larger exponent only
# risks overflow after a destination has been down for a long time.
_MAX_BACKOFF_EXPONENT = 30


def outbox_enqueue(*, channel: str, destination: str, payload: dict) -> OutboundMessage:
    """Queue a message. Call it inside the transaction of the change the message reports.

    It opens no transaction of its own: it joins the caller's, so the message
    is committed with the change or rolled back with it (transactional outbox).
    """
    [message] = outbox_enqueue_all(messages=[(channel, destination, payload)])
    return message


def outbox_enqueue_all(*, messages: Iterable[tuple[str, str, dict]]) -> list[OutboundMessage]:
    """Queue (channel, destination, payload) messages, in this order, as
    outbox_enqueue does one: an event to fifty subscribers is one INSERT and
    one NOTIFY per channel, not fifty of each (a round trip each, in the
    transaction the change's requester waits for)."""
    queued = [
        OutboundMessage(channel=channel, destination=destination, payload=payload)
        for channel, destination, payload in messages
    ]
    for message in queued:
        message.full_clean()
    # In one statement the keys are given in the rows' order, which is each
    # destination's order of delivery.
    OutboundMessage.objects.bulk_create(queued, batch_size=ENQUEUED_PER_INSERT)
    for channel in dict.fromkeys(message.channel for message in queued):
        wakeup.notify(channel=channel)
    return queued


# Rows per INSERT: well under PostgreSQL's 65,535 parameters (and SQLite's
# limit, which Django keeps to by itself).
ENQUEUED_PER_INSERT = 1000


@transaction.atomic
def outbox_claim_next(*, channel: str, destination: str | None = None) -> OutboundMessage | None:
    """Claim the next message that may be sent on `channel` (to `destination`
    if given: a connection of the destination's own drains its queue), or
    None if none is due.

    The claim counts an attempt and holds the message for RIS_OUTBOX_CLAIM_TIMEOUT
    seconds; it stays pending, so the messages behind it keep waiting.
    """
    now = timezone.now()
    message = _first_due(channel, destination, now)
    if message is None:
        return None
    message.attempts += 1
    message.claimed_until = now + timedelta(seconds=settings.RIS_OUTBOX_CLAIM_TIMEOUT)
    message.save(update_fields=["attempts", "claimed_until"])
    return message


def _first_due(channel: str, destination: str | None, now: datetime) -> OutboundMessage | None:
    """The first due message (outbox_due_heads), locked, or None.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so that dispatchers claiming at the
    same moment each lock a different row instead of all taking, or waiting
    for, the first one. SQLite has no row locks and Django leaves the clause
    out; there the transaction starts with BEGIN IMMEDIATE (settings), which
    takes the database's single write lock, so claims run one at a time.
    """
    alias = router.db_for_write(OutboundMessage)
    sql, params, times = _claim_statement(alias, channel, destination)
    params, claim_time = list(params), connections[alias].ops.adapt_datetimefield_value(now)
    for index in times:
        params[index] = claim_time
    return next(iter(OutboundMessage.objects.db_manager(alias).raw(sql, params)), None)


# The time a claim's statement is compiled with, replaced in its parameters by
# the time of each claim: no claim is made at this very microsecond.
_COMPILED_AT = datetime(2000, 1, 1, 0, 0, 0, 123457, tzinfo=UTC)


@lru_cache(maxsize=1024)
def _claim_statement(alias: str, channel: str, destination: str | None) -> tuple:
    """The claim's SQL and parameters, and where its time goes in them.

    Compiled by Django once per channel and destination, not at every claim:
    building and compiling the query of due heads was 1.9 of the 4.2 ms a
    claim took (docs/benchmarks.md), and a dispatcher claims before every
    message it sends, an event report to each of fifty subscribers too.
    """
    due = outbox_due_heads(channel=channel, now=_COMPILED_AT, destination=destination)
    compiler = due.select_for_update(skip_locked=True)[:1].query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    compiled_at = connections[alias].ops.adapt_datetimefield_value(_COMPILED_AT)
    times = tuple(index for index, value in enumerate(params) if value == compiled_at)
    return sql, tuple(params), times


def outbox_mark_delivered(*, message: OutboundMessage) -> bool:
    """Record that the claimed `message` was delivered; False if the claim had been lost."""
    return _record_outcome(message, state=State.DELIVERED, delivered_at=timezone.now())


def outbox_release(*, message: OutboundMessage) -> bool:
    """Give a claimed message back unsent (its connection closed first): due
    again at once, the attempt not counted. False if the claim had been lost."""
    return _record_outcome(message, attempts=message.attempts - 1)


def outbox_mark_failed(*, message: OutboundMessage, error: str, permanent: bool = False) -> bool:
    """Record a failed attempt: retry after a back-off, or give up if `permanent`.

    By default a message is never given up for failing too often: a destination
    that is down loses nothing and gets everything, in order, when it is back.
    RIS_OUTBOX_MAX_ATTEMPTS > 0 sets a limit. False if the claim had been lost.
    """
    limit = settings.RIS_OUTBOX_MAX_ATTEMPTS
    if not permanent and limit and message.attempts >= limit:
        permanent, error = True, f"Gave up after {message.attempts} attempts. {error}"
    changes = {"last_error": error, "claimed_until": None}
    if permanent:
        changes["state"] = State.DEAD
        LOGGER.error("%s failed permanently; later messages go ahead: %s", message, error)
    else:
        delay = backoff_delay(attempts=message.attempts)
        changes["next_attempt_at"] = timezone.now() + delay
        LOGGER.warning(
            "%s: attempt %d failed, next in %.1f s: %s",
            message,
            message.attempts,
            delay.total_seconds(),
            error,
        )
    return _record_outcome(message, **changes)


def backoff_delay(*, attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: the base, doubling, up to the cap."""
    exponent = min(max(attempts - 1, 0), _MAX_BACKOFF_EXPONENT)
    seconds = settings.RIS_OUTBOX_BACKOFF_BASE * 2**exponent
    return timedelta(seconds=min(seconds, settings.RIS_OUTBOX_BACKOFF_CAP))


@transaction.atomic
def outbox_retry_now(*, message_ids: Iterable[int]) -> int:
    """Make pending and dead messages due now; returns how many. Delivered ones stay.

    A dead message becomes pending again in its old place: it goes before every
    message queued after it for its destination, as it would have. Its attempts
    start again from zero, so that RIS_OUTBOX_MAX_ATTEMPTS gives it a full run.
    """
    retried = OutboundMessage.objects.filter(pk__in=list(message_ids)).exclude(
        state=State.DELIVERED
    )
    for channel in set(retried.values_list("channel", flat=True)):
        wakeup.notify(channel=channel)
    return retried.update(state=State.PENDING, attempts=0, next_attempt_at=timezone.now())


@transaction.atomic
def outbox_give_up(*, message_ids: Iterable[int], reason: str) -> int:
    """Stop trying pending messages, so that the messages behind them go ahead."""
    pending = OutboundMessage.objects.filter(pk__in=list(message_ids), state=State.PENDING)
    return pending.update(state=State.DEAD, last_error=reason, claimed_until=None)


def _record_outcome(message: OutboundMessage, **changes) -> bool:
    """Update the message, in memory too, if the claim is still this dispatcher's.

    One UPDATE that compares and sets on (state, attempts), not a read then a
    write: if the claim ran out and another dispatcher claimed the message
    again (attempts moved on), or an operator gave it up, this attempt no
    longer decides.
    """
    changes.setdefault("claimed_until", None)
    claimed = OutboundMessage.objects.filter(
        pk=message.pk, state=State.PENDING, attempts=message.attempts
    )
    if not claimed.update(**changes):
        LOGGER.warning(
            "%s: outcome of attempt %d not recorded, claim lost", message, message.attempts
        )
        return False
    for field, value in changes.items():
        setattr(message, field, value)
    return True
