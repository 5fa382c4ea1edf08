"""The outbox: messages queued with the change that caused them, sent per destination in order."""

import itertools
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from ris.outbox import wakeup
from ris.outbox.dispatcher import dispatch_next, run_dispatcher
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage, State
from ris.outbox.services import (
    _claim_statement,
    backoff_delay,
    outbox_claim_next,
    outbox_enqueue,
    outbox_enqueue_all,
    outbox_give_up,
    outbox_mark_delivered,
    outbox_mark_failed,
    outbox_retry_now,
)
from tests.factories import OutboundMessageFactory

CHANGELIST_URL = "/admin/outbox/outboundmessage/"

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks and NOTIFY"
)


def enqueue(destination: str = "PACS", channel: str = Channel.DICOM, **payload):
    payload = payload or {"operation": "N-CREATE"}
    return outbox_enqueue(channel=channel, destination=destination, payload=payload)


def claim(channel: str = Channel.DICOM) -> OutboundMessage | None:
    return outbox_claim_next(channel=channel)


def reload(message: OutboundMessage) -> OutboundMessage:
    message.refresh_from_db()
    return message


def make_due(message: OutboundMessage) -> None:
    """Let the back-off of `message` run out now."""
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@contextmanager
def running_dispatcher(deliver, poll_interval: float = 0.02):
    """run_dispatcher in a thread, stopped and joined on exit."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_dispatcher,
        kwargs={
            "channel": Channel.DICOM,
            "deliver": deliver,
            "stop": stop,
            "poll_interval": poll_interval,
        },
    )
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


# --- Enqueue -------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueue_queues_a_pending_message_due_now():
    before = timezone.now()
    message = reload(enqueue("PACS", operation="N-CREATE"))
    assert (message.channel, message.destination, message.payload) == (
        "dicom",
        "PACS",
        {"operation": "N-CREATE"},
    )
    assert (message.state, message.attempts, message.last_error) == (State.PENDING, 0, "")
    assert before <= message.next_attempt_at <= timezone.now()


@pytest.mark.django_db
def test_enqueue_in_a_rolled_back_transaction_leaves_nothing():
    """Transactional outbox: the message exists only if the change that caused it committed."""

    def change_that_fails():
        with transaction.atomic():
            enqueue()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("channel", "destination", "payload", "field"),
    [
        ("carrier-pigeon", "PACS", {"n": 1}, "channel"),
        (Channel.DICOM, "", {"n": 1}, "destination"),
        (Channel.DICOM, "PACS", {}, "payload"),
    ],
)
def test_enqueue_refuses_what_cannot_be_delivered(channel, destination, payload, field):
    with pytest.raises(ValidationError) as caught:
        outbox_enqueue(channel=channel, destination=destination, payload=payload)
    assert list(caught.value.message_dict) == [field]
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_enqueue_all_queues_in_order_with_one_insert_and_one_notify_per_channel(
    django_assert_num_queries,
):
    """An event to fifty subscribers: one INSERT, and one NOTIFY per channel
    (PostgreSQL), whose messages are claimed in the order given."""
    messages = [
        (channel, f"SUB{number % 25}", {"n": number})
        for number, channel in zip(
            range(50), itertools.cycle([Channel.UPS_EVENT, Channel.UPS_WEBSOCKET]), strict=False
        )
    ]
    expected = 3 if connection.vendor == "postgresql" else 1
    with django_assert_num_queries(expected):
        queued = outbox_enqueue_all(messages=messages)
    assert [message.pk for message in queued] == sorted(message.pk for message in queued)
    stored = OutboundMessage.objects.order_by("pk")
    assert [(m.channel, m.destination, m.payload) for m in stored] == messages


@pytest.mark.django_db
def test_enqueue_all_queues_nothing_if_one_message_cannot_be_delivered():
    good, bad = (Channel.DICOM, "PACS", {"n": 1}), (Channel.DICOM, "", {"n": 2})
    with pytest.raises(ValidationError):
        outbox_enqueue_all(messages=[good, bad])
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_the_claim_is_compiled_once_and_asked_with_the_time_of_each_claim():
    """The claim's SQL is kept (_claim_statement); its time is each claim's own."""
    _claim_statement.cache_clear()
    queued = enqueue()
    message = claim()
    assert message == queued
    outbox_mark_failed(message=message, error="refused")  # due again after its back-off
    assert claim() is None
    make_due(message)
    assert claim() == message
    assert _claim_statement.cache_info().misses == 1


# --- Claim order ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_destinations_messages_are_claimed_strictly_in_order():
    """The next message waits until the one before it is done, even when both are due."""
    queued = [enqueue(n=n) for n in range(3)]
    for expected in queued:
        claimed = claim()
        assert claimed == expected
        assert claim() is None
        outbox_mark_delivered(message=claimed)
    assert claim() is None


@pytest.mark.django_db
def test_destinations_are_served_independently():
    pacs_first, _pacs_second = enqueue("PACS"), enqueue("PACS")
    archive = enqueue("ARCHIVE")
    assert claim() == pacs_first
    assert claim() == archive
    assert claim() is None


@pytest.mark.django_db
def test_each_channel_has_its_own_queues():
    dicom, webhook = enqueue("PACS"), enqueue("PACS", channel=Channel.WEBHOOK)
    assert claim(Channel.WEBHOOK) == webhook
    assert claim(Channel.DICOM) == dicom


@pytest.mark.django_db
def test_a_claim_counts_an_attempt_and_holds_the_message_pending(settings):
    settings.RIS_OUTBOX_CLAIM_TIMEOUT = 60
    enqueue()
    claimed = reload(claim())
    assert (claimed.state, claimed.attempts) == (State.PENDING, 1)
    assert claimed.claimed_until > timezone.now() + timedelta(seconds=55)


@pytest.mark.django_db
def test_a_claim_that_ran_out_is_claimed_again_and_the_late_outcome_is_ignored(settings):
    """A dispatcher presumed dead cannot overwrite what the one that took over recorded."""
    settings.RIS_OUTBOX_CLAIM_TIMEOUT = 0
    enqueue()
    stale = claim()
    fresh = claim()
    assert (fresh.pk, fresh.attempts) == (stale.pk, 2)
    assert outbox_mark_failed(message=fresh, error="refused", permanent=True)
    assert not outbox_mark_delivered(message=stale)
    assert reload(fresh).state == State.DEAD


# --- Back-off ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (10, 300), (100_000, 300)],
)
def test_backoff_doubles_from_2_seconds_up_to_5_minutes(settings, attempts, seconds):
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 2, 300
    assert backoff_delay(attempts=attempts) == timedelta(seconds=seconds)


def test_backoff_follows_the_settings(settings):
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 0.5, 3
    delays = [backoff_delay(attempts=n).total_seconds() for n in range(1, 6)]
    assert delays == [0.5, 1, 2, 3, 3]


@pytest.mark.django_db
def test_a_failed_message_waits_out_its_backoff_then_is_tried_again(settings):
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 2, 300
    message = enqueue()
    before = timezone.now()
    assert outbox_mark_failed(message=claim(), error="connection refused")
    message = reload(message)
    assert (message.state, message.last_error, message.claimed_until) == (
        State.PENDING,
        "connection refused",
        None,
    )
    assert before + timedelta(seconds=2) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=2)
    assert claim() is None

    make_due(message)
    again = claim()
    assert again.attempts == 2
    outbox_mark_failed(message=again, error="connection refused")
    assert reload(message).next_attempt_at >= timezone.now() + timedelta(seconds=3.5)


@pytest.mark.django_db
def test_a_failed_head_holds_back_its_destination_but_not_others():
    _pacs_first, _pacs_second = enqueue("PACS"), enqueue("PACS")
    archive = enqueue("ARCHIVE")
    outbox_mark_failed(message=claim(), error="connection refused")
    assert claim() == archive
    assert claim() is None


@pytest.mark.django_db
def test_messages_are_retried_for_ever_by_default(settings):
    """A destination that is down loses nothing, however long it stays down."""
    settings.RIS_OUTBOX_BACKOFF_CAP = 300
    message = OutboundMessageFactory(attempts=10_000)
    outbox_mark_failed(message=claim(), error="connection refused")
    message = reload(message)
    assert (message.state, message.attempts) == (State.PENDING, 10_001)
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=300)


@pytest.mark.django_db
def test_max_attempts_gives_a_message_up_when_set(settings):
    settings.RIS_OUTBOX_MAX_ATTEMPTS = 2
    message = enqueue()
    outbox_mark_failed(message=claim(), error="connection refused")
    assert reload(message).state == State.PENDING
    make_due(message)
    outbox_mark_failed(message=claim(), error="connection refused")
    message = reload(message)
    assert message.state == State.DEAD
    assert message.last_error == "Gave up after 2 attempts. connection refused"


@pytest.mark.django_db
def test_a_permanent_failure_is_dead_logged_and_lets_the_next_message_go(caplog):
    first, second = enqueue(), enqueue()
    outbox_mark_failed(message=claim(), error="0x0106 Invalid Attribute Value", permanent=True)
    assert reload(first).state == State.DEAD
    assert claim() == second
    assert "failed permanently" in caplog.text
    assert "0x0106" in caplog.text


# --- Operators -----------------------------------------------------------------


@pytest.mark.django_db
def test_retry_now_makes_a_waiting_message_due():
    message = enqueue()
    outbox_mark_failed(message=claim(), error="connection refused")
    assert outbox_retry_now(message_ids=[message.pk]) == 1
    assert claim() == message


@pytest.mark.django_db
def test_retry_now_puts_a_dead_message_back_before_the_later_ones():
    first, _second = enqueue(), enqueue()
    outbox_mark_failed(message=claim(), error="refused", permanent=True)
    outbox_retry_now(message_ids=[first.pk])
    assert (reload(first).state, reload(first).attempts) == (State.PENDING, 0)
    assert claim() == first


@pytest.mark.django_db
def test_retry_now_leaves_delivered_messages_alone():
    message = enqueue()
    outbox_mark_delivered(message=claim())
    assert outbox_retry_now(message_ids=[message.pk]) == 0
    assert reload(message).state == State.DELIVERED


@pytest.mark.django_db
def test_giving_up_a_stuck_head_lets_its_queue_move_on():
    first, second = enqueue(), enqueue()
    outbox_mark_failed(message=claim(), error="0x0110 Processing failure")
    assert outbox_give_up(message_ids=[first.pk], reason="given up by admin") == 1
    assert (reload(first).state, first.last_error) == (State.DEAD, "given up by admin")
    assert claim() == second


# --- One delivery --------------------------------------------------------------


@pytest.mark.django_db
def test_dispatch_next_marks_a_delivered_message():
    message = enqueue()
    assert dispatch_next(channel=Channel.DICOM, deliver=lambda message: None)
    message = reload(message)
    assert (message.state, message.attempts, message.claimed_until) == (State.DELIVERED, 1, None)
    assert message.delivered_at is not None


@pytest.mark.django_db
def test_dispatch_next_says_when_nothing_is_due():
    assert not dispatch_next(channel=Channel.DICOM, deliver=lambda message: None)


@pytest.mark.django_db
@pytest.mark.parametrize(("permanent", "state"), [(False, State.PENDING), (True, State.DEAD)])
def test_dispatch_next_records_a_delivery_error(permanent, state):
    def deliver(message):
        raise DeliveryError("refused", permanent=permanent)

    message = enqueue()
    dispatch_next(channel=Channel.DICOM, deliver=deliver)
    assert (reload(message).state, message.last_error) == (state, "refused")


@pytest.mark.django_db
def test_a_bug_in_deliver_is_logged_and_the_message_retried(caplog):
    message = enqueue()
    dispatch_next(channel=Channel.DICOM, deliver=lambda message: 1 / 0)
    assert (reload(message).state, message.last_error) == (
        State.PENDING,
        "ZeroDivisionError: division by zero",
    )
    assert "Traceback" in caplog.text


# --- The dispatcher loop ---------------------------------------------------------


def test_the_dispatcher_delivers_every_queue_in_order_until_stopped(transactional_db):
    for n in range(3):
        enqueue("PACS", n=n)
    enqueue("ARCHIVE", n=9)
    delivered = []
    with running_dispatcher(deliver=delivered.append):
        wait_until(lambda: len(delivered) == 4)
    assert [m.payload["n"] for m in delivered if m.destination == "PACS"] == [0, 1, 2]
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_the_dispatcher_retries_a_failed_delivery_after_its_backoff(transactional_db, settings):
    settings.RIS_OUTBOX_BACKOFF_BASE = settings.RIS_OUTBOX_BACKOFF_CAP = 0.05
    message = enqueue()
    tries = []

    def deliver_on_the_third_try(message):
        tries.append(time.monotonic())
        if len(tries) < 3:
            raise DeliveryError("connection refused")

    with running_dispatcher(deliver=deliver_on_the_third_try):
        wait_until(lambda: len(tries) == 3)
    assert all(later - earlier >= 0.04 for earlier, later in itertools.pairwise(tries))
    assert (reload(message).state, message.attempts) == (State.DELIVERED, 3)


def test_the_dispatcher_stops_promptly_however_long_its_poll_interval(transactional_db):
    started = time.monotonic()
    with running_dispatcher(deliver=lambda message: None, poll_interval=60):
        time.sleep(0.1)
    assert time.monotonic() - started < 2


@postgresql_only
def test_a_new_message_wakes_a_waiting_dispatcher_at_once(transactional_db, monkeypatch):
    """NOTIFY ris_outbox on commit: delivery does not wait for the next poll."""
    waiting = threading.Event()
    original_wait = wakeup.Listener.wait

    def wait(self, timeout):
        waiting.set()
        original_wait(self, timeout)

    monkeypatch.setattr(wakeup.Listener, "wait", wait)
    delivered = []
    with running_dispatcher(deliver=delivered.append, poll_interval=60):
        assert waiting.wait(5)
        started = time.monotonic()
        enqueue()
        wait_until(lambda: delivered, timeout=5)
    assert time.monotonic() - started < 2


@postgresql_only
def test_a_waiting_dispatcher_holds_none_of_the_pools_connections(transactional_db, monkeypatch):
    """Its LISTEN has a connection outside the pool, and its pooled one goes
    back between turns: the DICOM service's six dispatchers held six of the
    associations' connections, and with a pool of four it could not start."""
    pool = connection.pool
    assert pool is not None, "the suite runs with the service's connection pool"
    waiting = threading.Event()
    original_wait = wakeup.Listener.wait

    def wait(self, timeout):
        waiting.set()
        original_wait(self, timeout)

    def pooled_in_use() -> int:
        stats = pool.get_stats()
        return stats["pool_size"] - stats["pool_available"]

    monkeypatch.setattr(wakeup.Listener, "wait", wait)
    OutboundMessage.objects.exists()  # this thread's own connection, taken before counting
    before = pooled_in_use()
    with running_dispatcher(deliver=lambda message: None, poll_interval=60):
        assert waiting.wait(5)
        assert pooled_in_use() == before


