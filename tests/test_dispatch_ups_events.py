"""UPS event reports delivered as N-EVENT-REPORT to subscribers, on loopback.

The subscriber is a real pynetdicom AE started by the test ("WATCHER"): as the
association acceptor it takes the UPS Event SCU role (PS3.4 CC.2.4) that our
role selection leaves it, and records every N-EVENT-REPORT it receives.
"""

import threading

import pytest
from django.db import transaction
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom.sop_class import UnifiedProcedureStepPush

from dimse.dispatch import deliver_ups_event, start_dispatchers
from ris.nodes.services import remote_ae_add, remote_ae_set_enabled
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage, State
from ris.outbox.payloads import N_CREATE
from ris.outbox.services import outbox_claim_next, outbox_enqueue
from ris.ups import events
from ris.ups.models import Delivery
from tests.dimse_helpers import free_port, wait_until
from tests.process_helpers import (
    ENQUEUE,
    forward_mpps,
    migrated_database,
    mpps_created,
    run_python,
    run_until_sigterm,
)
from tests.ups_helpers import EventSubscriber, code, dataset, ups_event_dispatcher


@pytest.fixture
def subscriber():
    """The subscriber, not started: a test starts it when it is "up"."""
    scp = EventSubscriber(port=free_port())
    yield scp
    scp.stop()


@pytest.fixture
def subscriber_ae(db, subscriber):
    return remote_ae_add(ae_title="WATCHER", host="127.0.0.1", port=subscriber.port, services=[])


@pytest.fixture
def fast_retries(settings):
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 0.05, 0.2


# The Event Information of each event type, as PS3.4 Table CC.2.4-1 lists it.
EVENT_INFORMATION = {
    events.STATE_REPORT: dataset(ProcedureStepState="IN PROGRESS", InputReadinessState="READY"),
    events.CANCEL_REQUESTED: dataset(
        RequestingAE="CT1", ReasonForCancellation="Patient left", ContactDisplayName="Dr^Who"
    ),
    events.PROGRESS_REPORT: dataset(
        ProcedureStepProgressInformationSequence=[
            dataset(ProcedureStepProgress="50", ProcedureStepProgressDescription="Halfway")
        ]
    ),
    events.SCP_STATUS_CHANGE: dataset(
        SCPStatus="RESTARTED",
        SubscriptionListStatus="WARM START",
        UnifiedProcedureStepListStatus="WARM START",
    ),
    events.ASSIGNED: dataset(
        ScheduledStationNameCodeSequence=[code("CT1", "99RIS", "CT scanner 1")],
        HumanPerformerCodeSequence=[code("jdoe", "99RIS", "Doe^Jane")],
        HumanPerformerOrganization="Radiology",
    ),
}


def enqueue(event_type_id: int, uid: str, info: Dataset, *ae_titles: str) -> None:
    """What a UPS service does: queue the event in the transaction of the change."""
    with transaction.atomic():
        events.event_enqueue(
            subscribers=[
                events.Subscriber(ae_title, Delivery.DIMSE) for ae_title in ae_titles or ["WATCHER"]
            ],
            event_type_id=event_type_id,
            sop_instance_uid=uid,
            info=info,
        )


def state_report(uid: str, state: str) -> None:
    enqueue(
        events.STATE_REPORT, uid, dataset(ProcedureStepState=state, InputReadinessState="READY")
    )


def event_message(payload: dict) -> OutboundMessage:
    """An unsaved message, as the dispatcher hands it to deliver_ups_event."""
    return OutboundMessage(channel=Channel.UPS_EVENT, destination="WATCHER", payload=payload)


def state_report_message(uid: str = "1.2.3.4") -> OutboundMessage:
    info = dataset(ProcedureStepState="SCHEDULED", InputReadinessState="READY")
    payload = events.event_payload(
        event_type_id=events.STATE_REPORT, sop_instance_uid=uid, info=info
    )
    return event_message(payload)


