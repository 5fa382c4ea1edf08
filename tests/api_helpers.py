"""Clients of the REST API for the tests: a HIS with a token, read-only or writing."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from ris.api.services import api_client_create


def his_client(*, name: str = "HIS", can_write: bool = True) -> APIClient:
    """An API client signed in with its own token, as a HIS calls."""
    _, token = api_client_create(name=name, can_write=can_write)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def order_payload(*, patient, code, station, placer: str = "PO-1", **fields) -> dict:
    """A booking request for one procedure with one step tomorrow at 09:00 UTC."""
    start = (timezone.now() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {
        "patient": patient.pk,
        "placer_order_number": placer,
        "placer_issuer": "HIS",
        "referring_physician_name": "Weber^Thomas",
        "requested_procedures": [
            {
                "procedure_code": {
                    "code_value": code.code_value,
                    "coding_scheme_designator": code.coding_scheme_designator,
                },
                "scheduled_steps": [{"start": start.isoformat(), "station": station.ae_title}],
            }
        ],
        **fields,
    }
