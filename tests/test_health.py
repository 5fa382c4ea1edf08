"""The health check, the one page without login, and 503 while the database is away."""

import copy
import socket
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from ris.web import roles
from tests.web_helpers import signed_in


@contextmanager
def database_unreachable():
    """The default connection pointed at a database that cannot be reached: a
    file in a folder that does not exist (SQLite), a port nobody listens on
    (PostgreSQL, its pool closed so that a new one is made, with a short wait)."""
    saved = copy.deepcopy(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.close_pool()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            connection.settings_dict["PORT"] = probe.getsockname()[1]
        connection.settings_dict["HOST"] = "127.0.0.1"
        if "pool" in connection.settings_dict["OPTIONS"]:
            connection.settings_dict["OPTIONS"]["pool"] = {
                "min_size": 1,
                "max_size": 1,
                "timeout": 1,
            }
    else:
        connection.settings_dict["NAME"] = "/nonexistent-folder/ris.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        if connection.vendor == "postgresql":
            connection.close_pool()  # the next request opens a pool on the restored settings


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