# --- Several dispatchers on PostgreSQL --------------------------------------------


def claim_all_in_threads(count: int) -> list[list[int]]:
    """`count` threads, each with its own connection, claiming until nothing is left."""
    barrier = threading.Barrier(count)
    claimed = [[] for _ in range(count)]

    def claimer(mine: list[int]) -> None:
        try:
            barrier.wait(timeout=5)
            while (message := claim()) is not None:
                mine.append(message.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return claimed


@postgresql_only
def test_concurrent_claimers_never_take_the_same_message(transactional_db):
    queued = {enqueue(f"AE{n}").pk for n in range(60)}
    claimed = [pk for mine in claim_all_in_threads(4) for pk in mine]
    assert sorted(claimed) == sorted(queued)


@postgresql_only
def test_a_locked_head_is_skipped_and_its_queue_still_waits(transactional_db):
    """SKIP LOCKED passes over a head another dispatcher is claiming, and the
    message behind it still does not overtake it."""
    head, _behind, other = enqueue("PACS"), enqueue("PACS"), enqueue("ARCHIVE")
    locked, release = threading.Event(), threading.Event()

    def hold_the_head_locked():
        try:
            with transaction.atomic():
                list(OutboundMessage.objects.select_for_update().filter(pk=head.pk))
                locked.set()
                release.wait(timeout=5)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_head_locked)
    holder.start()
    try:
        assert locked.wait(timeout=5)
        started = time.monotonic()
        assert claim() == other
        assert claim() is None
        assert time.monotonic() - started < 1, "waited for the lock instead of skipping"
    finally:
        release.set()
        holder.join(timeout=5)


