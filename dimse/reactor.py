"""Associations that sleep until there is work, instead of polling for it.

pynetdicom serves an association with two threads that poll. The DUL thread
looks at its outgoing queue and at the socket, sleeping a millisecond between
idle turns; the association thread asks for the next DIMSE message every
millisecond, and sleeps a millisecond at each turn of its loop. Every PDU in
either direction waited for one of those polls, several per association:
most of the 10 ms pynetdicom took over an echo that DCMTK answers in under
one (docs/benchmarks.md). And fifty associations held open while idle kept
1.4 cores busy waking up.

Here an association the service accepts has one thread, which waits on what
it is waiting for: the peer's socket, in select() (InlineDUL, whose turns it
runs itself, and InlineDIMSEProvider). An association the RIS requests (the
dispatcher's) keeps pynetdicom's two threads, each waiting on its own:

- the DUL thread in select() on the peer's socket and on a wake-up socket
  that is written whenever a primitive is queued for the peer (WakefulDUL);
- the association thread on an Event that is set whenever a DIMSE message,
  or an A-RELEASE or A-ABORT, comes up from the DUL (WaitingDIMSEProvider).

Either way the reactor loop does not sleep between turns (serve_until_ended),
and the threads still wake every LONGEST_SLEEP to look at their timers
(ARTIM, network idle timeout), which pynetdicom keeps as timestamps to be
polled.

And the peer's PDUs are read within limits of size and time, without
delaying our acknowledgement of them (GuardedSocket).
"""

import contextlib
import functools
import logging
import math
import queue
import select
import socket
import ssl
import struct
import threading
import time

from pynetdicom import AE, evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.fsm import StateMachine
from pynetdicom.pdu_primitives import A_ASSOCIATE, P_DATA
from pynetdicom.transport import AssociationSocket

from dimse.commands import COMMAND, LAST, PDV_HEADER, packed_response

LOGGER = logging.getLogger("pynetdicom")  # its reactor's messages, as they were
LONGEST_SLEEP = 0.5  # seconds; how late a timer expiry may be noticed
# How long pynetdicom's Association.kill() sleeps between asking the DUL to stop.
KILL_RETRY = 0.01


class SignallingQueue(queue.Queue):
    """A queue that calls `signal` after each item is put on it."""

    def __init__(self, signal):
        super().__init__()
        self._signal = signal

    def put(self, item, block=True, timeout=None):
        super().put(item, block, timeout)
        self._signal()


class PackedData(P_DATA):
    """A P-DATA request whose P-DATA-TF PDUs are already encoded (`encoded`).

    In the Data Transfer state (Sta6) WakefulDUL sends those bytes as they
    are, with any packed requests queued right behind it, in one write:
    pynetdicom's path (the state machine's DT-1, a PDU object made from the
    primitive and encoded, two events) cost about 1 ms of the service's CPU
    in a query of 19 matches (docs/benchmarks.md). In any other state the
    primitive is an ordinary P-DATA, its `presentation_data_value_list` the
    same PDVs, for the state machine to handle as the standard says (PS3.8
    9.2 Table 9-10).
    """

    encoded: bytes = b""

    @classmethod
    def of(cls, pdvs: list[list]) -> "PackedData":
        """A P-DATA request of one PDU's PDVs, each [presentation context ID,
        message control header + fragment] as pynetdicom holds them."""
        primitive = cls()
        primitive.presentation_data_value_list = pdvs
        # PS3.8 9.3.5, Tables 9-22 and 9-23: PDU type 04H, a reserved byte, the
        # PDU length; each PDV item its length, context ID, then the PDV.
        items = b"".join(struct.pack(">LB", 1 + len(pdv), context) + pdv for context, pdv in pdvs)
        primitive.encoded = struct.pack(">BxL", 0x04, len(items)) + items
        return primitive


