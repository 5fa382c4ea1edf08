import pytest

from dimse import server


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
