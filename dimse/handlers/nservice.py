"""What every N-service handler does around the domain call: check the
caller may use the service, turn refusals into statuses, log one line."""

import logging
import time
from collections.abc import Callable

from pydicom import Dataset

from dimse.handlers.associations import may_use, peer
from dimse.handlers.audit import actor, record_operation
from dimse.handlers.status import failure_status
from ris.audit.context import acting_as
from ris.dicom.errors import DicomError
from ris.dicom.statuses import NOT_AUTHORIZED, PROCESSING_FAILURE, RESOURCE_LIMITATION, SUCCESS
from ris.health import DATABASE_UNAVAILABLE

LOGGER = logging.getLogger("dimse")

# (status, data set or None, the SOP instance UID, for the log)
Outcome = tuple[int | Dataset, Dataset | None, str]


def perform(
    event,
    *,
    operation: str,
    service: str,
    perform: Callable[[object], Outcome],
    elements_field: str | None = None,
    reads: bool = False,
) -> tuple[int | Dataset, Dataset | None]:
    """Run `perform(event)` for `service` ("MPPS N-SET", say) and return the
    (status, data set) pynetdicom sends. `elements_field` is where the response
    names the elements at fault: Attribute Identifier List for N-SET and
    N-GET; N-CREATE and N-ACTION responses have none (PS3.7 10.3).

    The audit trail: a change is recorded by the domain; a read (`reads`), a
    refusal or a failure here."""
    started, uid = time.monotonic(), target_uid(event)
    try:
        if not may_use(event.assoc, service):
            raise DicomError(f"This AE may not use {service}", status=NOT_AUTHORIZED)
        with acting_as(actor(event.assoc)):
            status, dataset, uid = perform(event)
        result = (status, dataset)
    except DicomError as error:
        result = (failure_status(error, elements_field=elements_field), None)
    except DATABASE_UNAVAILABLE as error:
        LOGGER.error(
            "%s from %s: the database is unavailable (%s)", operation, peer(event.assoc), error
        )
        error = DicomError("The RIS cannot reach its database", status=RESOURCE_LIMITATION)
        result = (failure_status(error), None)
    except Exception:
        LOGGER.exception("%s from %s failed", operation, peer(event.assoc))
        error = DicomError("The RIS could not process it", status=PROCESSING_FAILURE)
        result = (failure_status(error), None)
    status = result[0] if isinstance(result[0], int) else result[0].Status
    if reads or status != SUCCESS:
        comment = "" if isinstance(result[0], int) else str(result[0].get("ErrorComment", ""))
        record_operation(event, operation, uid, status, comment, started)
    LOGGER.info(
        "%s from %s: %s, status 0x%04X, %.0f ms",
        operation,
        peer(event.assoc),
        uid,
        status,
        (time.monotonic() - started) * 1000,
    )
    return result


def target_uid(event) -> str:
    """The SOP Instance UID the request names, or "?" (an N-CREATE leaving it to us)."""
    request = event.request
    uid = getattr(request, "RequestedSOPInstanceUID", None) or getattr(
        request, "AffectedSOPInstanceUID", None
    )
    return str(uid) if uid else "?"


def requested_instance_uid(event) -> str | None:
    """The SOP Instance UID an N-CREATE asks for, or None: the RIS makes one."""
    uid = event.request.AffectedSOPInstanceUID
    return str(uid) if uid else None


def created(event, uid: str) -> Outcome:
    """Success to an N-CREATE. If the RIS made the UID, the response carries it
    (PS3.7 10.1.5.1.4)."""
    if requested_instance_uid(event):
        return SUCCESS, None, uid
    made = Dataset()
    made.AffectedSOPInstanceUID = uid
    return SUCCESS, made, uid
