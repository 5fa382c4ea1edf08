"""What a webhook carries: the event, its JSON body, the exact bytes sent and their signature.

An outbox message of the "webhook" channel has the payload
    {"event": "order.status_changed" | "step.status_changed", "body": {...}}
The body is made when the change is made (the state at the change), so that
a client's messages tell each change in order, however late they are sent.
"""

import hashlib
import hmac
import json
from datetime import datetime

from django.utils import timezone

from ris.scheduling.models import Order, ScheduledProcedureStep

ORDER_STATUS_CHANGED = "order.status_changed"
STEP_STATUS_CHANGED = "step.status_changed"
EVENTS = (ORDER_STATUS_CHANGED, STEP_STATUS_CHANGED)

SIGNATURE_SCHEME = "sha256"


def webhook_payload(*, event: str, body: dict) -> dict:
    """The outbox payload of one webhook message."""
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}; one of {EVENTS}.")
    return {"event": event, "body": body}


def order_body(*, order: Order, changed_at: datetime) -> dict:
    """An order's status change: its identifiers as the HIS knows them, and its patient's."""
    return {
        "event": ORDER_STATUS_CHANGED,
        "changed_at": iso_datetime(changed_at),
        "order": {
            **_order_identifiers(order),
            "filler_order_number": order.filler_order_number,
            "filler_issuer": order.filler_issuer,
            "status": order.status,
        },
        "patient": {
            "patient_id": order.patient.patient_id,
            "issuer_of_patient_id": order.patient.issuer_of_patient_id,
        },
    }


def step_body(*, step: ScheduledProcedureStep, changed_at: datetime) -> dict:
    """A scheduled procedure step's status change, with the order it belongs to."""
    procedure = step.requested_procedure
    return {
        "event": STEP_STATUS_CHANGED,
        "changed_at": iso_datetime(changed_at),
        "step": {
            "sps_id": step.sps_id,
            "status": step.status,
            "modality": step.modality,
            "scheduled_station_ae_title": step.scheduled_station_ae_title,
            "scheduled_start": iso_datetime(step.start),
            "requested_procedure_id": procedure.requested_procedure_id,
            "study_instance_uid": procedure.study_instance_uid,
        },
        "order": _order_identifiers(procedure.order),
    }


def _order_identifiers(order: Order) -> dict:
    return {
        "accession_number": order.accession_number,
        "issuer_of_accession_number": order.issuer_of_accession_number,
        "placer_order_number": order.placer_order_number,
        "placer_issuer": order.placer_issuer,
    }


def iso_datetime(value: datetime) -> str:
    """ISO 8601 with the UTC offset, in the RIS's time zone (TIME_ZONE)."""
    return timezone.localtime(value).isoformat()


def encode_body(body: dict) -> bytes:
    """The bytes POSTed and signed: compact UTF-8 JSON, keys sorted.

    Sorted keys make every attempt of a message send the same bytes, on
    SQLite and on PostgreSQL alike (whose jsonb does not keep key order).
    """
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode("utf-8")


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-RIS-Signature value: HMAC-SHA256 over `timestamp` + "." + `body`.

    The timestamp is signed with the body so that a recorded request cannot be
    replayed later under a fresh timestamp.
    """
    signed = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"
