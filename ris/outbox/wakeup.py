"""Waking dispatchers: NOTIFY and LISTEN on PostgreSQL, a plain timer elsewhere.

On PostgreSQL a new message wakes every listening dispatcher as soon as its
transaction commits, so delivery starts at once. The dispatchers still look
at the queue every poll interval: a retry becomes due by the clock, not by a
notification, and a notification sent while a listener was reconnecting is lost.
"""

import logging
import threading
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db import Error as DjangoDatabaseError

LOGGER = logging.getLogger("ris.outbox")

NOTIFY_CHANNEL = "ris_outbox"
# How often a waiting listener checks whether it was asked to stop.
STOP_CHECK_INTERVAL = 0.25


def notify(*, channel: str) -> None:
    """Tell listening dispatchers that `channel` has a new message (PostgreSQL only).

    Sent inside the caller's transaction on purpose: PostgreSQL holds a NOTIFY
    issued in a transaction until COMMIT and drops it on ROLLBACK (SQL command
    reference, NOTIFY), so it is already "on commit", with no callback to lose
    if the process dies between the commit and the callback.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, channel])


class Sleeper:
    """The waiter for databases without LISTEN: sleep the poll interval, or until stopped."""

    def __init__(self, *, stop: threading.Event):
        self._stop = stop

    def wait(self, timeout: float) -> bool:
        self._stop.wait(timeout)
        return False

    def close(self) -> None:
        pass


class Listener:
    """LISTEN on a connection of its own, beside the Django connection the dispatcher uses.

    Its own, because close_old_connections() may close the dispatcher's
    connection between two turns of the loop, and with it the LISTEN. It is
    opened before the dispatcher's first claim, so no commit falls between a
    claim that found nothing and the wait that follows it. And not one of
    the pool's: the service's six dispatchers would hold six of them for
    good, and a pool of eight left the associations next to none.
    """

    def __init__(self, *, channel: str, stop: threading.Event):
        self._channel = channel
        self._stop = stop
        self._database = None
        try:
            self._listen()
        except (DjangoDatabaseError, psycopg.Error) as error:
            LOGGER.warning("Cannot LISTEN yet (%s); polling until it can", error)
            self.close()

    def wait(self, timeout: float) -> bool:
        """Return when `channel` gets a message (True), `timeout` seconds pass,
        or stop is set."""
        deadline = time.monotonic() + timeout
        try:
            if self._database is None:
                self._listen()
            while not self._stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                if self._notified(min(remaining, STOP_CHECK_INTERVAL)):
                    return True
        except (DjangoDatabaseError, psycopg.Error) as error:
            LOGGER.warning("Lost the LISTEN connection (%s); polling until it is back", error)
            self.close()
            self._stop.wait(max(0.0, deadline - time.monotonic()))
        return False

    @property
    def listening(self) -> bool:
        """Whether a message sent now would reach this listener."""
        return self._database is not None

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None

    def _listen(self) -> None:
        self._database = _unpooled_connection()
        with self._database.cursor() as cursor:  # autocommit: LISTEN takes effect now
            cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def _notified(self, timeout: float) -> bool:
        notifications = self._database.connection.notifies(timeout=timeout)
        try:
            return any(notification.payload == self._channel for notification in notifications)
        finally:
            notifications.close()  # the generator holds the connection's lock until closed


def _unpooled_connection():
    """A Django connection to the default database, outside its connection pool."""
    settings_dict = dict(connections.settings[DEFAULT_DB_ALIAS])
    settings_dict["OPTIONS"] = {
        name: value for name, value in settings_dict["OPTIONS"].items() if name != "pool"
    }
    return connections[DEFAULT_DB_ALIAS].__class__(settings_dict, DEFAULT_DB_ALIAS)


def waiter_for(*, channel: str, stop: threading.Event) -> Listener | Sleeper:
    """A Listener on PostgreSQL, a Sleeper elsewhere."""
    if connection.vendor == "postgresql":
        return Listener(channel=channel, stop=stop)
    return Sleeper(stop=stop)