def outcome(message: OutboundMessage) -> str:
    """What the dispatcher would record: delivered, transient or permanent."""
    try:
        deliver_ups_event(message)
    except DeliveryError as error:
        return "permanent" if error.permanent else "transient"
    return "delivered"


def delivery_error(message: OutboundMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        deliver_ups_event(message)
    return caught.value


def states() -> list[tuple[str, int]]:
    return list(OutboundMessage.objects.order_by("id").values_list("state", "attempts"))


# --- Delivering one report ----------------------------------------------------------


def test_the_report_goes_over_ups_event_with_us_as_its_scp(subscriber, subscriber_ae, settings):
    """PS3.4 CC.2.4: we propose SCP only for UPS Event; the subscriber is left the SCU."""
    settings.RIS_AE_TITLE = "MAIN_RIS"
    subscriber.start()
    deliver_ups_event(state_report_message())
    [report] = subscriber.reports
    assert (report.calling_ae_title, report.called_ae_title) == ("MAIN_RIS", "WATCHER")
    assert report.proposed_roles == (False, True)
    assert report.subscriber_roles == (True, False)


def test_a_subscriber_that_takes_default_roles_still_gets_the_report(subscriber, subscriber_ae):
    """An acceptor that ignores role selection keeps the default roles; it may still listen."""
    subscriber.start(scu_role=None, scp_role=None)
    deliver_ups_event(state_report_message())
    assert subscriber.received() == [(events.STATE_REPORT, "1.2.3.4")]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0x0000, "delivered"),
        (0x0107, "delivered"),  # a warning is a delivery
        (0x0110, "transient"),  # processing failure
        (0x0213, "transient"),  # resource limitation
        (0x0124, "transient"),  # not authorized: the subscriber's setup
        (0x0210, "transient"),  # duplicate invocation
        (0x0122, "transient"),  # SOP class not supported: the subscriber's setup
        (0x0112, "permanent"),  # no such SOP instance
        (0x0113, "permanent"),  # no such event type
        (0x0114, "permanent"),  # no such argument
        (0x0115, "permanent"),  # invalid argument value
        (0x0117, "permanent"),  # invalid object instance
        (0x0118, "permanent"),  # no such SOP class
        (0x0119, "permanent"),  # class-instance conflict
    ],
)
def test_the_subscribers_answer_decides_the_outcome(subscriber, subscriber_ae, status, expected):
    subscriber.answers["1.2.3.4"] = [status]
    subscriber.start()
    assert outcome(state_report_message()) == expected
    assert len(subscriber.reports) == 1


def test_a_refusal_names_the_report_and_the_status(subscriber, subscriber_ae):
    subscriber.answers["1.2.3.4"] = [0x0113]
    subscriber.start()
    error = delivery_error(state_report_message())
    assert str(error) == "UPS State Report 1.2.3.4 refused by WATCHER: status 0x0113"


def test_a_subscriber_that_is_down_is_tried_again_later(subscriber, subscriber_ae):
    error = delivery_error(state_report_message())
    assert not error.permanent
    assert f"No association with WATCHER (127.0.0.1:{subscriber.port})" in str(error)


def test_a_subscriber_without_ups_event_is_tried_again_later(subscriber, subscriber_ae):
    """A subscriber not (yet) set up for UPS Event is a configuration to fix; its queue waits."""
    subscriber.start(ups_event=False)
    error = delivery_error(state_report_message())
    assert not error.permanent
    assert "did not accept the SOP class 1.2.840.10008.5.1.4.34.6.4" in str(error)


def test_a_subscriber_refusing_our_role_is_tried_again_later(subscriber, subscriber_ae):
    """PS3.7 D.3.3.4: an acceptor that refuses the proposed SCP role rejects the context."""
    subscriber.start(scu_role=False, scp_role=False)
    error = delivery_error(state_report_message())
    assert not error.permanent
    assert "did not accept the SOP class" in str(error)
    assert subscriber.reports == []


