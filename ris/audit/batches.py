"""Audit events written in batches, off the path of the operation they record.

A worklist query changes nothing, so no transaction of its own carries its
audit row; writing one row per query synchronously would add a database
round trip (and, on SQLite, a write lock) to every query of every modality.
Instead a process that answers many of them (the DICOM service) runs one
writer thread, which inserts what has been queued every half second.

What a writer keeps in memory is lost if the process is killed outright
(SIGKILL): at most the last half second of reads and refusals. A change is
never recorded this way: its row is written in the change's own transaction
(ris.audit.services.audit_record).
"""

import logging
import threading
from collections import deque

from django.db import close_old_connections, connections

from ris.audit.models import AuditEvent
from ris.health import DATABASE_UNAVAILABLE

LOGGER = logging.getLogger("ris")

WRITE_EVERY_SECONDS = 0.5
# While the database is away events wait in memory, up to this many; beyond
# it the oldest are dropped, and the number dropped is logged.
MOST_WAITING = 100_000


class BatchWriter:
    def __init__(self):
        self._waiting: deque[AuditEvent] = deque()
        self._lock = threading.Lock()  # held while events are added or taken
        self._writing = threading.Lock()  # one batch at a time, in order
        self._users = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dropped = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def add(self, event: AuditEvent) -> None:
        with self._lock:
            if len(self._waiting) >= MOST_WAITING:
                self._waiting.popleft()
                self._dropped += 1
            self._waiting.append(event)

    def start(self) -> None:
        """Write batches in a thread until every start() has had its stop()."""
        with self._lock:
            self._users += 1
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """The last user's stop ends the thread and writes what is waiting;
        what cannot be written then is lost, and the log says how much."""
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._thread is None:
                return
            thread, self._thread = self._thread, None
        self._stop.set()
        thread.join()
        if not self.write():
            with self._lock:
                lost, self._waiting = len(self._waiting), deque()
            LOGGER.error("Audit: %d events were lost: the database was away at shutdown", lost)

    def write(self) -> bool:
        """Insert everything waiting; False (and kept, to try again) if the
        database cannot be reached."""
        with self._writing:
            with self._lock:
                batch, self._waiting = list(self._waiting), deque()
                dropped, self._dropped = self._dropped, 0
            if dropped:
                LOGGER.error("Audit: %d events were dropped while the database was away", dropped)
            if not batch:
                return True
            try:
                AuditEvent.objects.bulk_create(batch, batch_size=500)
            except DATABASE_UNAVAILABLE as error:
                LOGGER.warning("Audit: %d events wait for the database (%s)", len(batch), error)
                with self._lock:
                    self._waiting.extendleft(reversed(batch))
                return False
            return True

    def _run(self) -> None:
        try:
            while not self._stop.wait(WRITE_EVERY_SECONDS):
                close_old_connections()  # a connection the database dropped is not reused
                try:
                    self.write()
                except Exception:
                    LOGGER.exception("Audit: writing a batch failed")
        finally:
            connections.close_all()


WRITER = BatchWriter()
