"""Webhooks to the HIS: status changes queued in the outbox and POSTed, signed, on loopback.

The callback endpoint is a real HTTP server (http.server) on a free loopback
port, started by the test when the HIS is "up"; it records every request,
answers with the statuses the test scripts (200 once the script is out) and
checks each signature with its own HMAC, not the RIS's code.
"""

import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.datastructures import CaseInsensitiveMapping

from dimse.dispatch import DISPATCHERS, start_dispatchers
from ris.api.models import ApiClient
from ris.outbox.errors import DeliveryError
from ris.outbox.models import Channel, OutboundMessage, State
from ris.scheduling.models import OrderStatus, StepStatus
from ris.scheduling.services import order_cancel, scheduled_steps_set_status
from ris.webhooks.deliver import deliver_webhook, run_webhook_dispatcher
from ris.webhooks.payloads import ORDER_STATUS_CHANGED, STEP_STATUS_CHANGED, encode_body
from ris.webhooks.services import webhook_status_changes
from tests.dimse_helpers import dispatcher_running, free_port, wait_until
from tests.factories import OrderFactory, ScheduledProcedureStepFactory

DOCS = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
SECRET = "s3cr3t-with-ünïcode"


@dataclass
class Received:
    """One request as the endpoint saw it, and how it answered."""

    path: str
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes
    status: int
    signature_ok: bool

    @property
    def delivery(self) -> int:
        return int(self.headers["x-ris-delivery"])

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Endpoint:
    """A HIS callback endpoint on a loopback port; not listening until started."""

    def __init__(self, *, secret: str = SECRET):
        self.port = free_port()
        self.secret = secret
        self.received: list[Received] = []
        self.statuses: list[int] = []  # the answers to give, in turn; then 200
        self.delay = 0.0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ris/hook"

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        serve = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        serve.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(endpoint.delay)
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                endpoint.received.append(
                    Received(
                        path=self.path,
                        headers=self.headers,
                        body=body,
                        status=status,
                        signature_ok=endpoint.signature_ok(self.headers, body),
                    )
                )
                answer = b"" if status < 300 else f"answer {status}".encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{endpoint.port}/moved")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler

    def signature_ok(self, headers, body: bytes) -> bool:
        signed = headers["X-RIS-Timestamp"].encode() + b"." + body
        digest = hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        return headers["X-RIS-Signature"] == f"sha256={digest}"


@pytest.fixture
def endpoint():
    his = Endpoint()
    yield his
    his.stop()


@pytest.fixture
def fast_retries(settings):
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 0.05, 0.2


def api_client(name="HIS", *, url="", secret=SECRET, active=True) -> ApiClient:
    user = get_user_model().objects.create_user(username=f"api-{name}", is_active=active)
    return ApiClient.objects.create(user=user, name=name, callback_url=url, callback_secret=secret)


def queued(client: ApiClient | None = None) -> list[OutboundMessage]:
    messages = OutboundMessage.objects.filter(channel=Channel.WEBHOOK).order_by("pk")
    if client is not None:
        messages = messages.filter(destination=f"api-client:{client.pk}")
    return list(messages)


def states(client: ApiClient | None = None) -> list[str]:
    return [message.state for message in queued(client)]


def step_changed(step, status: str) -> None:
    """A step's status change and its webhook, committed together."""
    with transaction.atomic():
        step.status = status
        step.save(update_fields=["status", "updated_at"])
        webhook_status_changes(steps=[step])


def outcome(message: OutboundMessage) -> str:
    """What the dispatcher would record: delivered, transient or permanent."""
    try:
        deliver_webhook(message)
    except DeliveryError as error:
        return "permanent" if error.permanent else "transient"
    return "delivered"


def docs_verify():
    """The `verify` function of docs/webhooks.md, as a reader would paste it."""
    [code] = [
        block
        for block in re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
        if "def verify" in block
    ]
    namespace = {}
    exec(code, namespace)
    return namespace["verify"]


# --- Queueing ------------------------------------------------------------------------


