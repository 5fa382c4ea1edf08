"""The remote AEs the DICOM service has looked up, kept in memory while
PostgreSQL tells it of every change to them.

Every association starts with the calling AE title's lookup: a connection
from the pool (with its health check) and a query, about 0.6 ms of the
association's set-up (docs/benchmarks.md), for a table that changes a few
times a year. A trigger on the table (migration 0003) sends a notification
on every change, by any process, whatever wrote it (the admin, the API, a
bulk update, SQL by hand), when its transaction commits; the directory's
watcher forgets everything it holds when one comes.

It holds anything only while its watcher is listening: on SQLite, before the
LISTEN is up, and from the moment the LISTEN connection is lost until it is
back, every lookup goes to the database. A lookup whose answer was read
before a change was heard is not kept (the directory's generation moved on).
"""

import logging
import threading

from django.db import connection

from ris.outbox.wakeup import Listener

LOGGER = logging.getLogger("ris.nodes")

# The notification's payload (on ris.outbox.wakeup.NOTIFY_CHANNEL) for a change to the remote AEs.
REMOTE_AES_CHANGED = "remote_aes"
# How often the watcher looks at its LISTEN connection when nothing comes:
# how long a directory may go on trusting a connection lost without a word.
WATCH_INTERVAL = 1.0
# Unknown titles are answered too (None): a caller trying titles at random
# fills the directory up to here, and is then looked up each time.
MOST_KEPT = 4096
# How long start() waits for the LISTEN connection (seconds).
START_WAIT = 5.0


class RemoteAEDirectory:
    """Answers to a lookup function, by calling AE title, kept while trusted."""

    def __init__(self):
        self._answers: dict = {}
        self._generation = 0
        self._trusted = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._users = 0

    def __contains__(self, title: str) -> bool:
        """Whether an answer for `title` is kept."""
        return title in self._answers

    def lookup(self, title: str, load):
        """The answer for `title`: kept, or `load(title)` (kept if trusted)."""
        generation, trusted = self._generation, self._trusted
        if trusted:
            try:
                return self._answers[title]
            except KeyError:
                pass
        answer = load(title)
        with self._lock:
            unchanged = trusted and self._trusted and generation == self._generation
            if unchanged and len(self._answers) < MOST_KEPT:
                self._answers[title] = answer
        return answer

    def forget(self, *, trusted: bool) -> None:
        """Forget every answer; keep new ones from now on only if `trusted`."""
        with self._lock:
            self._answers.clear()
            self._generation += 1
            self._trusted = trusted

    def start(self) -> None:
        """Watch for changes (PostgreSQL only; elsewhere nothing is kept)
        until every start() has had its stop()."""
        with self._lock:
            self._users += 1
            if connection.vendor != "postgresql" or self._watcher is not None:
                return
            self._stop.clear()
            started = threading.Event()
            self._watcher = threading.Thread(
                target=self._watch, args=(started,), name="remote-ae-directory", daemon=True
            )
            self._watcher.start()
        # Back once its LISTEN is up (or has failed): the service then starts
        # with its one connection for it open, and trusting it.
        started.wait(START_WAIT)

    def stop(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._watcher is None:
                return
            watcher, self._watcher = self._watcher, None
        self._stop.set()
        watcher.join()

    def _watch(self, started: threading.Event) -> None:
        listener = Listener(channel=REMOTE_AES_CHANGED, stop=self._stop)
        try:
            self.forget(trusted=listener.listening)
            started.set()
            while not self._stop.is_set():
                changed = listener.wait(WATCH_INTERVAL)
                # Once listening again, what changed meanwhile was not heard.
                if changed or listener.listening != self._trusted:
                    self.forget(trusted=listener.listening)
        except Exception:
            LOGGER.exception("The remote AE directory stopped watching; it keeps nothing now")
        finally:
            started.set()
            self.forget(trusted=False)
            listener.close()


DIRECTORY = RemoteAEDirectory()
