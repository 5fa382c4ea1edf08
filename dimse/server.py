"""The DICOM service: one pynetdicom application entity over the RIS domain.

Each association runs in its own thread. The Django database connection an
operation takes in that thread is given back (to the pool, on PostgreSQL) when
the operation has been answered, and any left is closed when the association
ends.
"""

import copy
import functools
import gc
import inspect
import logging
import socket
import socketserver
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from pynetdicom import AE, _config, evt
from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery,
    UnifiedProcedureStepWatch,
    Verification,
)
from pynetdicom.transport import (
    AddressInformation,
    RequestHandler,
    ThreadedAssociationServer,
)

from dimse import tls
from dimse.handlers import associations, echo, find, read_ahead, routes, ups
from dimse.reactor import connect, serve_in_one_thread
from ris.audit.batches import WRITER as audit_writer
from ris.nodes.directory import DIRECTORY as remote_aes

LOGGER = logging.getLogger("dimse")


class RisAssociationServer(ThreadedAssociationServer):
    """pynetdicom's threaded server, tuned for many short associations.

    - A listen backlog of 128, not socketserver's 5: a burst of modalities at
      shift start would otherwise wait for SYN retransmits (over a second).
    - TCP_NODELAY on accepted sockets: without it Nagle's algorithm and the
      peer's delayed ACKs stall every request/response exchange by ~40 ms.
    - The association is set up in the accepting thread, which only creates
      it and starts its thread: socketserver's thread per connection, whose
      one job that was, cost a thread start on every association.
    - Cheap copies of the presentation contexts (ContextTemplates).
    - With TLS, the handshake is left to the association's thread (dimse.tls).
    - No read or write waits longer than the network timeout
      (bound_each_wait; dimse.reactor.GuardedSocket bounds a whole PDU).
    """

    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.contexts = ContextTemplates(self.contexts)
        self.local_address = AddressInformation.from_tuple(self.server_address)
        self.prepared = PreparedAssociations(self)

    def server_close(self):
        # Also called by TCPServer's constructor when the port cannot be bound, before `prepared`.
        if hasattr(self, "prepared"):
            self.prepared.stop()
        super().server_close()

    def get_request(self):
        client_socket, address = self.socket.accept()
        client_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bound_each_wait(client_socket, self.ae.network_timeout)
        if self.ssl_context:
            client_socket = tls.wrap_unopened(self.ssl_context, client_socket)
        return client_socket, address

    def process_request(self, request, client_address):
        self.process_request_thread(request, client_address)