def test_a_change_is_queued_for_each_client_with_a_callback_url(db):
    """One message per client with a URL and an active user, to its own queue."""
    first = api_client("HIS", url="https://his.example.org/hook")
    second = api_client("LAB", url="https://lab.example.org/hook")
    api_client("READER")  # no callback URL
    api_client("OLD", url="https://old.example.org/hook", active=False)
    order = OrderFactory()
    assert webhook_status_changes(orders=[order]) == 2
    messages = queued()
    assert [m.destination for m in messages] == [
        f"api-client:{first.pk}",
        f"api-client:{second.pk}",
    ]
    assert {m.payload["event"] for m in messages} == {ORDER_STATUS_CHANGED}
    assert messages[0].payload == messages[1].payload


def test_nothing_is_queued_without_a_client_to_notify(db):
    api_client("READER")
    assert webhook_status_changes(orders=[OrderFactory()]) == 0
    assert webhook_status_changes(steps=[ScheduledProcedureStepFactory()]) == 0
    assert queued() == []


def test_the_order_body_has_what_the_his_needs(db, settings):
    """Accession and placer numbers with their issuers, the filler number, the
    patient's ID and issuer, the status, and when: ISO 8601 with the offset."""
    settings.TIME_ZONE = "Europe/Berlin"
    api_client(url="https://his.example.org/hook")
    order = OrderFactory(
        placer_order_number="ORD-1",
        placer_issuer="HIS",
        filler_order_number="F-1",
        filler_issuer="RIS",
        status=OrderStatus.COMPLETED,
        patient__patient_id="P42",
        patient__issuer_of_patient_id="HOSPITAL",
    )
    before = datetime.now(ZoneInfo("UTC"))
    webhook_status_changes(orders=[order])
    [message] = queued()
    body = message.payload["body"]
    changed_at = datetime.fromisoformat(body.pop("changed_at"))
    assert changed_at.utcoffset() == datetime.now(ZoneInfo("Europe/Berlin")).utcoffset()
    assert before <= changed_at <= datetime.now(ZoneInfo("UTC"))
    assert message.payload["event"] == ORDER_STATUS_CHANGED
    assert body == {
        "event": ORDER_STATUS_CHANGED,
        "order": {
            "accession_number": order.accession_number,
            "issuer_of_accession_number": order.issuer_of_accession_number,
            "placer_order_number": "ORD-1",
            "placer_issuer": "HIS",
            "filler_order_number": "F-1",
            "filler_issuer": "RIS",
            "status": "COMPLETED",
        },
        "patient": {"patient_id": "P42", "issuer_of_patient_id": "HOSPITAL"},
    }


def test_the_step_body_has_the_step_and_its_order(db, settings):
    """SPS ID, status, modality, station, scheduled start with its offset, and
    the order's accession and placer numbers."""
    settings.TIME_ZONE = "America/New_York"
    api_client(url="https://his.example.org/hook")
    start = datetime(2025, 7, 1, 14, 30, tzinfo=ZoneInfo("UTC"))
    step = ScheduledProcedureStepFactory(
        start=start,
        station__ae_title="CT_EAST",
        status=StepStatus.STARTED,
        requested_procedure__order__placer_order_number="ORD-2",
        requested_procedure__order__placer_issuer="HIS",
    )
    procedure, order = step.requested_procedure, step.requested_procedure.order
    webhook_status_changes(steps=[step])
    [message] = queued()
    body = message.payload["body"]
    assert datetime.fromisoformat(body.pop("changed_at")).tzinfo is not None
    assert body == {
        "event": STEP_STATUS_CHANGED,
        "step": {
            "sps_id": step.sps_id,
            "status": "STARTED",
            "modality": "CT",
            "scheduled_station_ae_title": "CT_EAST",
            "scheduled_start": "2025-07-01T10:30:00-04:00",
            "requested_procedure_id": procedure.requested_procedure_id,
            "study_instance_uid": procedure.study_instance_uid,
        },
        "order": {
            "accession_number": order.accession_number,
            "issuer_of_accession_number": order.issuer_of_accession_number,
            "placer_order_number": "ORD-2",
            "placer_issuer": "HIS",
        },
    }


