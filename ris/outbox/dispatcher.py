"""The dispatcher loop: claim the next due message, deliver it, record the outcome.

Any number of dispatchers may run for one channel, in threads or processes:
the claim (ris.outbox.services) hands each message to one of them at a time
and keeps every destination's messages in order. What "deliver" means is the
caller's: `dimse.dispatch.deliver_dicom` for the DICOM channel.
"""

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import close_old_connections, connections

from ris.outbox import wakeup
from ris.outbox.errors import DeliveryError
from ris.outbox.models import OutboundMessage
from ris.outbox.services import outbox_claim_next, outbox_mark_delivered, outbox_mark_failed

LOGGER = logging.getLogger("ris.outbox")

Deliver = Callable[[OutboundMessage], None]


class HeldConnection(Protocol):
    """A connection the deliver function keeps open between messages.

    `destination` is the one it is open to (None if closed); `drained` says
    it has carried its share and should give others a turn.
    """

    destination: str | None
    drained: bool

    def close(self) -> None: ...


def run_dispatcher(
    *,
    channel: str,
    deliver: Deliver,
    stop: threading.Event,
    poll_interval: float | None = None,
    held: HeldConnection | None = None,
) -> None:
    """Deliver `channel`'s messages until `stop` is set. Run it in its own thread or process.

    Messages are handled back to back while any is due; then the loop waits
    for a NOTIFY (PostgreSQL) or `poll_interval` seconds (default
    RIS_OUTBOX_POLL_INTERVAL), whichever comes first. The thread's database
    connections are closed when it returns.

    With a `held` connection (one the deliver function keeps open), the
    messages due for its destination go first, on it; it is closed once its
    destination has none due, or once it is drained, and when the loop ends.
    """
    interval = settings.RIS_OUTBOX_POLL_INTERVAL if poll_interval is None else poll_interval
    LOGGER.info("Dispatcher for %s messages started", channel)
    waiter = wakeup.waiter_for(channel=channel, stop=stop)
    try:
        while not stop.is_set():
            if not _turn(channel=channel, deliver=deliver, held=held):
                waiter.wait(interval)
    finally:
        waiter.close()
        if held is not None:
            held.close()
        connections.close_all()
        LOGGER.info("Dispatcher for %s messages stopped", channel)


def dispatch_next(*, channel: str, deliver: Deliver, destination: str | None = None) -> bool:
    """Claim and deliver one message (for `destination` only, if given); False
    if none was due."""
    message = outbox_claim_next(channel=channel, destination=destination)
    if message is None:
        return False
    try:
        deliver(message)
    except DeliveryError as error:
        outbox_mark_failed(message=message, error=str(error), permanent=error.permanent)
    except Exception as error:
        # A bug in the deliver function, not a verdict on the message: retry
        # it (a fixed release will deliver it) and keep the loop alive.
        LOGGER.exception("Delivering %s raised", message)
        outbox_mark_failed(message=message, error=f"{type(error).__name__}: {error}")
    else:
        outbox_mark_delivered(message=message)
    return True


def _turn(*, channel: str, deliver: Deliver, held: HeldConnection | None) -> bool:
    """One turn of the loop; True if a message was handled, so the next may follow at once."""
    # As any long-running Django process must: drop a connection that is
    # broken (database restarted) or past CONN_MAX_AGE before using it, and
    # after: a pooled connection goes back to the pool for the wait between
    # turns, not held by each of the service's dispatchers (six) while the
    # associations queue for what is left of a small pool.
    close_old_connections()
    try:
        if held is not None and held.destination is not None:
            if not held.drained and dispatch_next(
                channel=channel, deliver=deliver, destination=held.destination
            ):
                return True
            held.close()
        return dispatch_next(channel=channel, deliver=deliver)
    except Exception:
        # The database is away (restart, failover): wait a poll interval and
        # try again rather than end the thread. A message claimed before the
        # error is sent again when its claim runs out.
        LOGGER.exception("Dispatcher for %s messages: error, retrying", channel)
        return False
    finally:
        close_old_connections()
