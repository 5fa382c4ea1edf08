"""Who may call the API: tokens per HIS client, read-only clients, staff sessions,
the api_client command; and the schema and its interactive page."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from ris.api.models import ApiClient
from ris.scheduling.models import Patient
from ris.web import roles
from tests.api_helpers import his_client
from tests.factories import PatientFactory, ScheduledProcedureStepFactory
from tests.web_helpers import signed_in

pytestmark = pytest.mark.django_db

NEW_PATIENT = {"patient_id": "1", "family_name": "Doe"}


def test_no_token_is_401():
    response = APIClient().get("/api/v1/patients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert client.get("/api/v1/orders/").status_code == 401


def test_a_read_only_client_reads_but_may_not_write():
    """GET is allowed; POST and PATCH are 403 and write nothing."""
    client = his_client(can_write=False)
    patient = PatientFactory()
    assert client.get("/api/v1/patients/").status_code == 200
    assert client.post("/api/v1/patients/", NEW_PATIENT, format="json").status_code == 403
    response = client.patch(f"/api/v1/patients/{patient.pk}/", {"family_name": "X"})
    assert response.status_code == 403
    assert response.data["detail"] == "This client may only read."
    assert client.post(f"/api/v1/orders/{patient.pk}/cancel/").status_code == 403
    assert Patient.objects.count() == 1


def test_a_writing_client_writes():
    client = his_client(can_write=True)
    assert client.post("/api/v1/patients/", NEW_PATIENT, format="json").status_code == 201


def test_a_scheduler_session_uses_the_browsable_api():
    """A scheduler logged in to the web UI gets the HTML pages and may write."""
    client = session_of("sam", roles.SCHEDULER)
    step = ScheduledProcedureStepFactory()
    order = step.requested_procedure.order
    for url in [
        "/api/v1/patients/",
        f"/api/v1/patients/{order.patient_id}/",
        "/api/v1/orders/",
        f"/api/v1/orders/{order.pk}/",
        "/api/v1/scheduled-steps/",
        f"/api/v1/scheduled-steps/{step.pk}/",
        "/api/v1/performed-steps/",
    ]:
        page = client.get(url, HTTP_ACCEPT="text/html")
        assert page.status_code == 200, url
        assert b"<html" in page.content
    assert client.post("/api/v1/patients/", NEW_PATIENT, format="json").status_code == 201


def test_a_session_gets_no_more_than_its_roles_allow():
    """The API gives nobody more than the screens do: no role, nothing; an
    administrator (reference data) may not cancel orders; a technologist reads."""
    order = ScheduledProcedureStepFactory().requested_procedure.order
    nobody = session_of("nobody")
    assert nobody.get("/api/v1/patients/").status_code == 403
    administrator = session_of("ada", roles.ADMINISTRATOR)
    assert administrator.get("/api/v1/orders/").status_code == 200
    assert administrator.post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 403
    technologist = session_of("tess", roles.TECHNOLOGIST)
    assert technologist.get("/api/v1/scheduled-steps/").status_code == 200
    assert technologist.post("/api/v1/patients/", NEW_PATIENT, format="json").status_code == 403
    assert technologist.get("/dicomweb/workitems").status_code in (200, 204)
    order.refresh_from_db()
    assert order.status == "SCHEDULED"


def session_of(username: str, *granted: str) -> APIClient:
    return signed_in(APIClient(enforce_csrf_checks=False), username, *granted)


def test_command_creates_a_client_and_prints_its_token():
    out = StringIO()
    call_command(
        "api_client",
        "create",
        "HIS-A",
        "--write",
        "--callback-url",
        "https://his.example/ris",
        "--secret",
        stdout=out,
    )
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    client_row = ApiClient.objects.get(name="HIS-A")
    assert client_row.can_write
    assert client_row.callback_url == "https://his.example/ris"
    assert lines["callback secret"] == client_row.callback_secret
    assert len(client_row.callback_secret) == 64
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {lines['token']}")
    assert api.post("/api/v1/patients/", NEW_PATIENT, format="json").status_code == 201


def test_command_lists_and_revokes():
    """A revoked client's token no longer works."""
    out = StringIO()
    call_command("api_client", "create", "HIS-B", stdout=out)
    token = out.getvalue().split("token: ")[1].strip()
    listing = StringIO()
    call_command("api_client", "list", stdout=listing)
    assert "HIS-B\tread-only" in listing.getvalue()

    call_command("api_client", "revoke", "HIS-B", stdout=StringIO())

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/patients/").status_code == 401
    listing = StringIO()
    call_command("api_client", "list", stdout=listing)
    assert "(revoked)" in listing.getvalue()


def test_command_gives_a_new_token_and_sets_the_callback():
    call_command("api_client", "create", "HIS-C", stdout=StringIO())
    out = StringIO()
    call_command("api_client", "token", "HIS-C", stdout=out)
    assert out.getvalue().startswith("token: ")
    out = StringIO()
    call_command(
        "api_client", "callback", "HIS-C", "https://his.example/cb", "--secret", stdout=out
    )
    assert ApiClient.objects.get(name="HIS-C").callback_url == "https://his.example/cb"
    assert out.getvalue().startswith("callback secret: ")


def test_command_refuses_a_duplicate_name_an_unknown_client_and_a_bad_url():
    call_command("api_client", "create", "HIS-D", stdout=StringIO())
    with pytest.raises(CommandError, match="exists already"):
        call_command("api_client", "create", "HIS-D", stdout=StringIO())
    with pytest.raises(CommandError, match="No client"):
        call_command("api_client", "revoke", "NOBODY", stdout=StringIO())
    with pytest.raises(CommandError, match="URL"):
        call_command("api_client", "create", "HIS-E", "--callback-url", "nope", stdout=StringIO())
    assert not ApiClient.objects.filter(name="HIS-E").exists()


def test_schema_and_docs_answer():
    """The OpenAPI schema lists every endpoint; the interactive page is served."""
    client = his_client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {
        "/api/v1/patients/",
        "/api/v1/patients/{id}/merge/",
        "/api/v1/orders/",
        "/api/v1/orders/{id}/cancel/",
        "/api/v1/scheduled-steps/{id}/reschedule/",
        "/api/v1/performed-steps/",
    } <= set(paths)
    assert set(paths["/api/v1/orders/"]["post"]["responses"]) >= {"200", "201", "400", "409"}
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_schema_and_docs_need_a_client_or_a_login():
    anonymous = APIClient()
    assert anonymous.get("/api/schema/").status_code == 401
    assert anonymous.get("/api/docs/").status_code == 401


def test_a_client_over_its_rate_is_throttled(monkeypatch):
    """Throttling is on by default; here with a rate small enough to reach."""
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    client = his_client(can_write=False)
    answers = [client.get("/api/v1/patients/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    cache.clear()
