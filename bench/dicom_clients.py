"""The benchmarks' DICOM clients: pynetdicom associations with the RIS on loopback."""

import socket

from pynetdicom import AE, evt

from bench.mwl_latency import AE_TITLE, HOST


def associate(port: int, *contexts, ae_title: str = "BENCH"):
    """An association with the RIS, its socket without Nagle's delay, so that
    the figures are the service's, not a client's ~40 ms stall per request (a
    request's command and data set go out as separate PDUs; see
    docs/benchmarks.md on DCMTK's clients)."""
    ae = AE(ae_title=ae_title)
    for context in contexts:
        ae.add_requested_context(context)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    handlers = [(evt.EVT_CONN_OPEN, _no_delay)]
    assoc = ae.associate(HOST, port, ae_title=AE_TITLE, evt_handlers=handlers)
    if not assoc.is_established:
        raise RuntimeError("the RIS refused the association")
    return assoc


def _no_delay(event) -> None:
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
