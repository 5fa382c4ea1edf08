"""Failed logins are counted: too many for a user name or an address, and
logging in is refused for a while, whatever the password."""

import time

import pytest
from django.core.cache import cache
from django.test import Client

from ris.web import roles
from tests.web_helpers import PASSWORD, user_with_roles


@pytest.fixture(autouse=True)
def fresh_counts(db, settings):
    settings.RIS_LOGIN_FAILURES_PER_USER = 3
    settings.RIS_LOGIN_FAILURES_PER_ADDRESS = 5
    cache.clear()
    user_with_roles("frontdesk", roles.SCHEDULER)
    yield
    cache.clear()


def attempt(username="frontdesk", password=PASSWORD, address="10.0.0.7"):
    return Client(REMOTE_ADDR=address).post(
        "/accounts/login/", {"username": username, "password": password}
    )


def test_a_user_name_that_fails_too_often_is_refused_even_with_the_right_password():
    for _ in range(3):
        assert attempt(password="guess").status_code == 200  # the form again, with an error
    refused = attempt()
    assert refused.status_code == 429
    assert b"Too many failed attempts" in refused.content
    # Another user at the same desk is not locked out by it.
    user_with_roles("radiographer", roles.TECHNOLOGIST)
    assert attempt("radiographer").status_code == 302


def test_an_address_that_fails_too_often_is_refused_for_every_user_name():
    for number in range(5):
        attempt(username=f"nobody{number}", password="guess")
    assert attempt(address="10.0.0.7").status_code == 429
    assert attempt(address="10.0.0.8").status_code == 302


def test_a_success_forgets_the_user_names_failures(settings):
    for _ in range(2):
        attempt(password="guess")
    assert attempt().status_code == 302
    for _ in range(2):
        attempt(password="guess")
    assert attempt().status_code == 302  # 2 + 2 failures, but never 3 in a row


def test_the_lockout_ends(settings):
    settings.RIS_LOGIN_LOCKOUT_SECONDS = 1
    for _ in range(3):
        attempt(password="guess")
    assert attempt().status_code == 429
    time.sleep(1.2)
    assert attempt().status_code == 302
