import pytest

from dimse import server
from dimse.handlers import read_ahead
from ris.nodes.services import remote_ae_add
from ris.web import roles
from tests.dimse_helpers import MppsScp, free_port
from tests.web_helpers import browser, new_page, signed_in  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def no_last_questions(monkeypatch):
    """Each test's DICOM service knows no modality's last worklist question,
    as a new process does: else an earlier test's question would be read
    ahead, and a test's first query answered with rows read before its own
    changes (dimse.handlers.read_ahead)."""
    monkeypatch.setattr(
        read_ahead, "LAST_QUESTIONS", read_ahead.LastQuestions(read_ahead.KEPT_QUESTIONS)
    )


@pytest.fixture
def dicom_service(transactional_db, settings):
    """The DICOM service on a free loopback port, accepting any calling AE.

    transactional_db: the service's threads use their own database
    connections, which see only committed data.
    """
    settings.RIS_DIMSE_ACCEPT_ANY_AE = True
    settings.RIS_AE_TITLE = "RIS"
    running = server.start(server.ServiceConfig(ae_title="RIS", bind="127.0.0.1", port=0))
    yield running.server_address[:2]
    server.stop(running, grace=5)


@pytest.fixture
def pacs():
    """The destination, not started: a test starts it when the PACS is "up"."""
    scp = MppsScp(port=free_port())
    yield scp
    scp.stop()


@pytest.fixture
def pacs_ae(db, pacs):
    """The destination registered in ris.nodes as an MPPS destination."""
    return remote_ae_add(
        ae_title="PACS", host="127.0.0.1", port=pacs.port, services=[], forward_mpps=True
    )


@pytest.fixture
def scheduler(client, db):
    """The test client of a user with the scheduler role."""
    return signed_in(client, "scheduler", roles.SCHEDULER)


@pytest.fixture
def technologist(client, db):
    """The test client of a user with the technologist role."""
    return signed_in(client, "technologist", roles.TECHNOLOGIST)