class PreparedAssociations:
    """The server's next association, made while the service is idle.

    Making an acceptor association (pynetdicom's objects, our DUL, the
    presentation contexts, the event handlers) took 0.4 ms of the accepting
    thread. It ran as the modality's connection arrived, on the modality's
    own core (the kernel wakes the acceptor where the connection came from),
    and the modality's A-ASSOCIATE-RQ waited for it: 0.5 ms from SYN to
    request against 0.07 ms with wlmscpfs (docs/benchmarks.md). Now the
    accepting thread takes an association made beforehand and gives it only
    what belongs to the connection: the peer's address and socket. The next
    one is made by a thread of its own, PREPARE_AFTER the last was taken,
    once that one is likely past its own set-up. A burst of connections
    finds none ready and makes each as before.
    """

    def __init__(self, server: "RisAssociationServer"):
        self._server = server
        self._ready = None
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._stopped = False
        self._maker = threading.Thread(target=self._make, name="association-maker", daemon=True)
        self._maker.start()
        self._wanted.set()

    @property
    def ready(self) -> Association | None:
        """The association made for the next connection, if there is one now."""
        return self._ready

    def take(self) -> Association:
        """The association made beforehand, or one made now."""
        with self._lock:
            association, self._ready = self._ready, None
        self._wanted.set()
        return association or make_acceptor(self._server)

    def stop(self) -> None:
        self._stopped = True
        self._wanted.set()

    def _make(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            time.sleep(PREPARE_AFTER)
            if self._stopped:
                return
            try:
                association = make_acceptor(self._server)
            except Exception:  # made again in the accepting thread, where it fails loudly
                LOGGER.exception("Could not prepare an association")
                continue
            with self._lock:
                self._ready = association


PREPARE_AFTER = 0.02  # seconds


def make_acceptor(server: "RisAssociationServer") -> Association:
    """An acceptor association of the server, ready for a connection (as
    pynetdicom's RequestHandler makes it, with our DUL: serve_in_one_thread)."""
    ae = server.ae
    association = Association(ae, MODE_ACCEPTOR)
    association._server = server
    acceptor = association.acceptor
    acceptor.maximum_length = ae.maximum_pdu_size
    acceptor.ae_title = server.ae_title
    acceptor.address_info = server.local_address
    acceptor.implementation_class_uid = ae.implementation_class_uid
    acceptor.implementation_version_name = ae.implementation_version_name
    acceptor.supported_contexts = copy.deepcopy(server.contexts)
    for event, handlers in server._handlers.items():
        if event.is_intervention and handlers:
            association.bind(event, *handlers)
        elif isinstance(event, evt.NotificationEvent):
            for handler, arguments in handlers:
                association.bind(event, handler, arguments)
    serve_in_one_thread(association)
    return association


def bound_each_wait(connection: socket.socket, seconds: float | None) -> None:
    """Make the kernel end any one wait of a read or a write on the connection
    after `seconds` (SO_RCVTIMEO, SO_SNDTIMEO): a peer that stops sending
    mid-PDU, or stops reading our responses, then closes its association.

    Not Python's socket timeout, which polls before every call: a system call
    more per PDU in and out, 5% of a worklist query's CPU under load.
    """
    if not seconds:
        return
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


class ContextTemplates(list):
    """The presentation contexts the server supports, of which pynetdicom
    deep-copies a set for each association to negotiate on.

    A deep copy rebuilt and re-validated every transfer syntax UID through
    pydicom: two thirds of the CPU of setting up an association. The UIDs
    are strings that never change; each context's own copy needs only its
    own list of them, and its own negotiation fields.
    """

    def __deepcopy__(self, memo):
        return [_context_copy(context) for context in self]


def _context_copy(context):
    duplicate = copy.copy(context)
    duplicate._transfer_syntax = list(context._transfer_syntax)
    return duplicate


class SharedPortServer(RisAssociationServer):
    """A server that shares its port with the other service processes on the
    host (SO_REUSEPORT, Linux 3.9 and later): the kernel hands each new
    connection to one of them, so N processes serve on N cores."""

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class RisRequestHandler(RequestHandler):
    """Each association runs in its own thread (pynetdicom's Association is a
    Thread). That thread first does the TLS handshake, if any; the Django
    database connections it opened are closed when it ends, so a thousand
    associations leave no connection behind."""

    def _create_association(self):
        association = self.server.prepared.take()
        # pynetdicom's server finds its acceptors by this name (active_associations).
        association.name = f"AcceptorThread@{datetime.now():%Y%m%d%H%M%S}"
        association.requestor.address_info = self.remote
        connect(association, self.request)
        reactor = association.run
        connection = self.request
        peer = "{}:{}".format(*self.client_address[:2])

        def serve():
            try:
                if tls.handshake(connection, association.acse_timeout, peer):
                    reactor()
                else:
                    self.server.shutdown_request(connection)
            finally:
                connections.close_all()

        association.run = serve
        return association


@dataclass
class ServiceConfig:
    """Where and as whom the service listens; defaults come from settings."""

    ae_title: str
    bind: str
    port: int
    reuse_port: bool = False
    plain: bool = True  # listen on `port` without TLS
    tls_port: int | None = None  # listen with TLS here (dimse.tls)
    tls_files: tls.TlsFiles | None = None

    @classmethod
    def from_settings(cls, **overrides) -> "ServiceConfig":
        values = {
            "ae_title": settings.RIS_AE_TITLE,
            "bind": settings.RIS_DIMSE_BIND,
            "port": settings.RIS_DIMSE_PORT,
            "reuse_port": settings.RIS_DIMSE_REUSE_PORT,
            "plain": not settings.RIS_DIMSE_TLS_ONLY,
            "tls_port": settings.RIS_DIMSE_TLS_PORT,
            "tls_files": tls.TlsFiles.from_settings(),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


def make_application_entity(ae_title: str) -> AE:
    """The AE with its SOP classes, limits and timeouts from settings."""
    if not logging.getLogger("pynetdicom").isEnabledFor(logging.INFO):
        # pynetdicom formats every PDU and DIMSE message for log lines its
        # logger then drops (about 5% of a C-FIND); the service logs its own.
        _config.LOG_HANDLER_LEVEL = "none"
        # It also decodes every request identifier and walks every response
        # identifier to make debug lines (a tenth of a C-FIND's CPU).
        _config.LOG_REQUEST_IDENTIFIERS = False
        _config.LOG_RESPONSE_IDENTIFIERS = False
    ae = AE(ae_title=ae_title)
    ae.maximum_associations = settings.RIS_DIMSE_MAX_ASSOCIATIONS
    ae.acse_timeout = settings.RIS_DIMSE_ACSE_TIMEOUT
    ae.dimse_timeout = settings.RIS_DIMSE_DIMSE_TIMEOUT
    ae.network_timeout = settings.RIS_DIMSE_NETWORK_TIMEOUT
    ae.maximum_pdu_size = settings.RIS_DIMSE_MAX_PDU_SIZE
    # pynetdicom's default transfer syntaxes: Implicit VR Little Endian,
    # Explicit VR Little Endian, Deflated Explicit VR Little Endian, Explicit
    # VR Big Endian.
    for sop_class in (
        Verification,
        ModalityWorklistInformationFind,
        ModalityPerformedProcedureStep,
        # UPS (PS3.4 CC.3): the RIS is the SCP of Push, Pull, Watch and Query;
        # it sends UPS Event reports on associations of its own (dimse.dispatch).
        UnifiedProcedureStepPush,
        UnifiedProcedureStepPull,
        UnifiedProcedureStepWatch,
        UnifiedProcedureStepQuery,
    ):
        ae.add_supported_context(sop_class)
    return ae


def returning_connections(handler):
    """The handler, giving back the database connections it took when it is done.

    With the connection pool (settings: DATABASE_POOL) an association then
    holds a connection only while an operation runs, not while the modality
    sits idle between queries, so a pool far smaller than the number of
    associations serves them all.
    """
    if inspect.isgeneratorfunction(handler):

        def run(event):
            try:
                yield from handler(event)
            finally:
                connections.close_all()

    else:

        def run(event):
            try:
                return handler(event)
            finally:
                connections.close_all()

    return functools.wraps(handler)(run)


HANDLERS = [
    (evt.EVT_REQUESTED, returning_connections(associations.handle_requested)),
    (evt.EVT_ACCEPTED, associations.handle_accepted),
    (evt.EVT_ESTABLISHED, returning_connections(read_ahead.handle_established)),
    (evt.EVT_REJECTED, associations.handle_rejected),
    (evt.EVT_RELEASED, associations.handle_released),
    (evt.EVT_ABORTED, associations.handle_aborted),
    (evt.EVT_C_ECHO, echo.handle_echo),
    (evt.EVT_C_FIND, returning_connections(find.handle_find)),
    (evt.EVT_N_CREATE, returning_connections(routes.handle_n_create)),
    (evt.EVT_N_SET, returning_connections(routes.handle_n_set)),
    (evt.EVT_N_GET, returning_connections(ups.handle_n_get)),
    (evt.EVT_N_ACTION, returning_connections(ups.handle_n_action)),
]


def start(
    config: ServiceConfig, tls_context: ssl.SSLContext | None = None, ae: AE | None = None
) -> RisAssociationServer:
    """Bind the port (with a TLS context, the TLS port) and serve in a background
    thread; returns the running server."""
    ae = ae or make_application_entity(config.ae_title)
    server = ae.make_server(
        (config.bind, config.tls_port if tls_context else config.port),
        evt_handlers=HANDLERS,
        server_class=SharedPortServer if config.reuse_port else RisAssociationServer,
        request_handler=RisRequestHandler,
        ssl_context=tls_context,
    )
    audit_writer.start()  # reads and refusals go to the audit trail in batches
    remote_aes.start()  # calling AE titles looked up once, until the remote AEs change
    # What is loaded by now (Django, pydicom's dictionaries: some 86,000
    # objects) lives as long as the process: kept out of the collector's
    # passes. pynetdicom's server collects all garbage every 60 turns of its
    # accept loop, which walked all of it: 48 ms holding the interpreter,
    # every association of the process stalled meanwhile; now it walks what
    # the associations left.
    gc.freeze()
    threading.Thread(target=server.serve_forever, name="dimse-acceptor", daemon=True).start()
    host, port = server.server_address[:2]
    kind = "with TLS " if tls_context else ""
    LOGGER.info("DICOM service %s listening %son %s:%s", config.ae_title, kind, host, port)
    return server


def start_all(config: ServiceConfig) -> list[RisAssociationServer]:
    """The plain and the TLS listener, as configured, sharing one AE (and so
    RIS_DIMSE_MAX_ASSOCIATIONS)."""
    if not config.plain and config.tls_port is None:
        raise ImproperlyConfigured("RIS_DIMSE_TLS_ONLY is on but RIS_DIMSE_TLS_PORT is not set")
    # Before anything listens: wrong TLS files stop the service at once.
    context = tls.server_context(config.tls_files) if config.tls_port is not None else None
    ae = make_application_entity(config.ae_title)
    servers = []
    try:
        if config.plain:
            servers.append(start(config, ae=ae))
        if context:
            servers.append(start(config, context, ae=ae))
    except OSError:
        for server in servers:
            stop(server, grace=0)
        raise
    return servers


def stop(server: RisAssociationServer, grace: float | None = None) -> None:
    """Stop accepting, give open associations `grace` seconds to finish, abort the rest."""
    stop_all([server], grace)


def stop_all(servers: list[RisAssociationServer], grace: float | None = None) -> None:
    """stop() for several listeners at once: one grace period for all."""
    grace = settings.RIS_DIMSE_SHUTDOWN_GRACE if grace is None else grace
    for server in servers:
        socketserver.BaseServer.shutdown(server)  # the accept loop ends: nothing new is taken
    deadline = time.monotonic() + grace
    while any(server.active_associations for server in servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    for server in servers:
        for association in server.active_associations:
            LOGGER.warning(
                "Aborting association with %s at shutdown", association.requestor.ae_title
            )
            association.abort()
        server.server_close()  # closes the listening socket
        audit_writer.stop()  # the last listener's stop writes what waits
        remote_aes.stop()
