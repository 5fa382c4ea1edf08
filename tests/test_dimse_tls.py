"""DICOM over TLS (dimse.tls): pynetdicom and DCMTK's findscu as callers, callers
without a good certificate refused, and a silent caller holding up nobody."""

import socket
import ssl
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from pydicom import Dataset
from pynetdicom.sop_class import ModalityWorklistInformationFind

from dimse import server, tls
from tests.dimse_helpers import FINDSCU, RIS_AE_TITLE, findscu, scu, wait_until
from tests.factories import ScheduledProcedureStepFactory, StationFactory
from tests.tls_helpers import make_pki

UTC = ZoneInfo("UTC")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def config(pki, *, plain=True, verify_callers=True) -> server.ServiceConfig:
    return server.ServiceConfig(
        ae_title=RIS_AE_TITLE,
        bind="127.0.0.1",
        port=0,
        plain=plain,
        tls_port=0,
        tls_files=tls.TlsFiles(
            certificate=str(pki.server.certificate),
            private_key=str(pki.server.private_key),
            ca_certificates=str(pki.ca_certificate) if verify_callers else "",
        ),
    )


@pytest.fixture
def listeners(transactional_db, settings, pki):
    """The plain and the TLS listener: {"plain": (host, port), "tls": (host, port)}."""
    settings.RIS_DIMSE_ACCEPT_ANY_AE = True
    settings.RIS_DIMSE_ACSE_TIMEOUT = 2
    running = server.start_all(config(pki))
    yield {
        "tls" if running_server.ssl_context else "plain": running_server.server_address[:2]
        for running_server in running
    }
    server.stop_all(running, grace=5)


def caller_context(pki, identity=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_certificate))
    if identity:
        context.load_cert_chain(str(identity.certificate), str(identity.private_key))
    return context


def associate_tls(address, context):
    host, port = address
    return scu("CT1").associate(host, port, ae_title=RIS_AE_TITLE, tls_args=(context, "localhost"))


def todays_step():
    return ScheduledProcedureStepFactory(
        station=StationFactory(ae_title="CT1"), start=datetime(2026, 3, 5, 9, tzinfo=UTC)
    )


def worklist_query() -> Dataset:
    item = Dataset()
    item.ScheduledStationAETitle = "CT1"
    item.ScheduledProcedureStepStartDate = "20260305"
    item.ScheduledProcedureStepID = ""
    query = Dataset()
    query.PatientID = ""
    query.ScheduledProcedureStepSequence = [item]
    return query


def test_a_caller_with_a_certificate_gets_the_worklist_over_tls(listeners, pki, settings):
    settings.TIME_ZONE = "UTC"
    step = todays_step()
    assoc = associate_tls(listeners["tls"], caller_context(pki, pki.modality))
    assert assoc.is_established
    try:
        assert assoc.send_c_echo().Status == 0x0000
        responses = list(assoc.send_c_find(worklist_query(), ModalityWorklistInformationFind))
    finally:
        assoc.release()
    statuses = [int(status.Status) for status, _ in responses]
    assert statuses == [0xFF00, 0x0000]
    item = responses[0][1].ScheduledProcedureStepSequence[0]
    assert item.ScheduledProcedureStepID == step.sps_id


def test_the_plain_port_answers_beside_the_tls_port(listeners):
    host, port = listeners["plain"]
    assoc = scu("CT1").associate(host, port, ae_title=RIS_AE_TITLE)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()


@pytest.mark.parametrize("who", ["no certificate", "a certificate the CA did not sign"])
def test_a_caller_without_a_good_certificate_is_refused_and_logged(listeners, pki, who, caplog):
    identity = None if who == "no certificate" else pki.stranger
    assoc = associate_tls(listeners["tls"], caller_context(pki, identity))
    assert not assoc.is_established
    wait_until(lambda: "TLS handshake with 127.0.0.1" in caplog.text)
    assert "failed" in caplog.text
    good = associate_tls(listeners["tls"], caller_context(pki, pki.modality))
    assert good.is_established
    good.release()


def test_a_caller_that_never_starts_tls_holds_up_nobody_and_is_dropped(listeners, pki):
    """pynetdicom would do the handshake in its accepting thread, with no time
    limit; here a silent connection waits in its own thread, for the ACSE
    timeout (2 s in this test), while others are served."""
    silent = socket.create_connection(listeners["tls"])
    try:
        began = time.monotonic()
        good = associate_tls(listeners["tls"], caller_context(pki, pki.modality))
        assert good.is_established
        assert time.monotonic() - began < 2
        good.release()
        silent.settimeout(10)
        assert silent.recv(1) == b""  # closed by the service
    finally:
        silent.close()


def test_without_ca_certificates_callers_need_none(transactional_db, pki, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = True
    running = server.start_all(config(pki, plain=False, verify_callers=False))
    try:
        [tls_only] = running
        assert tls_only.ssl_context
        assoc = associate_tls(tls_only.server_address[:2], caller_context(pki))
        assert assoc.is_established
        assoc.release()
    finally:
        server.stop_all(running, grace=5)


def test_tls_files_that_cannot_be_loaded_stop_the_service_before_it_listens(tmp_path, pki):
    missing = tls.TlsFiles(certificate=str(tmp_path / "none.pem"), private_key=str(tmp_path / "x"))
    with pytest.raises(ImproperlyConfigured, match="cannot load"):
        server.start_all(server.ServiceConfig("RIS", "127.0.0.1", 0, tls_port=0, tls_files=missing))
    with pytest.raises(ImproperlyConfigured, match="TLS_PORT"):
        server.start_all(server.ServiceConfig("RIS", "127.0.0.1", 0, plain=False))


@pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu is not installed")
def test_dcmtk_findscu_queries_the_worklist_over_tls(listeners, pki, settings, tmp_path):
    settings.TIME_ZONE = "UTC"
    step = todays_step()
    keys = [
        "PatientID",
        "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=CT1",
        "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20260305",
        "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
    ]
    with_tls = ["+tls", str(pki.modality.private_key), str(pki.modality.certificate)]
    with_tls += ["+cf", str(pki.ca_certificate)]
    [response] = findscu(listeners["tls"], keys, tmp_path, *with_tls)
    assert response.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID == step.sps_id
