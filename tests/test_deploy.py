"""deploy/: the compose file and HAProxy's configuration validate, and the
DICOM health check (manage.py dimse_echo, HAProxy's tcp-check) works."""

import os
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dimse.healthcheck import haproxy_tcp_check
from tests.dimse_helpers import associate, free_port, mwl_find
from tests.process_helpers import ROOT
from tests.test_dimse_audit import station_query

DEPLOY = ROOT / "deploy"


def compose_command() -> list[str] | None:
    """Docker Compose v2 (`docker compose`) or v1 (`docker-compose`): both
    validate a file without a Docker engine."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.skipif(compose_command() is None, reason="Docker Compose is not installed")
def test_the_compose_file_validates_with_every_process():
    env = {**os.environ, "RIS_SECRET_KEY": "s" * 50, "RIS_DATABASE_PASSWORD": "secret"}
    command = [*compose_command(), "-f", str(DEPLOY / "compose.yaml")]
    result = subprocess.run(
        [*command, "config", "--services"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert services == {
        "db",
        "migrate",
        "web",
        "events",
        "dimse1",
        "dimse2",
        "dispatcher",
        "haproxy",
    }
    # Without the secrets it refuses to run, saying which is missing.
    bare = {key: value for key, value in env.items() if key != "RIS_SECRET_KEY"}
    refused = subprocess.run([*command, "config"], env=bare, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "RIS_SECRET_KEY" in refused.stderr


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed")
def test_the_haproxy_configuration_validates():
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_haproxy_check_is_what_the_command_prints_for_the_default_titles(settings):
    lines = [line.strip() for line in (DEPLOY / "haproxy.cfg").read_text().splitlines()]
    expected = haproxy_tcp_check(called="RIS", calling="HEALTHCHECK")
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    settings.RIS_AE_TITLE, settings.RIS_DIMSE_HEALTH_CHECK_AE_TITLE = "RIS", "HEALTHCHECK"
    printed = StringIO()
    call_command("dimse_echo", "--haproxy", stdout=printed)
    assert [line.strip() for line in printed.getvalue().splitlines()] == expected


@pytest.fixture
def registered_only(dicom_service, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    settings.RIS_DIMSE_PORT = dicom_service[1]
    return dicom_service


def test_the_health_check_ae_may_echo_unregistered_but_use_nothing_else(registered_only):
    output = StringIO()
    call_command("dimse_echo", stdout=output)
    assert "answers C-ECHO" in output.getvalue()
    [(status, _, _)] = mwl_find(registered_only, station_query("CT1"), "HEALTHCHECK")
    assert status == 0xC124  # not authorized


def test_with_the_health_check_title_empty_there_is_no_health_check_caller(
    registered_only, settings
):
    settings.RIS_DIMSE_HEALTH_CHECK_AE_TITLE = ""
    with pytest.raises(CommandError, match="health checks are off"):
        call_command("dimse_echo")
    # Off in the service too: the title is then a caller like any other.
    associated = associate(registered_only, calling_ae_title="HEALTHCHECK")
    assert associated.is_rejected


def test_the_echo_command_fails_where_nothing_answers(settings):
    with pytest.raises(CommandError, match="No association"):
        call_command("dimse_echo", "--port", str(free_port()), "--timeout", "2")