def test_each_message_shows_the_state_at_its_change(db):
    """Bodies are made when the change is made: three changes, three statuses, in order."""
    client = api_client(url="https://his.example.org/hook")
    step = ScheduledProcedureStepFactory()
    for status in (StepStatus.ARRIVED, StepStatus.STARTED, StepStatus.COMPLETED):
        step_changed(step, status)
    bodies = [message.payload["body"] for message in queued(client)]
    assert [body["step"]["status"] for body in bodies] == ["ARRIVED", "STARTED", "COMPLETED"]
    assert [body["changed_at"] for body in bodies] == sorted(body["changed_at"] for body in bodies)


def test_changes_of_one_call_are_queued_in_their_order_for_each_client(db):
    first = api_client("HIS", url="https://his.example.org/hook")
    second = api_client("LAB", url="https://lab.example.org/hook")
    steps = [ScheduledProcedureStepFactory() for _ in range(3)]
    webhook_status_changes(steps=steps)
    for client in (first, second):
        assert [m.payload["body"]["step"]["sps_id"] for m in queued(client)] == [
            step.sps_id for step in steps
        ]


def test_a_rolled_back_change_queues_nothing(db):
    api_client(url="https://his.example.org/hook")
    order = OrderFactory()

    def change_that_fails():
        with transaction.atomic():
            webhook_status_changes(orders=[order])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert queued() == []


# --- Delivering one message --------------------------------------------------------


def test_the_body_is_posted_signed_with_its_headers(db, endpoint):
    """Compact UTF-8 JSON; event, delivery id, timestamp and signature headers."""
    endpoint.start()
    api_client(url=endpoint.url)
    order = OrderFactory(patient__family_name="Müller", placer_order_number="ÄÖÜ-1")
    webhook_status_changes(orders=[order])
    [message] = queued()
    assert outcome(message) == "delivered"
    [request] = endpoint.received
    assert request.path == "/ris/hook"
    assert request.signature_ok
    assert request.body == encode_body(message.payload["body"])
    assert b" " not in request.body
    assert "ÄÖÜ-1".encode() in request.body
    assert request.json == message.payload["body"]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-ris-event"] == "order.status_changed"
    assert request.delivery == message.pk
    assert abs(int(request.headers["x-ris-timestamp"]) - time.time()) < 5
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", request.headers["x-ris-signature"])


def test_every_attempt_sends_the_same_delivery_id_and_body(db, endpoint):
    """A repeat is recognisable: same X-RIS-Delivery, same bytes."""
    endpoint.start()
    api_client(url=endpoint.url)
    webhook_status_changes(steps=[ScheduledProcedureStepFactory()])
    [message] = queued()
    message.refresh_from_db()  # the payload as the dispatcher reads it back
    assert outcome(message) == outcome(message) == "delivered"
    first, again = endpoint.received
    assert (first.delivery, first.body) == (again.delivery, again.body)
    assert [first.signature_ok, again.signature_ok] == [True, True]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (408, "transient"),
        (429, "transient"),
        (500, "transient"),
        (502, "transient"),
        (503, "transient"),
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (410, "permanent"),
        (422, "permanent"),
        (302, "permanent"),
        (307, "permanent"),
    ],
)
def test_the_answer_decides_the_outcome(db, endpoint, status, expected):
    """2xx delivered; 408, 429 and 5xx retried; anything else given up."""
    endpoint.start()
    endpoint.statuses = [status]
    api_client(url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory()])
    [message] = queued()
    assert outcome(message) == expected


def test_a_redirect_is_not_followed(db, endpoint):
    """urllib would follow it with a GET and no body; the one POST is all."""
    endpoint.start()
    endpoint.statuses = [301]
    api_client(url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory()])
    [message] = queued()
    with pytest.raises(DeliveryError, match="HTTP 301: answer 301") as caught:
        deliver_webhook(message)
    assert caught.value.permanent
    assert [r.path for r in endpoint.received] == ["/ris/hook"]


