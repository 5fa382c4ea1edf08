"""DICOM over TLS (PS3.15 Annex B.1, The Basic TLS Secure Transport Connection
Profile, with BCP 195's floor of TLS 1.2, Annex B.9).

The service listens with TLS on a port of its own (RIS_DIMSE_TLS_PORT),
beside the plain one or instead of it. Its certificate and key come from
settings; with RIS_DIMSE_TLS_CA_CERTIFICATES set, a caller must present a
certificate signed by one of those CAs, or the handshake fails.

pynetdicom does the handshake in the thread that accepts connections, with no
time limit: one caller that connects and says nothing would stop every
association that follows. Here the accepting thread only wraps the socket;
the handshake happens in the association's own thread, bounded by the ACSE
timeout, before the association is served.
"""

import logging
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

LOGGER = logging.getLogger("dimse")


@dataclass(frozen=True)
class TlsFiles:
    """The service's certificate chain and key, and the CAs its callers' certificates
    must chain to (empty: callers are not asked for a certificate)."""

    certificate: str
    private_key: str
    ca_certificates: str = ""

    @classmethod
    def from_settings(cls) -> "TlsFiles":
        return cls(
            certificate=settings.RIS_DIMSE_TLS_CERTIFICATE,
            private_key=settings.RIS_DIMSE_TLS_PRIVATE_KEY,
            ca_certificates=settings.RIS_DIMSE_TLS_CA_CERTIFICATES,
        )


def server_context(files: TlsFiles | None) -> ssl.SSLContext:
    """The TLS context the service's TLS port wraps accepted connections in."""
    if not (files and files.certificate and files.private_key):
        raise ImproperlyConfigured(
            "DICOM over TLS needs RIS_DIMSE_TLS_CERTIFICATE and RIS_DIMSE_TLS_PRIVATE_KEY"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # BCP 195 (PS3.15 B.9)
    try:
        context.load_cert_chain(files.certificate, files.private_key)
        if files.ca_certificates:
            context.load_verify_locations(files.ca_certificates)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as error:
        raise ImproperlyConfigured(f"DICOM over TLS: cannot load the TLS files: {error}") from error
    return context


def wrap_unopened(context: ssl.SSLContext, client_socket):
    """The accepted socket wrapped for TLS, its handshake left for `handshake`."""
    return context.wrap_socket(client_socket, server_side=True, do_handshake_on_connect=False)


def handshake(connection, timeout: float | None, peer: str) -> bool:
    """Do the TLS handshake of an accepted connection, within `timeout` seconds.
    False, logged, if it fails: the caller closes the connection. A plain
    socket needs none."""
    if not isinstance(connection, ssl.SSLSocket):
        return True
    usual = connection.gettimeout()
    connection.settimeout(timeout)
    try:
        connection.do_handshake()
    except (OSError, ValueError) as error:  # ssl.SSLError and TimeoutError are OSErrors
        LOGGER.warning("TLS handshake with %s failed: %s", peer, error or type(error).__name__)
        return False
    finally:
        connection.settimeout(usual)
    LOGGER.info(
        "TLS %s with %s%s",
        connection.version(),
        peer,
        f", certificate of {_subject(connection)}" if connection.getpeercert() else "",
    )
    return True


def _subject(connection: ssl.SSLSocket) -> str:
    subject = connection.getpeercert().get("subject", ())
    return ", ".join(f"{name}={value}" for rdn in subject for name, value in rdn)
