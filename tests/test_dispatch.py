"""The DICOM dispatcher: queued N-CREATE and N-SET delivered to remote AEs, on loopback.

The destination is a real pynetdicom MPPS SCP started by the test ("PACS"),
reached through real associations from the RIS's AE title.
"""

import contextlib
import socket
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep, Verification

from dimse.dispatch import _associate, deliver_dicom
from dimse.reactor import GuardedSocket
from ris.nodes.selectors import mpps_destinations
from ris.nodes.services import remote_ae_add
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage, State
from ris.outbox.payloads import N_CREATE, N_SET, dicom_payload
from tests.dimse_helpers import dicom_dispatcher, free_port, wait_until
from tests.factories import RemoteAEFactory
from tests.process_helpers import (
    ENQUEUE,
    MPPS,
    forward_mpps,
    migrated_database,
    mpps_created,
    run_python,
    run_until_sigterm,
)


def mpps_set(**values) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def dicom_message(operation: str, uid: str, dataset: Dataset, destination="PACS"):
    """An unsaved message, as the dispatcher hands it to deliver_dicom."""
    payload = dicom_payload(
        operation=operation, sop_class_uid=MPPS, sop_instance_uid=uid, dataset=dataset
    )
    return OutboundMessage(channel=Channel.DICOM, destination=destination, payload=payload)


def outcome(message: OutboundMessage) -> str:
    """What the dispatcher would record: delivered, transient or permanent."""
    try:
        deliver_dicom(message)
    except DeliveryError as error:
        return "permanent" if error.permanent else "transient"
    return "delivered"


