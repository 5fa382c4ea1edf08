"""The short path for C-FIND and C-ECHO responses (dimse.commands,
dimse.handlers.pending): the same bytes pynetdicom would send, and whole
responses at any PDU size."""

import threading
from io import BytesIO

import pytest
from pydicom import Dataset
from pynetdicom.dimse_messages import C_ECHO_RSP, C_FIND_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_FIND, C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from dimse.commands import DATA_SET_PRESENT, packed_response, response_command_set
from dimse.handlers import find
from dimse.reactor import REQUESTS_IN_SERVICE, PackedData
from ris.scheduling.models import Station
from tests.dimse_helpers import matches, mwl_find, scu
from tests.factories import ScheduledProcedureStepFactory


def pynetdicoms_command_set(primitive, message_class) -> bytes:
    message = message_class()
    message.primitive_to_message(primitive)
    return encode(message.command_set, True, True)


def find_response(status: int, identifier: BytesIO | None = None) -> C_FIND:
    primitive = C_FIND()
    primitive.MessageIDBeingRespondedTo = 7
    primitive.AffectedSOPClassUID = ModalityWorklistInformationFind
    primitive.Status = status
    primitive.Identifier = identifier
    return primitive


@pytest.mark.parametrize("status", [0xFF00, 0xFF01])
def test_a_pending_command_set_is_the_one_pynetdicom_encodes(status):
    primitive = find_response(status, BytesIO(b"\x10\x00\x10\x00\x00\x00\x00\x00"))
    packed = response_command_set(
        0x8020, ModalityWorklistInformationFind, 7, status, DATA_SET_PRESENT
    )
    assert packed == pynetdicoms_command_set(primitive, C_FIND_RSP)


@pytest.mark.parametrize("status", [0x0000, 0xFE00])
def test_a_final_find_response_is_packed_as_pynetdicom_encodes_it(status):
    primitive = find_response(status)
    assert packed_response(primitive) == pynetdicoms_command_set(primitive, C_FIND_RSP)


def test_an_echo_response_is_packed_as_pynetdicom_encodes_it():
    primitive = C_ECHO()
    primitive.MessageIDBeingRespondedTo = 3
    primitive.AffectedSOPClassUID = Verification
    primitive.Status = 0x0000
    assert packed_response(primitive) == pynetdicoms_command_set(primitive, C_ECHO_RSP)


def test_a_response_with_more_to_say_is_left_to_pynetdicom():
    failure = find_response(0xC000)
    failure.ErrorComment = "The RIS could not process the query"
    invalid = find_response(0xA900)
    invalid.OffendingElement = [0x00100010]
    assert packed_response(failure) is None
    assert packed_response(invalid) is None
    assert packed_response(find_response(0xFF00, BytesIO(b"\x10\x00"))) is None
    assert packed_response(C_STORE()) is None


@pytest.mark.parametrize(
    "pdvs",
    [
        [[1, b"\x03" + b"C" * 40], [1, b"\x02" + b"D" * 301]],  # command and data, one PDU
        [[5, b"\x00" + b"D" * 250]],  # a fragment, not the last
    ],
)
def test_a_packed_p_data_is_the_pdu_pynetdicom_encodes(pdvs):
    """PackedData carries its P-DATA-TF PDU encoded (PS3.8 9.3.5), and the same
    PDVs for pynetdicom's state machine outside the Data Transfer state."""
    packed = PackedData.of(pdvs)

    assert packed.encoded == P_DATA_TF(packed).encode()
    assert packed.presentation_data_value_list == pdvs


@pytest.mark.parametrize("maximum_pdu", [0, 16382, 256])
def test_responses_arrive_whole_at_any_maximum_pdu_length(dicom_service, maximum_pdu):
    """Small PDUs split each response into fragments; 0 is no limit (PS3.8 D.1)."""
    station = Station.objects.create(ae_title="CT1", name="CT 1", modality="CT")
    steps = [ScheduledProcedureStepFactory(station=station, comments="x" * 300) for _ in range(3)]
    identifier = Dataset()
    identifier.PatientName = ""
    identifier.ScheduledProcedureStepSequence = [Dataset()]

    ae = scu()
    ae.maximum_pdu_size = maximum_pdu
    responses = mwl_find(dicom_service, identifier, ae=ae)

    items = [response.ScheduledProcedureStepSequence[0] for response in matches(responses)]
    assert sorted(item.ScheduledProcedureStepID for item in items) == sorted(
        step.sps_id for step in steps
    )
    assert {item.CommentsOnTheScheduledProcedureStep for item in items} == {"x" * 300}


def gated_worklist(monkeypatch, first_seen: threading.Event, waited: list[bool]):
    """Make the service's worklist search wait, after its first match, until
    the client has that match (first_seen) or a second has passed; `waited`
    gets whether the client had it."""
    search = find.MWL[2]

    def gated(event, encoding):
        results = iter(search(event, encoding))
        yield next(results)
        waited.append(first_seen.wait(timeout=1))
        yield from results

    monkeypatch.setattr(find, "MWL", (*find.MWL[:2], gated, *find.MWL[3:]))


def find_noting_the_first(address, first_seen: threading.Event) -> list:
    identifier = Dataset()
    identifier.PatientName = ""
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    assoc = scu().associate(*address, ae_title="RIS")
    try:
        statuses = []
        for status, _ in assoc.send_c_find(identifier, ModalityWorklistInformationFind):
            first_seen.set()
            statuses.append(int(status.Status))
        return statuses
    finally:
        assoc.release()


def test_a_lone_query_sends_its_first_response_before_the_rest_are_made(dicom_service, monkeypatch):
    """With no other request in service, the modality gets the first match
    while the service makes the next (dimse.handlers.pending)."""
    ScheduledProcedureStepFactory.create_batch(3)
    first_seen, waited = threading.Event(), []
    gated_worklist(monkeypatch, first_seen, waited)

    statuses = find_noting_the_first(dicom_service, first_seen)

    assert statuses == [0xFF00, 0xFF00, 0xFF00, 0x0000]
    assert waited == [True]


def test_a_query_among_others_sends_its_responses_together(dicom_service, monkeypatch):
    """While other requests are in service, the responses are kept for one write."""
    ScheduledProcedureStepFactory.create_batch(3)
    first_seen, waited = threading.Event(), []
    gated_worklist(monkeypatch, first_seen, waited)

    with REQUESTS_IN_SERVICE.counting():  # another association's request
        statuses = find_noting_the_first(dicom_service, first_seen)

    assert statuses == [0xFF00, 0xFF00, 0xFF00, 0x0000]
    assert waited == [False]
