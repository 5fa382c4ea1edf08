"""Who may associate, and one log line per association (PS3.8 A-ASSOCIATE).

An unknown or disabled calling AE title is rejected as "calling AE title not
recognized", a called AE title other than ours as "called AE title not
recognized" (PS3.8 Table 9-21: rejected-permanent, service-user, reasons 3
and 7), unless RIS_DIMSE_ACCEPT_ANY_AE is on. Health checks call as
RIS_DIMSE_HEALTH_CHECK_AE_TITLE: accepted, allowed no service but C-ECHO,
and logged only at DEBUG (a load balancer checks every few seconds).
"""

import logging

from django.conf import settings
from django.db import close_old_connections

from dimse.handlers.audit import actor, record_rejection
from ris.health import DATABASE_UNAVAILABLE
from ris.nodes.selectors import is_health_check, remote_ae_for_association, remote_ae_may_use

LOGGER = logging.getLogger("dimse")

# A-ASSOCIATE-RJ result, source and reason (PS3.8 Table 9-21).
REJECTED_PERMANENT, REJECTED_TRANSIENT = 0x01, 0x02
SERVICE_USER, SERVICE_PROVIDER_PRESENTATION = 0x01, 0x03
CALLING_AE_NOT_RECOGNIZED = 0x03
CALLED_AE_NOT_RECOGNIZED = 0x07
TEMPORARY_CONGESTION = 0x01


def peer(assoc) -> str:
    """TITLE@address:port of the caller, for log lines."""
    return f"{actor(assoc).name or '?'}@{assoc.requestor.address}:{assoc.requestor.port}"


def handle_requested(event) -> None:
    """Check the calling and called AE titles before the association is negotiated."""
    assoc = event.assoc
    request = assoc.requestor.primitive
    calling, called = request.calling_ae_title.strip(), request.called_ae_title.strip()
    assoc.ris_remote_ae = None
    if called != assoc.ae.ae_title.strip():
        _reject(assoc, CALLED_AE_NOT_RECOGNIZED, f"called AE title {called!r} is not ours")
        return
    close_old_connections()
    try:
        assoc.ris_remote_ae = remote_ae_for_association(calling_ae_title=calling)
    except Exception as error:
        # Who is calling cannot be checked: refuse, for now (a modality retries).
        if not isinstance(error, DATABASE_UNAVAILABLE):
            LOGGER.exception("Checking the calling AE title %r failed", calling)
        _reject(
            assoc,
            TEMPORARY_CONGESTION,
            f"the calling AE title cannot be checked ({error})",
            result=REJECTED_TRANSIENT,
            source=SERVICE_PROVIDER_PRESENTATION,
        )
        return
    if assoc.ris_remote_ae is None and not settings.RIS_DIMSE_ACCEPT_ANY_AE:
        _reject(
            assoc,
            CALLING_AE_NOT_RECOGNIZED,
            f"calling AE title {calling!r} is not a registered, enabled remote AE",
        )


def _reject(assoc, reason: int, why: str, result=REJECTED_PERMANENT, source=SERVICE_USER) -> None:
    LOGGER.warning("Association from %s rejected: %s", peer(assoc), why)
    assoc.ris_rejection_logged = True
    record_rejection(assoc, why)
    assoc.acse.send_reject(result, source, reason)
    # As pynetdicom does for its own rejections: stop the DUL once the
    # A-ASSOCIATE-RJ is out, before the server closes the socket.
    assoc.kill()


def _level(assoc) -> int:
    """Health checks come every few seconds: their associations are logged at DEBUG."""
    return logging.DEBUG if is_health_check(actor(assoc).name) else logging.INFO


def handle_accepted(event) -> None:
    contexts = ", ".join(
        sorted({context.abstract_syntax.name for context in event.assoc.accepted_contexts})
    )
    LOGGER.log(
        _level(event.assoc),
        "Association from %s accepted (%s)",
        peer(event.assoc),
        contexts or "none",
    )


def handle_rejected(event) -> None:
    if not getattr(event.assoc, "ris_rejection_logged", False):
        LOGGER.warning("Association from %s rejected by negotiation", peer(event.assoc))
        record_rejection(event.assoc, "rejected by negotiation")


def handle_released(event) -> None:
    LOGGER.log(_level(event.assoc), "Association from %s released", peer(event.assoc))


def handle_aborted(event) -> None:
    LOGGER.log(_level(event.assoc), "Association from %s aborted", peer(event.assoc))


def may_use(assoc, service: str) -> bool:
    return remote_ae_may_use(remote_ae=getattr(assoc, "ris_remote_ae", None), service=service)
