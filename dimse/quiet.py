"""Quiet associations that cost (almost) nothing.

pynetdicom serves an association with two threads that poll: the association
thread sleeps 1 ms and asks its DIMSE provider for the next message, over and
over, and the DUL thread looks at the socket as often. A thousand wake-ups a
second each: fifty modalities holding associations open kept 1.4 cores of
the service's machine busy doing nothing (bench/mwl_load.py's set-up,
measured).

QuietDIMSEProvider keeps that polling while an association is busy, and once
it has had no message for QUIET_AFTER seconds, waits for the next message
instead, up to QUIET_POLL at a time, and slows the DUL's polling to match:
twenty times fewer wake-ups. The price: the first message after a quiet spell
waits up to about twice QUIET_POLL; the messages that follow it do not.
"""

import queue
import time

from pynetdicom.dimse import DIMSEServiceProvider

QUIET_AFTER = 1.0  # seconds without a message before an association counts as quiet
QUIET_POLL = 0.02  # seconds between looks while quiet
BUSY_POLL = 0.001  # pynetdicom's own DUL loop delay


class QuietDIMSEProvider(DIMSEServiceProvider):
    """pynetdicom's DIMSE provider, waiting for messages once the association is quiet."""

    def __init__(self, assoc):
        super().__init__(assoc)
        self._last_message = time.monotonic()

    def get_msg(self, block: bool = False):
        if block:
            return super().get_msg(block=True)
        quiet = time.monotonic() - self._last_message > QUIET_AFTER
        try:
            item = self.msg_queue.get(block=quiet, timeout=QUIET_POLL if quiet else None)
        except queue.Empty:
            self.assoc.dul._run_loop_delay = QUIET_POLL if quiet else BUSY_POLL
            return None, None
        # Busy again before the message is served: its responses go out at
        # the DUL's usual pace.
        self._last_message = time.monotonic()
        self.assoc.dul._run_loop_delay = BUSY_POLL
        return item
