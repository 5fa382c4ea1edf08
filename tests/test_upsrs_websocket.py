"""The UPS-RS event channel over a real WebSocket: uvicorn serving ris.asgi on
loopback, and the `websockets` client as a subscriber."""

import json
import threading
import time

import pytest
import uvicorn
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ris.asgi import application
from ris.dicom.errors import DicomError
from ris.dicom.uids import new_uid
from ris.ups.models import Delivery
from ris.ups.services import ups_change_state, ups_create, ups_subscribe
from tests.dimse_helpers import free_port
from tests.ups_helpers import GLOBAL, workitem

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def asgi_server(settings):
    """uvicorn serving the project's ASGI application on a free port."""
    settings.RIS_UPSRS_WEBSOCKET_POLL_INTERVAL = 0.02
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def user():
    return get_user_model().objects.create_user("viewer")


@pytest.fixture
def token(user):
    return Token.objects.create(user=user).key


def events(socket, count: int) -> list[dict]:
    return [json.loads(socket.recv(timeout=10)) for _ in range(count)]


def state(report: dict) -> str:
    return report["00741000"]["Value"][0]


def test_a_subscriber_gets_queued_and_live_events_in_order(asgi_server, token, user):
    uid = new_uid()
    ups_create(sop_instance_uid=uid, attributes=workitem())
    ups_subscribe(
        sop_instance_uid=uid,
        receiving_ae="WEBAPP",
        deletion_lock=False,
        delivery=Delivery.WEBSOCKET,
        owner=user,
    )  # its initial State Report waits for the socket
    url = f"{asgi_server}/dicomweb/subscribers/WEBAPP"
    with connect(url, additional_headers={"Authorization": f"Token {token}"}) as socket:
        [initial] = events(socket, 1)
        ups_change_state(
            sop_instance_uid=uid, requested_state="IN PROGRESS", transaction_uid=new_uid()
        )
        [claimed] = events(socket, 1)
    assert (state(initial), state(claimed)) == ("SCHEDULED", "IN PROGRESS")
    assert claimed["00000002"]["Value"] == ["1.2.840.10008.5.1.4.34.6.1"]  # UPS Push
    assert claimed["00001000"]["Value"] == [uid]
    assert claimed["00001002"] == {"vr": "US", "Value": [1]}
    assert list(claimed) == sorted(claimed)


def test_events_wait_for_a_subscriber_that_reconnects(asgi_server, token, user):
    ups_subscribe(
        sop_instance_uid=GLOBAL,
        receiving_ae="WEBAPP",
        deletion_lock=False,
        delivery="websocket",
        owner=user,
    )
    first, second = new_uid(), new_uid()
    url = f"{asgi_server}/dicomweb/subscribers/WEBAPP"
    headers = {"Authorization": f"Token {token}"}
    with connect(url, additional_headers=headers) as socket:
        ups_create(sop_instance_uid=first, attributes=workitem())
        [report] = events(socket, 1)
        assert report["00001000"]["Value"] == [first]
    ups_create(sop_instance_uid=second, attributes=workitem())  # while disconnected
    with connect(url, additional_headers=headers) as socket:
        [report] = events(socket, 1)
    assert report["00001000"]["Value"] == [second]


def test_a_websocket_subscriber_need_not_be_a_registered_ae(token):
    uid = new_uid()
    ups_create(sop_instance_uid=uid, attributes=workitem())
    assert (
        ups_subscribe(
            sop_instance_uid=uid, receiving_ae="ANYWEB", deletion_lock=True, delivery="websocket"
        )
        == 0
    )


def test_a_client_without_credentials_is_refused(asgi_server):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{asgi_server}/dicomweb/subscribers/WEBAPP")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(
            f"{asgi_server}/dicomweb/subscribers/WEBAPP",
            additional_headers={"Authorization": "Token not-a-token"},
        )


def test_only_the_client_that_subscribed_opens_the_socket(asgi_server, user):
    ups_subscribe(
        sop_instance_uid=GLOBAL,
        receiving_ae="WEBAPP",
        deletion_lock=False,
        delivery="websocket",
        owner=user,
    )
    other = get_user_model().objects.create_user("other")
    headers = {"Authorization": f"Token {Token.objects.create(user=other).key}"}
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{asgi_server}/dicomweb/subscribers/WEBAPP", additional_headers=headers)
    assert refused.value.response.status_code == 403
    with pytest.raises(DicomError) as taken:
        ups_subscribe(
            sop_instance_uid=GLOBAL,
            receiving_ae="WEBAPP",
            deletion_lock=False,
            delivery="websocket",
            owner=other,
        )
    assert taken.value.status == 0x0124
