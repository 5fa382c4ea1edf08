"""DIMSE status -> HTTP status and Warning text, per UPS-RS transaction: the one table.

The services answer with DIMSE statuses (ris.dicom.statuses); PS3.18 chapter
11 gives the HTTP status of each outcome per transaction, and the Warning
texts (299) a client can recognise. PS3.18 gives no code-by-code mapping:
where its transaction tables are explicit they decide, elsewhere
dcm4chee-arc-light's UpsRS does (/work/shared/dicom/ups-rs.md section 7).
"""

from typing import NamedTuple

from ris.dicom import statuses as dimse

# The transactions (PS3.18 Table 11.1.1-1's resources and methods).
CREATE = "create"
RETRIEVE = "retrieve"
UPDATE = "update"
CHANGE_STATE = "change-state"
CANCEL_REQUEST = "cancel-request"
SEARCH = "search"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
SUSPEND = "suspend"

# Success of each transaction (PS3.18 11.4 - 11.12).
SUCCESS = {
    CREATE: 201,
    RETRIEVE: 200,
    UPDATE: 200,
    CHANGE_STATE: 200,
    CANCEL_REQUEST: 202,
    SEARCH: 200,
    SUBSCRIBE: 201,
    UNSUBSCRIBE: 200,
    SUSPEND: 200,
}

INCONSISTENT_WORKITEM = (
    "The submitted request is inconsistent with the current state of the Workitem."
)
INCONSISTENT_UPS = "The submitted request is inconsistent with the state of the UPS Instance."
NOT_CLAIMED = "The target URI did not reference a claimed Workitem."
TRANSACTION_UID_MISSING = "The Transaction UID is missing."
TRANSACTION_UID_INCORRECT = "The Transaction UID is incorrect."


class Outcome(NamedTuple):
    """What an HTTP response says for one DIMSE status."""

    http_status: int
    warning: str = ""  # the text of `Warning: 299 <service>: "<text>"`, if any


ANY = "*"
# DIMSE status -> {transaction (or ANY): Outcome}. A 0xC301 warning says
# "missing" or "incorrect": the view knows which (transaction_uid_warning).
TABLE: dict[int, dict[str, Outcome]] = {
    # Warnings: the transaction's success, with the standard's text.
    dimse.OPTIONAL_ATTRIBUTES_NOT_SUPPORTED: {
        ANY: Outcome(200, "Requested optional Attributes are not supported."),
    },
    0xB300: {CREATE: Outcome(201, "The Workitem was created with modifications.")},
    0xB301: {SUBSCRIBE: Outcome(201, "Deletion Lock not granted.")},
    0xB305: {UPDATE: Outcome(200, "The Workitem was updated with modifications.")},
    dimse.UPS_ALREADY_CANCELED: {
        CHANGE_STATE: Outcome(200, "The UPS is already in the requested state of CANCELED."),
        CANCEL_REQUEST: Outcome(202, "The UPS is already in the requested state of CANCELED."),
    },
    dimse.UPS_ALREADY_COMPLETED: {
        CHANGE_STATE: Outcome(200, "The UPS is already in the requested state of COMPLETED."),
    },
    # Refusals of the request itself: 400 (PS3.18: "payload violates the
    # requirements", "invalid parameter").
    dimse.DUPLICATE_SOP_INSTANCE: {CREATE: Outcome(409)},
    0x0105: {ANY: Outcome(400)},  # no such attribute
    dimse.INVALID_ATTRIBUTE_VALUE: {ANY: Outcome(400)},
    dimse.INVALID_SOP_INSTANCE: {ANY: Outcome(400)},
    dimse.MISSING_ATTRIBUTE: {ANY: Outcome(400)},
    dimse.MISSING_ATTRIBUTE_VALUE: {ANY: Outcome(400)},
    dimse.INVALID_ARGUMENT_VALUE: {ANY: Outcome(400)},
    dimse.NO_SUCH_ACTION: {ANY: Outcome(400)},
    dimse.IDENTIFIER_DOES_NOT_MATCH: {SEARCH: Outcome(400)},
    dimse.UPS_NOT_SCHEDULED: {CREATE: Outcome(400)},
    # The workitem's state: PS3.18 11.6 (Update) lists a final workitem and a
    # missing or wrong Transaction UID as 400; 11.7 (Change State) lists
    # the Transaction UID as 400 and "inconsistent with the state" as 409.
    dimse.UPS_MAY_NO_LONGER_BE_UPDATED: {
        UPDATE: Outcome(400, INCONSISTENT_WORKITEM),
        CHANGE_STATE: Outcome(409, INCONSISTENT_UPS),
    },
    dimse.UPS_WRONG_TRANSACTION_UID: {
        UPDATE: Outcome(400, TRANSACTION_UID_INCORRECT),
        CHANGE_STATE: Outcome(400, TRANSACTION_UID_INCORRECT),
    },
    dimse.UPS_ALREADY_IN_PROGRESS: {CHANGE_STATE: Outcome(409, INCONSISTENT_UPS)},
    dimse.UPS_MAY_ONLY_BECOME_SCHEDULED_BY_N_CREATE: {CHANGE_STATE: Outcome(409, INCONSISTENT_UPS)},
    dimse.UPS_FINAL_STATE_REQUIREMENTS_NOT_MET: {CHANGE_STATE: Outcome(409, INCONSISTENT_UPS)},
    dimse.UPS_NOT_IN_PROGRESS: {
        UPDATE: Outcome(409, NOT_CLAIMED),
        CHANGE_STATE: Outcome(409, INCONSISTENT_UPS),
    },
    dimse.UPS_ALREADY_COMPLETED_CANNOT_CANCEL: {
        CANCEL_REQUEST: Outcome(409, "The UPS is already COMPLETED."),
    },
    dimse.UPS_PERFORMER_CANNOT_BE_CONTACTED: {
        CANCEL_REQUEST: Outcome(409, "The performer cannot be contacted."),
    },
    0xC313: {CANCEL_REQUEST: Outcome(409, "The performer chooses not to cancel.")},
    # Who and what: no such workitem or subscriber is 404 (410 for a workitem
    # the RIS knows existed: the view decides, see GONE).
    dimse.UPS_NO_SUCH_INSTANCE: {ANY: Outcome(404)},
    dimse.UPS_UNKNOWN_RECEIVING_AE: {ANY: Outcome(404)},
    dimse.UPS_ACTION_NOT_APPROPRIATE: {ANY: Outcome(400)},
    0xC315: {SUBSCRIBE: Outcome(403)},  # the SCP cannot send event reports
    dimse.NOT_AUTHORIZED: {ANY: Outcome(403)},
    dimse.RESOURCE_LIMITATION: {ANY: Outcome(503)},
    dimse.PROCESSING_FAILURE: {ANY: Outcome(500)},
}
GONE = Outcome(410)


def outcome(status: int, transaction: str) -> Outcome:
    """The HTTP answer for `status` returned or raised in `transaction`.

    Success and an unlisted warning are the transaction's success; an unlisted
    failure is the request's fault (400) unless it says the RIS failed
    (0x0110 and 0x01xx processing failures are in the table as 500).
    """
    row = TABLE.get(status, {})
    found = row.get(transaction) or row.get(ANY)
    if found is not None:
        return found
    if status == dimse.SUCCESS or dimse.is_warning(status):
        return Outcome(SUCCESS[transaction])
    return Outcome(400)


def warning_header(service: str, text: str) -> str:
    """`299 <service>: "<text>"`: PS3.18's form (the origin server's base URI
    and the standard's text), the text quoted as RFC 7234 5.5 has it."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 {service}: "{escaped}"'
