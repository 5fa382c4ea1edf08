"""ris.nodes.directory: calling AE titles looked up once, forgotten on any change."""

import pytest
from django.db import connection  # noqa: F401 (the skipif conditions name it)

from dimse import server
from ris.nodes.directory import DIRECTORY, RemoteAEDirectory
from ris.nodes.models import RemoteAE
from ris.nodes.services import remote_ae_add
from tests.dimse_helpers import associate, wait_until


@pytest.fixture
def running(transactional_db, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    service = server.start(server.ServiceConfig(ae_title="RIS", bind="127.0.0.1", port=0))
    try:
        yield service.server_address[:2]
    finally:
        server.stop(service, grace=5)


def accepted(address, calling_ae_title: str) -> bool:
    assoc = associate(address, calling_ae_title=calling_ae_title)
    established = assoc.is_established
    if established:
        assoc.release()
    return established


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_remote_ae_disabled_by_any_write_is_refused_at_once(running):
    """A bulk update sends no Django signal; the table's trigger tells the
    service all the same, and its next association is refused."""
    remote_ae_add(ae_title="CT9", host="127.0.0.1", port=104)
    assert accepted(running, "CT9")
    assert "CT9" in DIRECTORY  # the next association of CT9 asks no database
    RemoteAE.objects.filter(ae_title="CT9").update(enabled=False)
    wait_until(lambda: "CT9" not in DIRECTORY, timeout=5)
    assert not accepted(running, "CT9")
    RemoteAE.objects.filter(ae_title="CT9").update(enabled=True)
    wait_until(lambda: "CT9" not in DIRECTORY, timeout=5)
    assert accepted(running, "CT9")


@pytest.mark.skipif("connection.vendor == 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_without_notifications_nothing_is_kept(running):
    """SQLite cannot tell the service of another process's change: every
    association looks its caller up."""
    remote_ae_add(ae_title="CT9", host="127.0.0.1", port=104)
    assert accepted(running, "CT9")
    assert "CT9" not in DIRECTORY
    RemoteAE.objects.filter(ae_title="CT9").update(enabled=False)
    assert not accepted(running, "CT9")


def test_an_answer_read_before_a_change_was_heard_is_not_kept():
    directory = RemoteAEDirectory()
    directory.forget(trusted=True)

    def load_while_a_change_comes(title):
        directory.forget(trusted=True)  # the watcher hears a change meanwhile
        return "the row as it was"

    assert directory.lookup("CT9", load_while_a_change_comes) == "the row as it was"
    assert "CT9" not in directory
    assert directory.lookup("CT9", lambda title: "the row as it is") == "the row as it is"
    assert "CT9" in directory
    directory.forget(trusted=False)
    assert directory.lookup("CT9", lambda title: "read again") == "read again"
    assert "CT9" not in directory


def test_the_directory_keeps_no_more_than_its_limit(monkeypatch):
    monkeypatch.setattr("ris.nodes.directory.MOST_KEPT", 2)
    directory = RemoteAEDirectory()
    directory.forget(trusted=True)
    for title in ("A", "B", "C"):
        assert directory.lookup(title, lambda title: None) is None
    assert [title in directory for title in ("A", "B", "C")] == [True, True, False]