def test_an_endpoint_that_is_down_is_retried(db, endpoint):
    api_client(url=endpoint.url)  # not started: connection refused
    webhook_status_changes(orders=[OrderFactory()])
    [message] = queued()
    with pytest.raises(DeliveryError, match="no answer") as caught:
        deliver_webhook(message)
    assert not caught.value.permanent


def test_an_endpoint_slower_than_the_timeout_is_retried(db, endpoint, settings):
    settings.RIS_WEBHOOK_TIMEOUT = 0.2
    endpoint.delay = 1.0
    endpoint.start()
    api_client(url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory()])
    [message] = queued()
    started = time.monotonic()
    assert outcome(message) == "transient"
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize(
    ("change", "expected", "error"),
    [
        ({"callback_url": ""}, "permanent", "no callback URL"),
        ({"callback_url": "ftp://his.example.org/hook"}, "permanent", "not http"),
        ({"callback_secret": ""}, "transient", "no callback secret"),
    ],
)
def test_the_client_as_it_is_at_delivery_decides(db, endpoint, change, expected, error):
    """A URL removed: given up. A secret missing: waits, nothing goes out unsigned."""
    endpoint.start()
    client = api_client(url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory()])
    ApiClient.objects.filter(pk=client.pk).update(**change)
    [message] = queued()
    with pytest.raises(DeliveryError, match=error) as caught:
        deliver_webhook(message)
    assert ("permanent" if caught.value.permanent else "transient") == expected
    assert endpoint.received == []


def test_an_unknown_or_deactivated_client_is_given_up(db, endpoint):
    endpoint.start()
    gone, deactivated = api_client("GONE", url=endpoint.url), api_client("OFF", url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory()])
    gone.user.delete()
    get_user_model().objects.filter(pk=deactivated.user.pk).update(is_active=False)
    assert [outcome(message) for message in queued()] == ["permanent", "permanent"]
    payload = queued()[0].payload
    bogus = OutboundMessage(channel=Channel.WEBHOOK, destination="PACS", payload=payload)
    assert outcome(bogus) == "permanent"
    assert endpoint.received == []


def test_a_malformed_payload_is_given_up(db, endpoint):
    endpoint.start()
    client = api_client(url=endpoint.url)
    for payload in ({}, {"event": "order.deleted", "body": {}}, {"event": ORDER_STATUS_CHANGED}):
        message = OutboundMessage(
            channel=Channel.WEBHOOK, destination=f"api-client:{client.pk}", payload=payload
        )
        assert outcome(message) == "permanent"
    assert endpoint.received == []


def test_the_url_and_secret_are_read_when_the_message_is_sent(db, endpoint):
    """A corrected URL and a new secret apply to the messages still queued."""
    endpoint.secret = "the new secret"
    endpoint.start()
    client = api_client(url="http://127.0.0.1:9/wrong", secret="the old secret")
    webhook_status_changes(orders=[OrderFactory()])
    ApiClient.objects.filter(pk=client.pk).update(
        callback_url=endpoint.url, callback_secret="the new secret"
    )
    [message] = queued()
    assert outcome(message) == "delivered"
    assert endpoint.received[0].signature_ok


def test_the_docs_example_verifies_a_real_delivery(db, endpoint):
    """docs/webhooks.md's verify(), pasted as it is, accepts what the RIS sends
    and refuses a wrong secret, a changed body and an old timestamp."""
    verify = docs_verify()
    endpoint.start()
    api_client(url=endpoint.url)
    webhook_status_changes(steps=[ScheduledProcedureStepFactory()])
    deliver_webhook(queued()[0])
    [request] = endpoint.received
    headers = request.headers  # as a framework gives them: case-insensitive
    assert verify(SECRET, headers, request.body)
    assert not verify("another secret", headers, request.body)
    assert not verify(SECRET, headers, request.body.replace(b"SCHEDULED", b"COMPLETED"))
    stale = {k: v for k, v in headers.items() if k.lower() != "x-ris-timestamp"}
    stale["X-RIS-Timestamp"] = str(int(time.time()) - 3600)
    assert not verify(SECRET, CaseInsensitiveMapping(stale), request.body)