class TellingStateMachine(StateMachine):
    """pynetdicom's state machine, which threads can wait on for a state."""

    def __init__(self, dul):
        super().__init__(dul)
        self._changed = threading.Condition()

    def transition(self, state: str) -> None:
        with self._changed:
            super().transition(state)
            self._changed.notify_all()

    def wait_for(self, state: str, timeout: float) -> bool:
        """Whether the machine is in `state`, or gets there within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.current_state == state, timeout)


class WakefulDUL(DULServiceProvider):
    """pynetdicom's DICOM upper layer, sleeping in select() between PDUs.

    pynetdicom's reactor loop is kept as it is (one primitive out or one PDU
    in per turn, then the state machine); only its wait changes. With no
    loop delay, a turn that finds nothing to send waits in
    _is_transport_event until the peer sends or a primitive is queued.
    """

    def __init__(self, assoc, inbox: threading.Event):
        super().__init__(assoc)
        self.state_machine = TellingStateMachine(self)
        self._run_loop_delay = 0
        self._bell, self._bell_ringer = socket.socketpair()
        self._bell.setblocking(False)
        self._bell_ringer.setblocking(False)
        self._asleep = False
        self.to_provider_queue = SignallingQueue(self._wake)
        self.to_user_queue = SignallingQueue(inbox.set)

    def run(self):
        try:
            super().run()
        finally:
            self._bell.close()
            self._bell_ringer.close()
            # The association thread notices the DUL has ended; if it is still
            # waiting for the A-ASSOCIATE-RQ of a connection closed before
            # sending one (a port scan, a load balancer's TCP check), None is
            # its "none came", at once rather than after the ACSE timeout.
            self.to_user_queue.put(None)

    def _wake(self) -> None:
        # Only a sleeping DUL needs the system call: under load, each one
        # gives up the GIL, and getting it back can take a switch interval.
        if self._asleep:
            self._ring()

    def _ring(self) -> None:
        # A full buffer means a wake-up is already pending; a closed one, that the DUL has ended.
        with contextlib.suppress(OSError):
            self._bell_ringer.send(b"\0")

    def _process_recv_primitive(self) -> bool:
        if self.state_machine.current_state == "Sta6" and self._send_packed():
            return True
        return super()._process_recv_primitive()

    def _send_packed(self) -> bool:
        """Send the packed P-DATA requests at the head of the queue, if any, in
        one write (a failed write is the connection closed, Evt17)."""
        outgoing, packed = self.to_provider_queue, []
        # Looking at the head, as pynetdicom does: only this thread takes from the queue.
        while outgoing.queue and isinstance(outgoing.queue[0], PackedData):
            packed.append(outgoing.get_nowait().encoded)
        if packed:
            self.socket.send(b"".join(packed))
        return bool(packed)

    def _is_transport_event(self) -> bool:
        # Sta13 (waiting for the peer to close) reads what is left, then closes at once.
        if self.state_machine.current_state != "Sta13" and not self._wait_for_peer():
            return False
        return super()._is_transport_event()

    def _wait_for_peer(self) -> bool:
        """Wait until the peer's socket can be read (True), or until something
        else needs the reactor: a queued primitive or event, a kill, a timer
        (False)."""
        # Asleep from before the last look at the queues: a primitive queued
        # after that look rings the bell (_wake), one queued before is seen.
        self._asleep = True
        try:
            if self._has_work():
                return False
            peer = self.socket.socket if self.socket and self.socket._is_connected else None
            if isinstance(peer, ssl.SSLSocket) and peer.pending():
                return True  # decrypted bytes that select() cannot see
            watched = [self._bell, peer] if peer else [self._bell]
            try:
                readable, _, _ = select.select(watched, [], [], LONGEST_SLEEP)
            except (OSError, ValueError):
                return True  # the peer's socket is gone: reading it reports the closed connection
        finally:
            self._asleep = False
        if self._bell in readable:
            self._silence()
        return peer is not None and peer in readable

    def _has_work(self) -> bool:
        queued = not (self.event_queue.empty() and self.to_provider_queue.empty())
        return self._kill_thread or queued

    def _silence(self) -> None:
        with contextlib.suppress(OSError):  # drained
            while self._bell.recv(4096):
                pass

    def kill_dul(self) -> None:
        super().kill_dul()
        self._ring()

    def stop_dul(self) -> bool:
        """Stop the reactor once the association is idle (Sta1), and wait for it.

        pynetdicom's Association.kill() asks until this returns True,
        sleeping KILL_RETRY between asks. A release's A-RELEASE-RP reaches
        the user before this thread has closed the connection and reached
        Sta1 (AR-3), so the first ask came too early and every release
        slept 10 ms more (a subscriber's UPS event report took 12 ms to
        release, 2 now). So the ask waits for Sta1 as long as kill() would
        sleep, and ends as soon as it is reached.
        """
        mine = threading.current_thread() is self
        if not self.state_machine.wait_for("Sta1", 0 if mine else KILL_RETRY):
            return False
        self.kill_dul()
        if not mine:
            self.join()
        return True


class InlineDUL(DULServiceProvider):
    """pynetdicom's DICOM upper layer run by the association's own thread.

    pynetdicom gives each association a second thread for its upper layer,
    handing every PDU from one thread to the other through queues: a request
    waited for the association thread to wake, and its response for the DUL
    thread to wake, each a switch of threads and of the interpreter lock.
    An accepted association needs no second thread: it speaks only when it
    has been spoken to. Here the reactor's turns (pynetdicom's, one primitive
    out or one PDU in, then the state machine) are run by the thread that
    needs them:

    - send_pdu() sends at once, in the caller's thread;
    - receive_pdu(wait=True) and InlineDIMSEProvider.get_msg() wait in
      select() on the peer's socket, then read and act on what came;
    - hear_peer() acts on what the peer has sent meanwhile, without waiting
      (a C-CANCEL during a long C-FIND);
    - send_kept() sends the packed requests kept so far (below).

    Packed P-DATA requests (PackedData) in the Data Transfer state are kept
    and sent in one write, before anything else is sent, before the thread
    waits for the peer, or when asked (send_kept): a C-FIND's pending
    responses go out in a few writes, not one each. The state machine is
    pynetdicom's; a lock keeps another thread's abort (the service's
    shutdown) from running a turn at the same time.
    """

    def __init__(self, assoc):
        super().__init__(assoc)
        self._run_loop_delay = 0
        self._turns = threading.RLock()
        self._running = False
        self._unsent: list[bytes] = []
        self._unsent_size = 0

    # pynetdicom starts, polls and stops its DUL as a thread; this one has none.

    def start(self) -> None:
        self._running = True
        self._idle_timer.start()
        self.assoc._dul_ready.set()

    def is_alive(self) -> bool:
        return self._running and not self._kill_thread

    def join(self, timeout: float | None = None) -> None:
        pass

    def stop_dul(self) -> bool:
        """Finish what is left (in Sta13, read the peer's last bytes and close)
        and stop, once the association is idle (Sta1)."""
        with self._turns:
            while self.state_machine.current_state != "Sta1" and self._turn(read=True):
                pass
            if self.state_machine.current_state != "Sta1":
                return False
            self._flush()
            self.kill_dul()
            return True

    # -- the service user's side

    def send_pdu(self, primitive) -> None:
        with self._turns:
            if self._keep_packed(primitive):
                return
            super().send_pdu(primitive)
            self._work_off()

    def receive_pdu(self, wait: bool = False, timeout: float | None = None):
        deadline = time.monotonic() + timeout if timeout is not None else math.inf
        self._work_off()  # the connection's indication (Evt5) included
        while wait and self.to_user_queue.empty() and self.is_alive():
            left = deadline - time.monotonic()
            if left <= 0 or self.state_machine.current_state == "Sta1":
                break  # nothing comes to an idle DUL: its connection is closed
            self.await_peer(min(left, LONGEST_SLEEP))
        return super().receive_pdu(wait=False)

    def await_peer(self, timeout: float) -> None:
        """Send what is due, then wait up to `timeout` seconds for a PDU from
        the peer and act on it (and on a timer that expired meanwhile)."""
        self._work_off()
        if self._peer_ready(timeout):
            with self._turns:
                self._turn(read=True)
        self._work_off()

    def send_kept(self) -> None:
        """Send the packed requests kept so far, now."""
        with self._turns:
            self._flush()

    def peer_has_spoken(self) -> bool:
        """Whether the peer has sent something not read yet (its next request)."""
        return self._peer_ready(0)

    def hear_peer(self) -> None:
        """Send what is due, and act on whatever the peer has sent, without waiting."""
        self._work_off()
        while self.is_alive() and self._peer_ready(0):
            with self._turns:
                self._turn(read=True)
            self._work_off()

    # -- the reactor

    def _keep_packed(self, primitive) -> bool:
        """Keep a packed P-DATA request to send with the next write (Sta6 only)."""
        if not isinstance(primitive, PackedData) or self.state_machine.current_state != "Sta6":
            return False
        if not self.to_provider_queue.empty():
            return False  # behind an unsent primitive: in its turn
        self._unsent.append(primitive.encoded)
        self._unsent_size += len(primitive.encoded)
        if self._unsent_size >= UNSENT_LIMIT:
            self._flush()
        return True

    def _flush(self) -> None:
        """Send the kept packed requests in one write (a failed write is the
        connection closed, Evt17)."""
        if self._unsent:
            unsent, self._unsent, self._unsent_size = b"".join(self._unsent), [], 0
            if self.state_machine.current_state == "Sta6":
                self.socket.send(unsent)

    def _work_off(self) -> None:
        """Run turns until nothing is left to do without the peer."""
        with self._turns:
            self._flush()
            while not self._kill_thread and self._turn(read=False):
                pass

    def _turn(self, read: bool) -> bool:
        """One turn of pynetdicom's reactor (DULServiceProvider.run_reactor):
        the ARTIM timer, one primitive out or, if `read`, one PDU in, then
        one event for the state machine. False if there was no event."""
        try:
            if self.artim_timer.expired:
                self.event_queue.put("Evt18")
            if self._process_recv_primitive():
                pass
            elif read and self._is_transport_event():
                self._idle_timer.restart()
            try:
                event = self.event_queue.get_nowait()
            except queue.Empty:
                return False
            self.state_machine.do_action(event)
            return True
        except Exception:
            # As pynetdicom's reactor does: the state machine cannot be
            # trusted after this, so abort bypassing it and stop.
            LOGGER.exception("Exception in the DUL, aborting association")
            with contextlib.suppress(Exception):
                self.socket.send(PROVIDER_ABORT)
            self.assoc.is_aborted, self.assoc.is_established = True, False
            self.assoc._kill = True
            self.kill_dul()
            return False

    def _process_recv_primitive(self) -> bool:
        self._flush()  # kept packed requests go before anything queued after them
        return super()._process_recv_primitive()

    def _peer_ready(self, timeout: float) -> bool:
        """Whether the peer's socket has something to read (a closed one
        counts: reading it reports the close), waiting up to `timeout`."""
        peer = self.socket.socket if self.socket and self.socket._is_connected else None
        if peer is None:
            return self.state_machine.current_state == "Sta13"
        if isinstance(peer, ssl.SSLSocket) and peer.pending():
            return True  # decrypted bytes that select() cannot see
        try:
            readable, _, _ = select.select([peer], [], [], timeout)
        except (OSError, ValueError):
            return True
        return bool(readable)


# Packed responses kept for one write up to this many bytes.
UNSENT_LIMIT = 64 * 1024
# An A-ABORT PDU from the service provider, no reason given (PS3.8 9.3.8, Table 9-26).
PROVIDER_ABORT = struct.pack(">BxLxxBB", 0x07, 4, 0x02, 0x00)


class WaitingDIMSEProvider(DIMSEServiceProvider):
    """pynetdicom's DIMSE provider, whose non-blocking get_msg() waits (up to
    LONGEST_SLEEP) for a message or for anything else the association thread
    must act on: A-RELEASE, A-ABORT, the end of the DUL thread."""

    def __init__(self, assoc, inbox: threading.Event):
        super().__init__(assoc)
        self.inbox = inbox
        self.msg_queue = SignallingQueue(inbox.set)

    def send_msg(self, primitive, context_id: int) -> None:
        """Send a C-FIND's final response or a C-ECHO's packed, in one P-DATA-TF
        PDU (dimse.commands): pynetdicom's path for those few elements was a
        sixth of the service's CPU per worklist query under load (8.8 against
        7.4 ms). pynetdicom sends the rest, and these too when they would not
        fit the peer's PDUs."""
        command = packed_response(primitive)
        fits = command is not None and (
            not self.maximum_pdu_size or PDV_HEADER + len(command) <= self.maximum_pdu_size
        )
        if not fits:
            super().send_msg(primitive, context_id)
            return
        self.dul.send_pdu(PackedData.of([[context_id, bytes([COMMAND | LAST]) + command]]))

    def get_msg(self, block: bool = False):
        if block:
            return super().get_msg(block=True)
        try:
            return self.msg_queue.get_nowait()
        except queue.Empty:
            pass
        self.inbox.wait(LONGEST_SLEEP)
        # Cleared before looking: whatever is signalled from here on wakes the
        # next wait, and whatever came before is seen now or by the caller's
        # checks for release and abort, which follow.
        self.inbox.clear()
        try:
            return self.msg_queue.get_nowait()
        except queue.Empty:
            return None, None


