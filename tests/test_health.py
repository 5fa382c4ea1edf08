"""The health check, the one page without login, and 503 while the database is away."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ris.web import roles
from tests.db_helpers import database_unreachable
from tests.web_helpers import signed_in


@pytest.mark.django_db
def test_the_health_check_answers_without_login():
    response = APIClient().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_without_the_database_the_web_the_api_and_the_health_check_answer_503():
    web = signed_in(Client(), "front-desk", roles.SCHEDULER)
    with database_unreachable():
        health = APIClient().get("/health/")
        api = APIClient().get("/api/v1/patients/", HTTP_AUTHORIZATION="Token whatever")
        page = web.get("/")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert api.status_code == 503
    assert api.json()["code"] == "database_unavailable"
    assert page.status_code == 503
    assert b"database" in page.content
    assert page["Retry-After"]
    # And back: the next request uses the database again.
    assert APIClient().get("/health/").status_code == 200