# --- The dispatcher ------------------------------------------------------------------
# transactional_db: the dispatcher thread has its own connection and sees
# only committed rows.


def webhook_dispatcher():
    return dispatcher_running(run_webhook_dispatcher)


def test_the_dispatcher_delivers_each_change_in_order(transactional_db, endpoint):
    endpoint.start()
    client = api_client(url=endpoint.url)
    step = ScheduledProcedureStepFactory()
    statuses = [StepStatus.ARRIVED, StepStatus.STARTED, StepStatus.COMPLETED]
    with webhook_dispatcher():
        for status in statuses:
            step_changed(step, status)
        wait_until(lambda: states(client) == [State.DELIVERED] * 3)
    assert [r.json["step"]["status"] for r in endpoint.received] == statuses
    assert [r.delivery for r in endpoint.received] == [m.pk for m in queued(client)]
    assert all(r.signature_ok for r in endpoint.received)


def test_an_endpoint_down_then_back_gets_everything_in_order(
    transactional_db, endpoint, fast_retries
):
    """Nothing lost while the HIS is down, nothing out of order when it is back;
    another client's queue does not wait for it."""
    client = api_client("HIS", url=endpoint.url)
    other_endpoint = Endpoint()
    other_endpoint.start()
    other = api_client("LAB", url=other_endpoint.url)
    orders = [OrderFactory() for _ in range(3)]
    try:
        with webhook_dispatcher():
            for order in orders:
                with transaction.atomic():
                    webhook_status_changes(orders=[order])
            wait_until(lambda: queued(client)[0].attempts >= 3)
            wait_until(lambda: len(other_endpoint.delivered()) == 3)
            assert states(client) == [State.PENDING] * 3
            assert [m.attempts for m in queued(client)[1:]] == [0, 0]
            endpoint.start()
            wait_until(lambda: states(client) == [State.DELIVERED] * 3)
    finally:
        other_endpoint.stop()
    for his in (endpoint, other_endpoint):
        assert [r.json["order"]["accession_number"] for r in his.received] == [
            o.accession_number for o in orders
        ]
    assert states(other) == [State.DELIVERED] * 3


def test_503_is_retried_and_the_later_messages_wait(transactional_db, endpoint, fast_retries):
    endpoint.statuses = [503, 503]
    endpoint.start()
    client = api_client(url=endpoint.url)
    orders = [OrderFactory() for _ in range(3)]
    with transaction.atomic():
        webhook_status_changes(orders=orders)
    ids = [m.pk for m in queued(client)]
    with webhook_dispatcher():
        wait_until(lambda: states(client) == [State.DELIVERED] * 3)
    assert [(r.delivery, r.status) for r in endpoint.received] == [
        (ids[0], 503),
        (ids[0], 503),
        (ids[0], 200),
        (ids[1], 200),
        (ids[2], 200),
    ]
    assert "HTTP 503: answer 503" in queued(client)[0].last_error


def test_a_refused_message_is_given_up_and_the_next_delivered(transactional_db, endpoint):
    endpoint.statuses = [400]
    endpoint.start()
    client = api_client(url=endpoint.url)
    step = ScheduledProcedureStepFactory()
    with webhook_dispatcher():
        step_changed(step, StepStatus.STARTED)
        step_changed(step, StepStatus.COMPLETED)
        wait_until(lambda: State.PENDING not in states(client))
    refused, delivered = queued(client)
    assert (refused.state, delivered.state) == (State.DEAD, State.DELIVERED)
    assert "HTTP 400: answer 400" in refused.last_error
    assert [(r.json["step"]["status"], r.status) for r in endpoint.received] == [
        ("STARTED", 400),
        ("COMPLETED", 200),
    ]