def test_an_unknown_subscriber_is_given_up(db):
    error = delivery_error(state_report_message())
    assert error.permanent
    assert "'WATCHER'" in str(error)


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type_id": 6, "sop_instance_uid": "1.2", "info": {}},
        {"event_type_id": True, "sop_instance_uid": "1.2", "info": {}},
        {"event_type_id": "1", "sop_instance_uid": "1.2", "info": {}},
        {"event_type_id": 1, "info": {}},
        {"event_type_id": 1, "sop_instance_uid": 12, "info": {}},
        {"event_type_id": 1, "sop_instance_uid": "", "info": {}},
        {"event_type_id": 1, "sop_instance_uid": "1.2"},
        {"event_type_id": 1, "sop_instance_uid": "1.2", "info": "x"},
        {"event_type_id": 1, "sop_instance_uid": "1.2", "info": {"0010": {}}},
        ["not", "a", "payload"],
    ],
)
def test_a_malformed_report_is_given_up_without_an_association(subscriber, subscriber_ae, payload):
    subscriber.start()
    assert delivery_error(event_message(payload)).permanent
    assert subscriber.reports == []


# --- Through the queue ---------------------------------------------------------------


def test_each_event_type_arrives_with_its_id_ups_push_and_information(
    transactional_db, subscriber, subscriber_ae
):
    """PS3.4 CC.3.1: the Affected SOP Class is UPS Push, though the context is UPS Event."""
    subscriber.start()
    uid = generate_uid()
    for event_type_id, info in EVENT_INFORMATION.items():
        enqueue(event_type_id, uid, info)
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == len(EVENT_INFORMATION))
    assert [r.event_type_id for r in subscriber.reports] == [1, 2, 3, 4, 5]
    for report, info in zip(subscriber.reports, EVENT_INFORMATION.values(), strict=True):
        assert (report.sop_class_uid, report.sop_instance_uid) == (UnifiedProcedureStepPush, uid)
        assert report.information.to_json_dict() == info.to_json_dict()
    assert states() == [(State.DELIVERED, 1)] * 5


def test_each_subscriber_gets_its_events_in_queue_order(
    transactional_db, subscriber, subscriber_ae
):
    """One message per subscriber; a subscriber that is down holds up only its own queue."""
    remote_ae_add(ae_title="ASLEEP", host="127.0.0.1", port=free_port(), services=[])
    subscriber.start()
    first, second = generate_uid(), generate_uid()
    for uid, state in [(first, "SCHEDULED"), (second, "SCHEDULED"), (first, "IN PROGRESS")]:
        enqueue(events.STATE_REPORT, uid, dataset(ProcedureStepState=state), "WATCHER", "ASLEEP")
    enqueue(events.STATE_REPORT, first, dataset(ProcedureStepState="COMPLETED"), "WATCHER")
    asleep = OutboundMessage.objects.filter(destination="ASLEEP").order_by("id")
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 4)
        # Tried once WATCHER's queue is drained on the association held for it.
        wait_until(lambda: asleep.first().attempts > 0)
    sent = [(r.sop_instance_uid, r.information.ProcedureStepState) for r in subscriber.reports]
    assert sent == [
        (first, "SCHEDULED"),
        (second, "SCHEDULED"),
        (first, "IN PROGRESS"),
        (first, "COMPLETED"),
    ]
    assert [m.state for m in asleep] == [State.PENDING] * 3
    assert [m.attempts > 0 for m in asleep] == [True, False, False]


def test_a_subscriber_that_was_down_gets_everything_in_order_when_it_is_back(
    transactional_db, fast_retries, subscriber, subscriber_ae, caplog
):
    uid = generate_uid()
    for state in ("SCHEDULED", "IN PROGRESS", "COMPLETED"):
        state_report(uid, state)
    with ups_event_dispatcher():  # the subscriber is down
        wait_until(lambda: caplog.text.count("failed, next in") >= 2)
    head, *behind = OutboundMessage.objects.order_by("id")
    assert head.state == State.PENDING
    assert "No association with WATCHER" in head.last_error
    assert [(m.state, m.attempts) for m in behind] == [(State.PENDING, 0)] * 2

    subscriber.start()  # it is back
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 3)
    assert [r.information.ProcedureStepState for r in subscriber.reports] == [
        "SCHEDULED",
        "IN PROGRESS",
        "COMPLETED",
    ]
    assert states() == [(State.DELIVERED, head.attempts + 1), *[(State.DELIVERED, 1)] * 2]


