"""People of the web UI with their roles, and a real Chromium (Debian's package)
driven by Playwright against the live test server."""

import os
import shutil

import pytest
from django.contrib.auth import get_user_model

from ris.web.roles import user_assign_roles

# Browsers cannot be downloaded here: Playwright drives the system's Chromium.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Playwright's sync API runs an event loop in
    this thread, which makes Django refuse ORM calls from it unless told that
    this is safe (it is: nothing here is async); the permission is lifted with
    the browser, so no other module runs with it."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                # Containers (CI) run as root, where Chromium's sandbox cannot start.
                args=["--no-sandbox"] if os.geteuid() == 0 else [],
            )
            yield chromium
            chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Pages of fresh browser contexts (one per user) on the live server."""
    contexts = []

    def open_page():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1366, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def user_with_roles(username: str, *roles: str):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    user_assign_roles(user, list(roles))
    return user


def log_in(page, username: str, then: str = "/"):
    page.goto(then)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def signed_in(client, username: str, *roles: str):
    """Django's test client, logged in as a new user with these roles."""
    client.force_login(user_with_roles(username, *roles))
    return client