def test_a_removed_callback_url_gives_up_the_clients_queue(transactional_db, endpoint):
    endpoint.start()
    client = api_client(url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory(), OrderFactory()])
    client.callback_url = ""
    client.save()
    with webhook_dispatcher():
        wait_until(lambda: states(client) == [State.DEAD] * 2)
    assert endpoint.received == []
    assert all("no callback URL" in m.last_error for m in queued(client))


def test_the_dimse_and_dispatch_commands_deliver_webhooks(transactional_db, endpoint):
    """start_dispatchers, which both commands use, runs a webhook dispatcher thread."""
    assert DISPATCHERS[Channel.WEBHOOK][1] is run_webhook_dispatcher
    endpoint.start()
    client = api_client(url=endpoint.url)
    webhook_status_changes(orders=[OrderFactory()])
    stop = threading.Event()
    threads = start_dispatchers(stop=stop, poll_interval=0.02)
    try:
        wait_until(lambda: states(client) == [State.DELIVERED])
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert "webhook-dispatcher" in [thread.name for thread in threads]
    assert not any(thread.is_alive() for thread in threads)
    assert len(endpoint.received) == 1


# --- Through the scheduling services: what a HIS sees when its order moves


def test_cancelling_an_order_notifies_the_his_of_its_steps_then_the_order(
    transactional_db, endpoint, fast_retries
):
    """The services queue the notifications in the change's transaction; a
    HIS endpoint that is down at first gets them all, in order, when it is up."""
    api_client(url=endpoint.url)
    step = ScheduledProcedureStepFactory()
    order = step.requested_procedure.order
    order_cancel(order=order)
    with dispatcher_running(run_webhook_dispatcher):
        time.sleep(0.2)  # attempts fail: nobody listens yet
        endpoint.start()
        wait_until(lambda: len(endpoint.delivered()) == 2, timeout=10)
    bodies = [received.json for received in endpoint.delivered()]
    assert [body["event"] for body in bodies] == [STEP_STATUS_CHANGED, ORDER_STATUS_CHANGED]
    assert bodies[0]["step"]["sps_id"] == step.sps_id
    assert bodies[0]["step"]["status"] == StepStatus.CANCELED
    assert bodies[1]["order"]["accession_number"] == order.accession_number
    assert bodies[1]["order"]["status"] == OrderStatus.CANCELED
    assert all(received.signature_ok for received in endpoint.delivered())


def test_a_step_status_that_does_not_change_notifies_nobody(db):
    api_client(url="https://his.example.org/hook")
    step = ScheduledProcedureStepFactory()
    scheduled_steps_set_status(statuses={step: step.status})
    assert queued() == []


def test_a_step_status_change_notifies_of_the_step_then_its_order_from_one_lookup(db):
    """What an MPPS report causes: the step's message, then its order's, for
    each client; the clients looked up once for both."""
    first = api_client("HIS", url="https://his.example.org/hook")
    second = api_client("LAB", url="https://lab.example.org/hook")
    step = ScheduledProcedureStepFactory()
    with CaptureQueriesContext(connection) as captured:
        scheduled_steps_set_status(statuses={step: StepStatus.STARTED})
    table = ApiClient._meta.db_table
    assert sum(f'FROM "{table}"' in query["sql"] for query in captured.captured_queries) == 1
    for client in (first, second):
        assert [m.payload["event"] for m in queued(client)] == [
            STEP_STATUS_CHANGED,
            ORDER_STATUS_CHANGED,
        ]
        assert queued(client)[1].payload["body"]["order"]["status"] == OrderStatus.IN_PROGRESS


def test_credentials_in_a_callback_url_stay_out_of_errors(db, endpoint):
    url = endpoint.url.replace("http://", "http://his:s3cret@")  # not started: refused
    api_client(url=url)
    webhook_status_changes(orders=[OrderFactory()])
    [message] = queued()
    with pytest.raises(DeliveryError) as caught:
        deliver_webhook(message)
    assert "s3cret" not in str(caught.value)
    assert f"127.0.0.1:{endpoint.port}" in str(caught.value)
