"""Garbage, truncated, oversized, silent and slow peers on the DICOM port: each
is dropped within its timeout, and the service answers others meanwhile."""

import os
import socket
import struct
import threading
import time

import pytest

from dimse import server
from tests.dimse_helpers import associate, wait_until

TIMEOUT = 1.0  # the ACSE and network timeouts in these tests, seconds
SLACK = (
    2.5  # how much later than its timeout a peer may be dropped (timers are looked at every 0.5 s)
)


@pytest.fixture
def service(transactional_db, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = True
    settings.RIS_DIMSE_ACSE_TIMEOUT = TIMEOUT
    settings.RIS_DIMSE_NETWORK_TIMEOUT = TIMEOUT
    running = server.start(server.ServiceConfig(ae_title="RIS", bind="127.0.0.1", port=0))
    yield running.server_address[:2]
    server.stop(running, grace=5)


def pdu_header(pdu_type: int, length: int) -> bytes:
    return struct.pack(">BBL", pdu_type, 0, length)


def read_until_closed(connection: socket.socket, within: float) -> tuple[bytes, float]:
    """What the service sent before closing the connection, and after how many
    seconds it closed it; fails if it is still open after `within` seconds."""
    began = time.monotonic()
    connection.settimeout(within)
    received = b""
    try:
        while chunk := connection.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    return received, time.monotonic() - began


def answers_echo(address) -> bool:
    assoc = associate(address)
    try:
        return assoc.is_established and assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()


def test_garbage_is_aborted_at_once(service):
    with socket.create_connection(service) as peer:
        peer.sendall(b"\xff" + os.urandom(63))  # no PDU type is 0xFF
        received, seconds = read_until_closed(peer, TIMEOUT + SLACK)
    assert received[:1] in (b"", b"\x07")  # nothing, or an A-ABORT
    assert seconds < TIMEOUT + SLACK
    assert answers_echo(service)


def test_an_oversized_pdu_is_refused_unread(service):
    with socket.create_connection(service) as peer:
        peer.sendall(pdu_header(0x01, 0xFFFF_FFF0) + b"\0" * 1024)
        _, seconds = read_until_closed(peer, SLACK)
    assert seconds < SLACK
    assert answers_echo(service)


def test_a_truncated_pdu_is_dropped_after_the_network_timeout(service):
    with socket.create_connection(service) as peer:
        peer.sendall(pdu_header(0x01, 1000) + b"\0" * 10)  # and nothing more
        assert answers_echo(service)  # others are served while it hangs
        _, seconds = read_until_closed(peer, TIMEOUT + SLACK)
    assert seconds < TIMEOUT + SLACK


def test_a_peer_that_never_sends_is_dropped_after_the_acse_timeout(service):
    with socket.create_connection(service) as peer:
        assert answers_echo(service)
        _, seconds = read_until_closed(peer, TIMEOUT + SLACK)
    assert seconds < TIMEOUT + SLACK


def test_a_peer_that_trickles_a_pdu_is_dropped_after_the_network_timeout(service):
    """One byte every 0.3 s: each arrives well within the timeout, but the PDU
    (68 bytes, 20 s at this pace) must arrive whole within it."""
    peer = socket.create_connection(service)
    stop = threading.Event()

    def trickle():
        try:
            peer.sendall(pdu_header(0x01, 68))
            while not stop.wait(0.3):
                peer.sendall(b"\0")
        except OSError:
            pass  # closed by the service

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        assert answers_echo(service)
        _, seconds = read_until_closed(peer, TIMEOUT + SLACK + 1)
        assert seconds < TIMEOUT + SLACK + 1
    finally:
        stop.set()
        sender.join()
        peer.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_closed_before_its_request_frees_its_association_at_once(settings):
    """A port scan or a load balancer's TCP check: connect, close. The service
    stops waiting for the A-ASSOCIATE-RQ at once, not after the ACSE timeout,
    so such checks neither pile up as open associations nor delay a shutdown."""
    settings.RIS_DIMSE_ACSE_TIMEOUT = 30
    running = server.start(server.ServiceConfig(ae_title="RIS", bind="127.0.0.1", port=0))
    try:
        for _ in range(5):
            socket.create_connection(running.server_address[:2]).close()
        wait_until(lambda: not running.active_associations, timeout=SLACK)
    finally:
        server.stop(running, grace=0)