def test_a_processing_failure_is_retried_and_the_next_event_waits(
    transactional_db, fast_retries, subscriber, subscriber_ae
):
    first, second = generate_uid(), generate_uid()
    subscriber.answers[first] = [0x0110, 0x0110]
    subscriber.start()
    state_report(first, "SCHEDULED")
    state_report(second, "SCHEDULED")
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 4)
    assert [r.sop_instance_uid for r in subscriber.reports] == [first, first, first, second]
    assert states() == [(State.DELIVERED, 3), (State.DELIVERED, 1)]


def test_a_report_refused_for_what_it_is_is_given_up_and_the_next_goes_ahead(
    transactional_db, fast_retries, subscriber, subscriber_ae
):
    first, second = generate_uid(), generate_uid()
    subscriber.answers[first] = [0x0113]
    subscriber.start()
    state_report(first, "SCHEDULED")
    state_report(second, "SCHEDULED")
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 2)
    assert [r.sop_instance_uid for r in subscriber.reports] == [first, second]
    dead = OutboundMessage.objects.order_by("id").first()
    assert (dead.state, dead.attempts) == (State.DEAD, 1)
    assert "status 0x0113" in dead.last_error


def test_a_disabled_subscriber_waits_until_it_is_enabled(
    transactional_db, fast_retries, subscriber, subscriber_ae, caplog
):
    """Switching an AE off pauses its queue; it loses nothing."""
    remote_ae_set_enabled(ae_title="WATCHER", enabled=False)
    subscriber.start()
    state_report(generate_uid(), "SCHEDULED")
    with ups_event_dispatcher():
        wait_until(lambda: caplog.text.count("is disabled") >= 2)
    message = OutboundMessage.objects.get()
    assert (message.state, "disabled" in message.last_error) == (State.PENDING, True)
    assert subscriber.reports == []

    remote_ae_set_enabled(ae_title="WATCHER", enabled=True)
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 1)


def test_a_malformed_payload_is_dead_and_the_next_goes_ahead(
    transactional_db, subscriber, subscriber_ae
):
    subscriber.start()
    with transaction.atomic():
        outbox_enqueue(
            channel=Channel.UPS_EVENT,
            destination="WATCHER",
            payload={"event_type_id": 9, "sop_instance_uid": "1.2.3", "info": {}},
        )
    state_report("1.2.3", "SCHEDULED")
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 1)
    assert states() == [(State.DEAD, 1), (State.DELIVERED, 1)]
    assert "Malformed UPS event" in OutboundMessage.objects.order_by("id").first().last_error


def test_a_report_claimed_by_a_dispatcher_that_died_is_sent_when_the_claim_runs_out(
    transactional_db, settings, subscriber, subscriber_ae
):
    """Delivery is at least once: the claim runs out and a live dispatcher sends it."""
    settings.RIS_OUTBOX_CLAIM_TIMEOUT = 0.3
    subscriber.start()
    state_report(generate_uid(), "SCHEDULED")
    claimed = outbox_claim_next(channel=Channel.UPS_EVENT)  # ... and never an outcome
    with ups_event_dispatcher():
        wait_until(lambda: len(subscriber.reports) == 1)
    assert subscriber.reports[0].received_at >= claimed.claimed_until.timestamp()
    assert states() == [(State.DELIVERED, 2)]


# --- Every channel's dispatcher ------------------------------------------------------


