"""A modality's worklist rows read while it sends its request (dimse.handlers.read_ahead).

The service reads the rows of the last question a calling AE title asked as
soon as its next association is accepted. A change committed between that
read and the request shows how the query was answered: from the rows read
ahead (without it), or afresh (with it).
"""

import threading
import time

import pytest
from pydicom import Dataset
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind

from dimse.handlers import read_ahead
from dimse.handlers.read_ahead import LastQuestions
from dimse.reactor import REQUESTS_IN_SERVICE
from ris.nodes.services import remote_ae_add
from ris.scheduling.models import Station
from tests.dimse_helpers import matches, mwl_find, scu
from tests.factories import ScheduledProcedureStepFactory, StationFactory

STATION = "CT9"


def station_query() -> Dataset:
    item = Dataset()
    item.ScheduledStationAETitle = STATION
    item.ScheduledProcedureStepID = ""
    identifier = Dataset()
    identifier.PatientName = ""
    identifier.ScheduledProcedureStepSequence = [item]
    return identifier


def sps_ids(responses) -> set[str]:
    return {
        r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in matches(responses)
    }


def book():
    station = Station.objects.filter(ae_title=STATION).first() or StationFactory(ae_title=STATION)
    return ScheduledProcedureStepFactory(station=station)


@pytest.fixture
def reads_ahead(monkeypatch):
    """Set when the service has read ahead on an association (its read is
    the real one, observed)."""
    done = threading.Event()
    read = read_ahead.worklist_read_ahead

    def observed(*args):
        try:
            return read(*args)
        finally:
            done.set()

    monkeypatch.setattr(read_ahead, "worklist_read_ahead", observed)
    return done


def ask_after_a_change(
    address, reads_ahead: threading.Event, queries: int = 1, read=True, pause: float = 0
):
    """Ask once so that the title's question is known; then, on a new
    association, book a step once the service has read ahead (if it is to
    `read`; else a moment later), wait `pause` seconds and ask again
    (`queries` times); the answers, the step there before and the step booked."""
    first = book()
    assert sps_ids(mwl_find(address, station_query(), STATION)) == {first.sps_id}
    reads_ahead.clear()
    assoc = scu(STATION).associate(*address, ae_title="RIS")
    try:
        assert assoc.is_established
        reads_ahead.wait(5 if read else 0.2)
        booked = book()
        time.sleep(pause)
        answers = [sps_ids(find_on(assoc)) for _ in range(queries)]
    finally:
        assoc.release()
    return answers, first, booked


def find_on(assoc) -> list:
    found = assoc.send_c_find(station_query(), ModalityWorklistInformationFind)
    return [(int(status.Status), identifier, status) for status, identifier in found]


def test_read_ahead_rows_answer_only_the_first_query_of_the_association(
    dicom_service, settings, reads_ahead
):
    settings.RIS_DIMSE_WORKLIST_READ_AHEAD = 30
    (first_answer, second_answer), first, booked = ask_after_a_change(
        dicom_service, reads_ahead, queries=2
    )
    assert reads_ahead.is_set()
    assert first_answer == {first.sps_id}  # as it was when the association was accepted
    assert second_answer == {first.sps_id, booked.sps_id}


def test_rows_read_too_long_before_the_request_are_not_used(dicom_service, settings, reads_ahead):
    settings.RIS_DIMSE_WORKLIST_READ_AHEAD = 0.2
    [answer], first, booked = ask_after_a_change(dicom_service, reads_ahead, pause=0.4)
    assert reads_ahead.is_set()
    assert answer == {first.sps_id, booked.sps_id}


def test_no_rows_are_read_ahead_when_it_is_off(dicom_service, settings, reads_ahead):
    settings.RIS_DIMSE_WORKLIST_READ_AHEAD = 0
    [answer], first, booked = ask_after_a_change(dicom_service, reads_ahead, read=False)
    assert not reads_ahead.is_set()
    assert answer == {first.sps_id, booked.sps_id}


def test_no_rows_are_read_ahead_for_an_association_that_cannot_ask(
    dicom_service, settings, reads_ahead
):
    """An association for MPPS only, or an AE not allowed the worklist, asks nothing."""
    settings.RIS_DIMSE_WORKLIST_READ_AHEAD = 30
    book()
    mwl_find(dicom_service, station_query(), STATION)
    reads_ahead.clear()
    mpps_only = scu(STATION)
    mpps_only.requested_contexts = []
    mpps_only.add_requested_context(ModalityPerformedProcedureStep)
    mpps_only.associate(*dicom_service, ae_title="RIS").release()

    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    remote_ae_add(ae_title=STATION, host="127.0.0.1", port=104, services=["mpps"])
    scu(STATION).associate(*dicom_service, ae_title="RIS").release()
    assert not reads_ahead.is_set()


def test_no_rows_are_read_ahead_while_the_service_is_busy(dicom_service, settings, reads_ahead):
    settings.RIS_DIMSE_WORKLIST_READ_AHEAD = 30
    with REQUESTS_IN_SERVICE.counting():  # another association's request
        [answer], first, booked = ask_after_a_change(dicom_service, reads_ahead, read=False)
    assert not reads_ahead.is_set()
    assert answer == {first.sps_id, booked.sps_id}


def test_the_last_questions_kept_are_the_most_recently_asked():
    questions = LastQuestions(keep=2)
    questions.remember("CT1", b"one", "1.2.840.10008.1.2.1")
    questions.remember("CT2", b"two", "1.2.840.10008.1.2.1")
    questions.remember("CT1", b"three", "1.2.840.10008.1.2")
    questions.remember("MR1", b"four", "1.2.840.10008.1.2.1")
    assert questions.of("CT2") is None
    assert questions.of("CT1") == (b"three", "1.2.840.10008.1.2")
    assert questions.of("MR1") == (b"four", "1.2.840.10008.1.2.1")