class Gauge:
    """How many of something are in progress, across threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    @contextlib.contextmanager
    def counting(self):
        with self._lock:
            self.value += 1
        try:
            yield
        finally:
            with self._lock:
                self.value -= 1


# The DIMSE requests the process is serving now, on all its associations: a
# measure of how busy it is (dimse.handlers.pending).
REQUESTS_IN_SERVICE = Gauge()


def serve_until_ended(association) -> None:
    """An established association's reactor: serve each DIMSE request as it
    comes, until the association is released, aborted or timed out.

    pynetdicom's own loop (Association._run_reactor) sleeps a millisecond at
    every turn, because its DIMSE provider is polled. Here the provider waits
    for a message (WaitingDIMSEProvider.get_msg), so the sleep only delayed
    what came next: an A-RELEASE-RQ that arrived right after a response was
    answered a millisecond late, a tenth of the time an echo association took
    (docs/benchmarks.md). The checks at each turn are pynetdicom's, in its order.
    """
    association._is_paused = False
    while not association._kill:
        context_id, message = _next_message(association)
        if message:
            with REQUESTS_IN_SERVICE.counting():
                association._serve_request(message, context_id)
        if _association_ended(association):
            return


def _next_message(association) -> tuple:
    """The next DIMSE message for the association's thread to serve, if any.

    A send_*() from another thread (a requestor association's: the
    dispatcher's) pauses the loop here before the loop takes messages off
    the queue: it clears the checkpoint and waits until the loop says it is
    paused. The loop must look at the checkpoint again after saying it is
    not: a send_*() that cleared it just after the wait returned saw the
    loop still paused, sent its request and waits for the response, which
    the loop would otherwise take for itself. pynetdicom's own loop does
    (its issue 875): most likely what became of the MPPS responses that
    pynetdicom clients never saw under the mixed load (docs/benchmarks.md).
    """
    association._is_paused = True
    association._reactor_checkpoint.wait()
    association._is_paused = False
    if not association._reactor_checkpoint.is_set():
        return None, None
    return association.dimse.get_msg(block=False)


def _association_ended(association) -> bool:
    """Act on a release or abort from the peer, a finished DUL or the idle
    timeout as pynetdicom's reactor does; True once the association is over."""
    acse = association.acse
    if association.is_established and acse.is_release_requested():
        acse.send_release(is_response=True)
        association.is_released, association.is_established = True, False
        evt.trigger(association, evt.EVT_RELEASED, {})
    elif acse.is_aborted():
        association.dul.receive_pdu(wait=False)  # EVT_ACSE_RECV for the abort
        association.is_aborted, association.is_established = True, False
        evt.trigger(association, evt.EVT_ABORTED, {})
    elif association.dul.is_alive() and not association.dul.idle_timer_expired():
        return False
    elif association.dul.is_alive():
        LOGGER.error("Network timeout reached")
        association.abort()
    association.kill()
    return True


class InlineDIMSEProvider(WaitingDIMSEProvider):
    """The DIMSE provider of an association whose DUL is run by its own
    thread (InlineDUL): looking for a message runs the DUL until one comes,
    or something else the association thread must act on (A-RELEASE,
    A-ABORT, the end of the DUL), or up to LONGEST_SLEEP; with `block`,
    until a message comes or the DUL ends."""

    def __init__(self, assoc):
        super().__init__(assoc, threading.Event())
        self.msg_queue = queue.Queue()

    def get_msg(self, block: bool = False):
        dul = self.dul
        while True:
            if self.msg_queue.empty() and dul.to_user_queue.empty() and dul.is_alive():
                dul.await_peer(LONGEST_SLEEP)
            try:
                return self.msg_queue.get_nowait()
            except queue.Empty:
                # An A-RELEASE or A-ABORT for the association thread ends a wait too.
                if not (block and dul.is_alive() and dul.to_user_queue.empty()):
                    return None, None


class GuardedSocket(AssociationSocket):
    """The peer's connection, reading whole PDUs within limits.

    pynetdicom reads a PDU by its length field, as long as it takes and as
    much as it says: a peer that sends half a PDU and stops held its
    association's thread forever, one that trickles a byte at a time held it
    for as long as it liked, and one that announced a PDU of 4 GB was read
    into memory. Here a PDU longer than the service accepts is refused
    unread, and a PDU must arrive whole within the network timeout (the
    kernel ends each wait for bytes after it: dimse.server.bound_each_wait);
    the connection is then closed (Evt17) and the association aborted.

    And every read acknowledges at once what the peer has sent (TCP_QUICKACK,
    Linux). Many modalities leave Nagle's algorithm on and write a PDU in two
    pieces (DCMTK's clients: header, then body), or a request as two PDUs
    (command, then data set): the second piece waits until the first is
    acknowledged. Linux, expecting to carry that acknowledgement on our
    answer, delays it by at least 40 ms, and there is no answer until the
    second piece comes: 40 ms lost on every message from such a peer. The
    option lapses as the kernel sees fit, so it is set again before each read.
    """

    def recv(self, nr_bytes: int) -> bytearray:
        if nr_bytes > longest_pdu(self.assoc):
            raise OSError(f"a PDU of {nr_bytes} bytes is over the limit (refused unread)")
        timeout = self.assoc.network_timeout
        deadline = time.monotonic() + timeout if timeout else math.inf
        data = bytearray()
        while len(data) < nr_bytes:
            if TCP_QUICKACK:
                self.socket.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
            chunk = self.socket.recv(min(nr_bytes - len(data), 65536))
            if not chunk:
                return data  # closed by the peer: pynetdicom sees a short PDU
            data += chunk
            if len(data) < nr_bytes and time.monotonic() > deadline:
                raise TimeoutError(f"{len(data)} of {nr_bytes} bytes in {timeout} s")
        return data


TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only

# A-ASSOCIATE-RQ PDUs are not bound by the negotiated maximum length; a
# megabyte holds hundreds of presentation contexts.
ASSOCIATION_PDU_CEILING = 1 << 20
UNLIMITED_PDU_CEILING = 1 << 28  # with a maximum PDU size of 0 (no limit)


def longest_pdu(association) -> int:
    """The longest PDU the service reads: the maximum length it announced in
    its A-ASSOCIATE-AC (PS3.8 D.1), or the ceiling for association requests."""
    announced = association.ae.maximum_pdu_size or UNLIMITED_PDU_CEILING
    return max(announced, ASSOCIATION_PDU_CEILING)


def serve_in_one_thread(association) -> None:
    """Give a new acceptor association, not yet started nor connected, a DUL
    run by its own thread (InlineDUL) and a DIMSE provider that waits on it."""
    _replace_upper_layer(association, InlineDUL(association), InlineDIMSEProvider(association))


def connect(association, connection: socket.socket) -> None:
    """Give an association its peer's connection, read through a GuardedSocket;
    the connection's indication (Evt5) goes to its DUL."""
    association.set_socket(GuardedSocket(association, client_socket=connection))


def _sleep_between_work(association) -> threading.Event:
    """Replace the association's DUL and DIMSE provider with the waiting ones,
    and its reactor loop with one that does not sleep; the event that wakes
    its thread."""
    inbox = threading.Event()
    dul, dimse = WakefulDUL(association, inbox), WaitingDIMSEProvider(association, inbox)
    _replace_upper_layer(association, dul, dimse)
    return inbox


def _replace_upper_layer(association, dul, dimse) -> None:
    """Give a new association this DUL and DIMSE provider, and a reactor loop
    that does not sleep (serve_until_ended)."""
    association.dul, association.dimse = dul, dimse
    association._run_reactor = functools.partial(serve_until_ended, association)
    # The ARTIM and idle timers live in the DUL: give the new one the association's timeouts.
    association.acse_timeout = association.acse_timeout
    association.network_timeout = association.network_timeout


class RingingCheckpoint(threading.Event):
    """An association's reactor checkpoint that wakes the reactor when cleared.

    A request made by another thread on a requestor association (send_n_*)
    clears the checkpoint and waits until the association's thread pauses
    there; that thread may be waiting in WaitingDIMSEProvider.get_msg, so
    clearing also sets its inbox, and it pauses at once.
    """

    def __init__(self, inbox: threading.Event):
        super().__init__()
        self.set()
        self._inbox = inbox

    def clear(self) -> None:
        super().clear()
        self._inbox.set()


class WakefulAE(AE):
    """An AE whose requested associations wait instead of polling and read
    through a GuardedSocket, as the service's accepted ones do: the
    dispatcher's, which it may keep open through a burst of messages."""

    def _create_socket(self, assoc, address, tls_args):
        # Called by associate() on the new association, before anything runs.
        assoc._reactor_checkpoint = RingingCheckpoint(_sleep_between_work(assoc))
        connection = GuardedSocket(assoc, address=address)
        connection.tls_args = tls_args
        return connection

    def associate(self, *args, **kwargs):
        association = super().associate(*args, **kwargs)
        read_a_quick_rejection(association)
        return association


# A-ASSOCIATE-RJ results (PS3.8 Table 9-21): rejected-permanent, rejected-transient.
REJECTED = (0x01, 0x02)


def read_a_quick_rejection(association) -> None:
    """Take the peer's A-ASSOCIATE-RJ that pynetdicom left unread.

    Having sent its A-ASSOCIATE-RQ, pynetdicom's requestor checks that its
    connection is still open before it reads the answer. A peer that rejects
    at once may have answered by then, and the requestor's own DUL closed
    the connection on reading the A-ASSOCIATE-RJ (PS3.8 Table 9-6, AE-4):
    the association is reported aborted, the rejection (and why) unread in
    the DUL's queue. A subscriber that does not know the RIS's AE title
    rejects it so, and the dispatcher's log then said the connection had
    failed.
    """
    if not association.is_aborted or association.acceptor.primitive is not None:
        return
    for primitive in list(association.dul.to_user_queue.queue):
        if isinstance(primitive, A_ASSOCIATE) and primitive.result in REJECTED:
            association.acceptor.primitive = primitive
            association.is_rejected, association.is_aborted = True, False
            return