def test_start_dispatchers_delivers_mpps_forwarding_and_ups_events(
    transactional_db, pacs, pacs_ae, subscriber, subscriber_ae, settings
):
    """Threads per channel (UPS events: RIS_UPS_EVENT_DISPATCH_THREADS), each
    delivering its own channel's queue.

    Nothing read back from the outbox: on the in-memory SQLite test database
    two dispatchers writing at once may fail with "table is locked" (see
    ups_event_dispatcher), which the real, file-based database waits out.
    """
    pacs.start()
    subscriber.start()
    mpps_uid, ups_uid = generate_uid(), generate_uid()
    with transaction.atomic():
        forward_mpps(N_CREATE, mpps_uid, mpps_created(mpps_uid))
    state_report(ups_uid, "SCHEDULED")
    settings.RIS_UPS_EVENT_DISPATCH_THREADS = 2
    stop = threading.Event()
    threads = start_dispatchers(stop=stop, poll_interval=0.02)
    try:
        wait_until(lambda: pacs.received and subscriber.reports)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert [thread.name for thread in threads] == [
        "dicom-dispatcher",
        "ups-event-dispatcher",
        "ups-event-dispatcher-2",
        "webhook-dispatcher",
    ]
    assert not any(thread.is_alive() for thread in threads)
    assert [r.sop_instance_uid for r in pacs.received] == [mpps_uid]
    assert subscriber.received() == [(events.STATE_REPORT, ups_uid)]


ENQUEUE_UPS_EVENT = """
import sys, django; django.setup()
from pydicom import Dataset
from ris.nodes.services import remote_ae_add
from ris.ups.events import Subscriber, event_enqueue
remote_ae_add(ae_title="WATCHER", host="127.0.0.1", port=int(sys.argv[1]), services=[])
info = Dataset()
info.ProcedureStepState = "SCHEDULED"
info.InputReadinessState = "READY"
watcher = Subscriber("WATCHER", "dimse")
event_enqueue(subscribers=[watcher], event_type_id=1, sop_instance_uid="1.2.3.5", info=info)
"""


def test_the_dispatch_command_delivers_both_channels_until_sigterm(
    tmp_path_factory, tmp_path, pacs, subscriber
):
    migrated_database(tmp_path_factory, tmp_path)
    pacs.start()
    subscriber.start()
    run_python(ENQUEUE, tmp_path, str(pacs.port))
    run_python(ENQUEUE_UPS_EVENT, tmp_path, str(subscriber.port))
    output = run_until_sigterm(
        ["dispatch", "--poll-interval", "0.05"],
        tmp_path,
        lambda: pacs.received and subscriber.reports,
    )
    assert subscriber.received() == [(events.STATE_REPORT, "1.2.3.5")]
    assert [r.sop_instance_uid for r in pacs.received] == ["1.2.3.4"]
    assert "DICOM dispatcher stopped." in output
    assert "UPS event dispatcher stopped." in output


def test_several_threads_serve_subscribers_at_once_each_in_order(
    transactional_db, subscriber, subscriber_ae, settings
):
    """RIS_UPS_EVENT_DISPATCH_THREADS threads share the queue; a subscriber's
    next event is not due while the one before it is out, so each subscriber
    still hears its events in the order they happened."""
    other = EventSubscriber(port=free_port(), ae_title="OTHER")
    remote_ae_add(ae_title="OTHER", host="127.0.0.1", port=other.port, services=[])
    uids = [str(generate_uid()) for _ in range(8)]
    for uid in uids:
        enqueue(
            events.STATE_REPORT,
            uid,
            dataset(ProcedureStepState="SCHEDULED", InputReadinessState="READY"),
            "WATCHER",
            "OTHER",
        )
    subscriber.start()
    other.start()
    settings.RIS_UPS_EVENT_DISPATCH_THREADS = 4
    stop = threading.Event()
    threads = start_dispatchers(stop=stop, poll_interval=0.02)
    try:
        wait_until(lambda: len(subscriber.reports) == len(other.reports) == len(uids), 20)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        other.stop()
    expected = [(events.STATE_REPORT, uid) for uid in uids]
    assert subscriber.received() == expected
    assert other.received() == expected