def test_notify_is_sent_only_on_postgresql(db, django_assert_num_queries):
    """SQLite has no NOTIFY: enqueue is one INSERT there."""
    expected = 2 if connection.vendor == "postgresql" else 1
    with django_assert_num_queries(expected):
        enqueue()


# --- The admin -------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_lists_the_messages_read_only(admin_client):
    message = OutboundMessageFactory(destination="PACS", last_error="connection refused")
    page = admin_client.get(CHANGELIST_URL).content.decode()
    assert "PACS" in page
    assert "connection refused" in page
    assert admin_client.get(CHANGELIST_URL + "add/").status_code == 403
    detail = admin_client.get(CHANGELIST_URL + f"{message.pk}/change/")
    assert detail.status_code == 200
    assert "Save" not in detail.content.decode()


@pytest.mark.django_db
def test_admin_retry_now_action(admin_client):
    message = enqueue()
    outbox_mark_failed(message=claim(), error="refused", permanent=True)
    admin_client.post(CHANGELIST_URL, {"action": "retry_now", "_selected_action": [message.pk]})
    assert reload(message).state == State.PENDING
    assert claim() == message


@pytest.mark.django_db
def test_admin_give_up_action(admin_client):
    message = enqueue()
    admin_client.post(CHANGELIST_URL, {"action": "give_up", "_selected_action": [message.pk]})
    assert reload(message).state == State.DEAD
    assert "Given up by admin" in message.last_error