def delivery_error(message: OutboundMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        deliver_dicom(message)
    return caught.value


# --- Delivering one message ---------------------------------------------------------


def test_n_create_and_n_set_reach_the_destination_with_their_data_sets(pacs, pacs_ae):
    pacs.start()
    uid = generate_uid()
    created, completed = mpps_created(uid), mpps_set(PerformedProcedureStepStatus="COMPLETED")
    deliver_dicom(dicom_message(N_CREATE, uid, created))
    deliver_dicom(dicom_message(N_SET, uid, completed))
    assert [(r.operation, r.sop_instance_uid) for r in pacs.received] == [
        (N_CREATE, uid),
        (N_SET, uid),
    ]
    assert pacs.received[0].dataset.to_json_dict() == created.to_json_dict()
    assert pacs.received[0].dataset.PatientName == "Müller^Jürgen"
    assert pacs.received[1].dataset.to_json_dict() == completed.to_json_dict()


def test_the_ris_neither_sends_nor_acknowledges_with_delays(pacs, pacs_ae):
    """TCP_NODELAY on the associations the RIS opens, as on those it accepts:
    else each N-EVENT-REPORT or forwarded MPPS waits ~40 ms for the peer's
    ACK. And they read through the service's GuardedSocket, which
    acknowledges a peer's response at once (tests/test_dimse_service.py)."""
    pacs.start()
    assoc = _associate(pacs_ae, ModalityPerformedProcedureStep)
    try:
        sock = assoc.dul.socket.socket
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert isinstance(assoc.dul.socket, GuardedSocket)
    finally:
        assoc.release()


def test_the_association_goes_from_our_ae_title_to_the_destinations(pacs, pacs_ae, settings):
    settings.RIS_AE_TITLE = "MAIN_RIS"
    pacs.start()
    deliver_dicom(dicom_message(N_CREATE, generate_uid(), mpps_created("1.2.3")))
    [received] = pacs.received
    assert (received.calling_ae_title, received.called_ae_title) == ("MAIN_RIS", "PACS")


@pytest.mark.parametrize(
    ("operation", "status", "expected"),
    [
        (N_CREATE, 0x0000, "delivered"),
        (N_CREATE, 0x0107, "delivered"),  # warning: attribute list error
        (N_SET, 0x0116, "delivered"),  # warning: attribute value out of range
        (N_CREATE, 0x0111, "delivered"),  # duplicate instance: the destination has it
        (N_CREATE, 0x0110, "transient"),  # processing failure
        (N_SET, 0x0213, "transient"),  # resource limitation
        (N_SET, 0x0124, "transient"),  # not authorized: the destination's setup, not the message
        (N_CREATE, 0x0106, "permanent"),  # invalid attribute value
        (N_CREATE, 0x0120, "permanent"),  # missing attribute
        (N_SET, 0x0112, "permanent"),  # no such SOP instance
        (N_SET, 0x0111, "permanent"),  # "duplicate" makes no sense for an N-SET
        (N_SET, 0xC000, "permanent"),  # a failure code nobody planned for
    ],
)
def test_the_destinations_answer_decides_the_outcome(pacs, pacs_ae, operation, status, expected):
    pacs.answers[operation] = status
    pacs.start()
    assert outcome(dicom_message(operation, generate_uid(), mpps_set(Modality="CT"))) == expected


def test_an_n_set_to_an_mpps_that_may_no_longer_be_updated_is_given_up(pacs, pacs_ae):
    """PS3.4 F.7.2.2: 0x0110 with Error ID 0xA710 means COMPLETED or DISCONTINUED there."""
    status = Dataset()
    status.Status = 0x0110
    status.ErrorID = 0xA710
    status.ErrorComment = "Performed Procedure Step Object may no longer be updated"
    pacs.answers[N_SET] = status
    pacs.start()
    error = delivery_error(dicom_message(N_SET, "1.2.3", mpps_set(Modality="CT")))
    assert error.permanent
    assert "0x0110" in str(error)
    assert "0xA710" in str(error)
    assert "may no longer be updated" in str(error)


def test_a_destination_that_is_down_is_tried_again_later(pacs, pacs_ae):
    error = delivery_error(dicom_message(N_CREATE, "1.2.3", mpps_created("1.2.3")))
    assert not error.permanent
    assert f"No association with PACS (127.0.0.1:{pacs.port})" in str(error)


def test_a_destination_that_rejects_the_ris_says_why_and_is_tried_again_later(pacs, pacs_ae):
    """A PACS not told of the RIS's AE title rejects it at once (PS3.8
    Table 9-21: rejected-permanent, service-user, calling AE title not
    recognized): the error says so, not that the connection failed."""
    pacs.known_callers = ["SOMEONE_ELSE"]
    pacs.start()
    error = delivery_error(dicom_message(N_CREATE, "1.2.3", mpps_created("1.2.3")))
    assert not error.permanent
    assert "rejected (result 1, source 1, reason 3)" in str(error)


def test_a_destination_without_the_sop_class_is_tried_again_later(pacs, pacs_ae):
    """A PACS not (yet) set up for MPPS is a configuration to fix; the queue waits."""
    pacs.start(Verification)
    error = delivery_error(dicom_message(N_CREATE, "1.2.3", mpps_created("1.2.3")))
    assert not error.permanent
    assert "did not accept the SOP class 1.2.840.10008.3.1.2.3.3" in str(error)


def test_no_response_is_tried_again_later(pacs, pacs_ae, settings):
    settings.RIS_DIMSE_DIMSE_TIMEOUT = 0.3
    pacs.delay = 1
    pacs.start()
    error = delivery_error(dicom_message(N_CREATE, "1.2.3", mpps_created("1.2.3")))
    assert not error.permanent
    assert "no response" in str(error)


def test_an_unknown_destination_is_given_up(db):
    error = delivery_error(dicom_message(N_CREATE, "1.2.3", mpps_created("1.2.3"), "GONE"))
    assert error.permanent
    assert "'GONE'" in str(error)


def test_a_disabled_destination_is_waited_for(db):
    """Switching an AE off pauses its queue; it loses nothing."""
    RemoteAEFactory(ae_title="PACS", host="127.0.0.1", enabled=False)
    error = delivery_error(dicom_message(N_CREATE, "1.2.3", mpps_created("1.2.3")))
    assert not error.permanent
    assert "disabled" in str(error)


@pytest.mark.parametrize(
    "payload",
    [
        {"operation": "N-DELETE", "sop_class_uid": MPPS, "sop_instance_uid": "1.2", "dataset": {}},
        {"operation": "N-SET", "sop_class_uid": MPPS, "dataset": {}},
        {"operation": "N-SET", "sop_class_uid": MPPS, "sop_instance_uid": "1.2", "dataset": 7},
        {"operation": "N-SET", "sop_class_uid": MPPS, "sop_instance_uid": "1.2", "dataset": "x"},
        {
            "operation": "N-SET",
            "sop_class_uid": MPPS,
            "sop_instance_uid": "1",
            "dataset": {"0010": {}},
        },
    ],
)
def test_a_malformed_message_is_given_up_without_an_association(pacs_ae, payload):
    message = OutboundMessage(channel=Channel.DICOM, destination="PACS", payload=payload)
    assert delivery_error(message).permanent


def test_dicom_payload_refuses_an_unknown_operation():
    with pytest.raises(ValueError, match="N-DELETE"):
        dicom_payload(operation="N-DELETE", sop_class_uid=MPPS, sop_instance_uid="1", dataset=None)


# --- End to end: a destination that is down, then back ------------------------------


def test_a_destination_that_was_down_gets_everything_in_order_when_it_is_back(
    transactional_db, settings, pacs, pacs_ae, caplog
):
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 0.02, 0.1
    uid = generate_uid()
    sent = [
        (N_CREATE, mpps_created(uid)),
        (N_SET, mpps_set(PerformedSeriesSequence=[mpps_set(SeriesInstanceUID="1.2.3.4")])),
        (N_SET, mpps_set(PerformedProcedureStepStatus="COMPLETED")),
    ]
    for operation, dataset in sent:
        forward_mpps(operation, uid, dataset)
    failures = lambda: caplog.text.count("failed, next in")  # noqa: E731

    with dicom_dispatcher():  # the PACS is down
        wait_until(lambda: failures() >= 3)
    assert pacs.received == []
    head, *behind = OutboundMessage.objects.order_by("id")
    assert (head.state, "No association with PACS" in head.last_error) == (State.PENDING, True)
    assert head.attempts >= 3
    # Strict order: nothing queued behind the N-CREATE was tried.
    assert [(m.state, m.attempts) for m in behind] == [(State.PENDING, 0), (State.PENDING, 0)]

    pacs.start()  # the PACS is back
    with dicom_dispatcher():
        wait_until(lambda: len(pacs.received) == 3)
    assert [(r.operation, r.sop_instance_uid) for r in pacs.received] == [
        (N_CREATE, uid),
        (N_SET, uid),
        (N_SET, uid),
    ]
    for received, (_, dataset) in zip(pacs.received, sent, strict=True):
        assert received.dataset.to_json_dict() == dataset.to_json_dict()
    states = OutboundMessage.objects.order_by("id").values_list("state", "attempts")
    assert list(states) == [(State.DELIVERED, head.attempts + 1), *[(State.DELIVERED, 1)] * 2]


def queue_exams(count: int) -> list[str]:
    """An N-CREATE and an N-SET of `count` exams, queued for the PACS; their UIDs."""
    uids = [generate_uid() for _ in range(count)]
    for uid in uids:
        forward_mpps(N_CREATE, uid, mpps_created(uid))
        forward_mpps(N_SET, uid, mpps_set(PerformedProcedureStepStatus="COMPLETED"))
    return uids


def in_queue_order(uids: list[str]) -> list[tuple[str, str]]:
    return [(operation, uid) for uid in uids for operation in (N_CREATE, N_SET)]


def test_a_burst_goes_on_one_association_released_once_the_queue_is_empty(
    transactional_db, pacs, pacs_ae
):
    pacs.start()
    uids = queue_exams(5)
    with dicom_dispatcher():
        wait_until(lambda: len(pacs.received) == 10)
        wait_until(lambda: pacs.open_associations == 0)  # released, not left open
    assert [(r.operation, r.sop_instance_uid) for r in pacs.received] == in_queue_order(uids)
    assert pacs.associations == 1
    assert set(OutboundMessage.objects.values_list("state", "attempts")) == {(State.DELIVERED, 1)}


def test_a_destination_that_takes_one_message_per_association_gets_each_once_in_order(
    transactional_db, pacs, pacs_ae
):
    """Each second message on an association is aborted, unanswered: the
    dispatcher sends it again at once on a new association."""
    pacs.one_per_association = True
    pacs.start()
    uids = queue_exams(3)
    with dicom_dispatcher():
        wait_until(lambda: len(pacs.received) == 6)
    assert [(r.operation, r.sop_instance_uid) for r in pacs.received] == in_queue_order(uids)
    assert pacs.associations == 6
    assert set(OutboundMessage.objects.values_list("state", "attempts")) == {(State.DELIVERED, 1)}


def test_a_held_association_lets_other_destinations_have_a_turn(
    transactional_db, settings, pacs, pacs_ae, monkeypatch
):
    monkeypatch.setattr("dimse.dispatch.MESSAGES_PER_ASSOCIATION", 2)
    pacs.start()
    queue_exams(3)
    with dicom_dispatcher():
        wait_until(lambda: len(pacs.received) == 6)
    assert pacs.associations == 3  # two messages each


# --- MPPS destinations in ris.nodes ----------------------------------------------------


def test_mpps_destinations_are_the_aes_that_forward_mpps_enabled_or_not(db):
    """A disabled destination's messages are queued, to wait until it is back."""
    paused = RemoteAEFactory(ae_title="OLD_PACS", forward_mpps=True, enabled=False)
    pacs = RemoteAEFactory(ae_title="PACS", forward_mpps=True)
    RemoteAEFactory(ae_title="CT1")
    assert mpps_destinations() == [paused, pacs]


def test_remote_aes_do_not_forward_mpps_unless_told(db):
    assert not remote_ae_add(ae_title="CT1", host="10.0.0.5", port=104).forward_mpps


def ae(*args: str) -> str:
    out = StringIO()
    call_command("ae", *args, stdout=out)
    return out.getvalue()


def test_ae_add_forward_mpps_and_list_shows_the_forward_column(db):
    ae("add", "PACS", "--host", "10.0.0.9", "--port", "104", "--services", "", "--forward-mpps")
    ae("add", "CT1", "--host", "10.0.0.5", "--port", "104", "--description", "CT scanner")
    header, ct1, pacs = ae("list").splitlines()
    columns = ["AE", "title", "address", "enabled", "services", "forward", "description"]
    assert header.split() == columns
    assert ct1.split(None, 5) == [
        "CT1",
        "10.0.0.5:104",
        "yes",
        "worklist,mpps,ups",
        "-",
        "CT scanner",
    ]
    assert pacs.split() == ["PACS", "10.0.0.9:104", "yes", "-", "mpps"]


def test_admin_shows_and_filters_the_forward_mpps_flag(admin_client):
    remote_ae = RemoteAEFactory(ae_title="PACS", forward_mpps=True)
    url = "/admin/nodes/remoteae/"
    assert "forward_mpps" in admin_client.get(f"{url}{remote_ae.pk}/change/").content.decode()
    assert "PACS" in admin_client.get(url, {"forward_mpps__exact": "1"}).content.decode()
    assert "PACS" not in admin_client.get(url, {"forward_mpps__exact": "0"}).content.decode()


# --- The commands ----------------------------------------------------------------------


@pytest.fixture
def command_database(tmp_path_factory, tmp_path) -> Path:
    """A folder of the test's own with a migrated SQLite database, for the commands."""
    return migrated_database(tmp_path_factory, tmp_path)


def test_the_dispatch_command_delivers_until_sigterm(command_database, pacs):
    pacs.start()
    run_python(ENQUEUE, command_database, str(pacs.port))
    output = run_until_sigterm(
        ["dispatch", "--poll-interval", "0.05"], command_database, lambda: pacs.received
    )
    assert [(r.operation, r.sop_instance_uid) for r in pacs.received] == [(N_CREATE, "1.2.3.4")]
    assert "DICOM dispatcher stopped." in output


def test_the_dimse_command_runs_a_dispatcher(command_database, pacs):
    pacs.start()
    run_python(ENQUEUE, command_database, str(pacs.port))
    command = ["dimse", "--bind", "127.0.0.1", "--port", str(free_port())]
    output = run_until_sigterm(command, command_database, lambda: pacs.received)
    assert "Dispatching queued DICOM messages." in output
    assert "DICOM service stopped." in output


def test_the_dimse_command_with_no_dispatch_leaves_the_queue_alone(command_database, pacs):
    pacs.start()
    run_python(ENQUEUE, command_database, str(pacs.port))
    port = free_port()
    command = ["dimse", "--bind", "127.0.0.1", "--port", str(port), "--no-dispatch"]
    listening_since = []

    def served_for_a_second() -> bool:
        """The service listens, and has for a second, time for a dispatcher to deliver."""
        if not listening_since:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                listening_since.append(time.monotonic())
        return bool(listening_since) and time.monotonic() > listening_since[0] + 1

    output = run_until_sigterm(command, command_database, served_for_a_second)
    assert pacs.received == []
    assert "Dispatching" not in output
    assert "DICOM service stopped." in output
