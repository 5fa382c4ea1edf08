"""UPS-RS (PS3.18 chapter 11) over HTTP: each resource, each refusal with its HTTP
status and Warning (ris.upsrs.statuses), media types and authentication."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from pydicom import Dataset
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ris.api.services import api_client_create
from ris.dicom.uids import new_uid
from ris.nodes.services import remote_ae_add
from ris.outbox.models import OutboundMessage
from ris.ups.models import GlobalSubscription, Subscription, Workitem
from ris.ups.services import ups_change_state, ups_create, ups_get, ups_set, ups_subscribe
from tests.ups_helpers import (
    FILTERED_GLOBAL,
    GLOBAL,
    cancellation_reason,
    code,
    completion,
    workitem,
)

pytestmark = pytest.mark.django_db

DICOM_JSON = "application/dicom+json"
WARNING_PREFIX = '299 http://testserver/dicomweb: "'


@pytest.fixture
def user(db):
    """A client that may write: it creates, claims and completes workitems."""
    client, _ = api_client_create(name="cad-server", can_write=True)
    return client.user


@pytest.fixture
def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def watcher(db):
    return remote_ae_add(ae_title="WATCHER", host="127.0.0.1", port=11113, services=["ups"])


def body(dataset: Dataset) -> str:
    return json.dumps([dataset.to_json_dict()])


def send(client, method: str, url: str, dataset: Dataset | None = None, **extra):
    data = None if dataset is None else body(dataset)
    content_type = DICOM_JSON if dataset is not None else None
    return getattr(client, method)(url, data=data, content_type=content_type, **extra)


def scheduled(uid: str | None = None, **values) -> str:
    uid = uid or new_uid()
    ups_create(sop_instance_uid=uid, attributes=workitem(**values))
    return uid


def claimed(transaction_uid: str, **values) -> str:
    uid = scheduled(**values)
    ups_change_state(
        sop_instance_uid=uid, requested_state="IN PROGRESS", transaction_uid=transaction_uid
    )
    return uid


def change(state: str, transaction_uid: str | None) -> Dataset:
    ds = Dataset()
    ds.ProcedureStepState = state
    if transaction_uid:
        ds.TransactionUID = transaction_uid
    return ds


def warning(response) -> str:
    return response.headers.get("Warning", "")


# --- Create (11.4)


def test_create_with_the_uid_as_query_string_answers_201_with_location(client):
    """POST /workitems?{uid}: the workitem is SCHEDULED, Location names it."""
    uid = new_uid()
    response = send(client, "post", f"/dicomweb/workitems?{uid}", workitem())
    assert response.status_code == 201
    assert response.headers["Location"] == f"http://testserver/dicomweb/workitems/{uid}"
    stored = Workitem.objects.get(sop_instance_uid=uid)
    assert stored.state == "SCHEDULED"
    assert stored.created_by == "api-cad-server"  # the client's user


def test_create_takes_the_uid_from_the_body_or_makes_one(client):
    """Without a UID in the URI, SOP Instance UID in the body, else the RIS's own."""
    uid = new_uid()
    response = send(client, "post", "/dicomweb/workitems", workitem(SOPInstanceUID=uid))
    assert response.headers["Location"].endswith(f"/workitems/{uid}")
    response = send(client, "post", "/dicomweb/workitems", workitem())
    assert response.status_code == 201
    made = response.headers["Location"].rsplit("/", 1)[1]
    assert Workitem.objects.filter(sop_instance_uid=made).exists()


def test_create_accepts_a_json_object_as_well_as_a_one_element_array(client):
    uid = new_uid()
    response = client.post(
        f"/dicomweb/workitems?workitem={uid}",
        data=json.dumps(workitem().to_json_dict()),
        content_type=DICOM_JSON,
    )
    assert response.status_code == 201


def test_create_of_an_existing_uid_is_409(client):
    uid = scheduled()
    response = send(client, "post", f"/dicomweb/workitems?{uid}", workitem())
    assert response.status_code == 409
    assert response.json()["dimse_status"] == "0x0111"


@pytest.mark.parametrize(
    ("attributes", "dimse_status"),
    [
        (workitem(ProcedureStepState="IN PROGRESS"), "0xC309"),
        (workitem(ProcedureStepLabel=None), "0x0121"),
        (workitem(TransactionUID="1.2.3"), "0x0106"),
    ],
    ids=["not-scheduled", "label-empty", "transaction-uid-given"],
)
def test_create_that_violates_n_create_is_400_with_a_readable_body(
    client, attributes, dimse_status
):
    response = send(client, "post", f"/dicomweb/workitems?{new_uid()}", attributes)
    assert response.status_code == 400
    assert response.json()["dimse_status"] == dimse_status
    assert response.json()["detail"]


def test_create_missing_a_required_attribute_is_400(client):
    attributes = workitem()
    del attributes.ProcedureStepLabel
    response = send(client, "post", f"/dicomweb/workitems?{new_uid()}", attributes)
    assert response.status_code == 400
    assert response.json()["dimse_status"] == "0x0120"


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", "[{}, {}]", '"a string"', '{"00100010": {"vr": "XX", "Value": ["a"]}}'],
    ids=["not-json", "no-dataset", "two-datasets", "not-an-object", "bad-vr"],
)
def test_create_with_a_body_that_is_not_one_dicom_json_dataset_is_400(client, payload):
    response = client.post("/dicomweb/workitems", data=payload, content_type=DICOM_JSON)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_create_with_a_uid_in_body_and_uri_that_differ_is_400(client):
    response = send(
        client, "post", f"/dicomweb/workitems?{new_uid()}", workitem(SOPInstanceUID=new_uid())
    )
    assert response.status_code == 400


def test_create_with_another_content_type_is_415(client):
    response = client.post(
        f"/dicomweb/workitems?{new_uid()}",
        data=json.dumps([workitem().to_json_dict()]),
        content_type="application/xml",
    )
    assert response.status_code == 415
    assert not Workitem.objects.exists()


def test_create_with_a_body_and_no_content_type_is_415(client):
    response = client.generic("POST", "/dicomweb/workitems", data=body(workitem()))
    assert response.status_code == 415


# --- Retrieve (11.5)


def test_retrieve_returns_the_workitem_as_dicom_json(client):
    """200, application/dicom+json, one data set, never the Transaction UID."""
    uid = claimed(transaction_uid := new_uid())
    response = client.get(f"/dicomweb/workitems/{uid}", HTTP_ACCEPT=DICOM_JSON)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/dicom+json; charset=utf-8"
    [found] = response.json()
    assert list(found) == sorted(found)
    dataset = Dataset.from_json(found)
    assert dataset.SOPInstanceUID == uid
    assert dataset.ProcedureStepState == "IN PROGRESS"
    assert dataset.ScheduledWorkitemCodeSequence[0].CodeValue == "CAD-LUNG"
    assert "00081195" not in found
    assert transaction_uid not in response.content.decode()


def test_retrieve_writes_a_person_name_as_the_json_model_does(client):
    uid = scheduled(PatientName="Müller^Jürgen")
    [found] = client.get(f"/dicomweb/workitems/{uid}").json()
    assert found["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Müller^Jürgen"}]}


def test_retrieve_answers_application_json_to_a_client_asking_for_it(client):
    uid = scheduled()
    response = client.get(f"/dicomweb/workitems/{uid}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


def test_retrieve_with_an_accept_the_rs_cannot_satisfy_is_406(client):
    uid = scheduled()
    response = client.get(
        f"/dicomweb/workitems/{uid}", HTTP_ACCEPT='multipart/related; type="application/dicom+xml"'
    )
    assert response.status_code == 406


def test_the_accept_query_parameter_stands_for_the_header(client):
    uid = scheduled()
    response = client.get(f"/dicomweb/workitems/{uid}?accept=text/html")
    assert response.status_code == 406
    response = client.get(f"/dicomweb/workitems/{uid}?accept={DICOM_JSON}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200


def test_retrieve_of_an_unknown_workitem_is_404(client):
    response = client.get(f"/dicomweb/workitems/{new_uid()}")
    assert response.status_code == 404
    assert response.json()["dimse_status"] == "0xC307"


def test_retrieve_of_a_workitem_that_left_the_worklist_is_410(client, settings):
    """Final, past its retention and unlocked: gone, and the RIS knows it existed."""
    settings.RIS_UPS_FINAL_RETENTION = 0
    uid = claimed(transaction_uid := new_uid())
    ups_set(sop_instance_uid=uid, modifications=_with_uid(completion(), transaction_uid))
    ups_change_state(
        sop_instance_uid=uid, requested_state="COMPLETED", transaction_uid=transaction_uid
    )
    Workitem.objects.filter(sop_instance_uid=uid).update(
        final_at=timezone.now() - timedelta(seconds=5)
    )
    assert client.get(f"/dicomweb/workitems/{uid}").status_code == 410
    response = send(client, "put", f"/dicomweb/workitems/{uid}/state", change("COMPLETED", None))
    assert response.status_code == 410


# --- Update (11.6)


def test_update_of_a_scheduled_workitem_needs_no_transaction_uid(client):
    uid = scheduled()
    response = send(client, "post", f"/dicomweb/workitems/{uid}", _label("Lung CAD v2"))
    assert response.status_code == 200
    assert ups_get(sop_instance_uid=uid)[0].ProcedureStepLabel == "Lung CAD v2"


def test_update_of_a_claimed_workitem_takes_the_transaction_uid_from_the_query(client):
    uid = claimed(transaction_uid := new_uid())
    url = f"/dicomweb/workitems/{uid}?transaction-uid={transaction_uid}"
    assert send(client, "post", url, _label("From query")).status_code == 200
    assert ups_get(sop_instance_uid=uid)[0].ProcedureStepLabel == "From query"


def test_update_takes_the_transaction_uid_from_the_body(client):
    uid = claimed(transaction_uid := new_uid())
    modifications = _with_uid(_label("From body"), transaction_uid)
    assert send(client, "post", f"/dicomweb/workitems/{uid}", modifications).status_code == 200


def test_update_with_two_different_transaction_uids_is_400(client):
    uid = claimed(transaction_uid := new_uid())
    url = f"/dicomweb/workitems/{uid}?transaction-uid={transaction_uid}"
    response = send(client, "post", url, _with_uid(_label("x"), new_uid()))
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("given", "text"),
    [(None, "The Transaction UID is missing."), ("1.2.3.4", "The Transaction UID is incorrect.")],
    ids=["missing", "incorrect"],
)
def test_update_of_a_claimed_workitem_without_its_transaction_uid_is_400(client, given, text):
    uid = claimed(new_uid())
    url = f"/dicomweb/workitems/{uid}" + (f"?transaction-uid={given}" if given else "")
    response = send(client, "post", url, _label("x"))
    assert response.status_code == 400
    assert warning(response) == WARNING_PREFIX + text + '"'


def test_update_of_a_scheduled_workitem_with_a_transaction_uid_is_409(client):
    uid = scheduled()
    response = send(client, "post", f"/dicomweb/workitems/{uid}?transaction-uid=1.2.3", _label("x"))
    assert response.status_code == 409
    assert "did not reference a claimed Workitem" in warning(response)


def test_update_of_a_final_workitem_is_400(client):
    uid = claimed(transaction_uid := new_uid())
    ups_set(sop_instance_uid=uid, modifications=_with_uid(cancellation_reason(), transaction_uid))
    ups_change_state(
        sop_instance_uid=uid, requested_state="CANCELED", transaction_uid=transaction_uid
    )
    url = f"/dicomweb/workitems/{uid}?transaction-uid={transaction_uid}"
    response = send(client, "post", url, _label("x"))
    assert response.status_code == 400
    assert "inconsistent with the current state of the Workitem" in warning(response)


def test_update_of_an_attribute_n_set_may_not_change_is_400(client):
    uid = scheduled()
    response = send(client, "post", f"/dicomweb/workitems/{uid}", _dataset(PatientID="P2"))
    assert response.status_code == 400
    assert response.json()["dimse_status"] == "0x0106"


def test_update_of_an_unknown_workitem_is_404(client):
    response = send(client, "post", f"/dicomweb/workitems/{new_uid()}", _label("x"))
    assert response.status_code == 404


# --- Change State (11.7)


def test_change_state_claims_then_completes(client):
    uid, transaction_uid = scheduled(), new_uid()
    url = f"/dicomweb/workitems/{uid}/state"
    assert send(client, "put", url, change("IN PROGRESS", transaction_uid)).status_code == 200
    ups_set(sop_instance_uid=uid, modifications=_with_uid(completion(), transaction_uid))
    response = send(client, "put", url, change("COMPLETED", transaction_uid))
    assert response.status_code == 200
    assert "Warning" not in response.headers
    assert Workitem.objects.get(sop_instance_uid=uid).state == "COMPLETED"


@pytest.mark.parametrize(
    ("state", "warning_text"),
    [
        ("COMPLETED", "The UPS is already in the requested state of COMPLETED."),
        ("CANCELED", "The UPS is already in the requested state of CANCELED."),
    ],
)
def test_change_state_to_the_final_state_it_is_in_is_200_with_a_warning(
    client, state, warning_text
):
    uid = claimed(transaction_uid := new_uid())
    done = completion() if state == "COMPLETED" else cancellation_reason()
    ups_set(sop_instance_uid=uid, modifications=_with_uid(done, transaction_uid))
    ups_change_state(sop_instance_uid=uid, requested_state=state, transaction_uid=transaction_uid)
    response = send(
        client, "put", f"/dicomweb/workitems/{uid}/state", change(state, transaction_uid)
    )
    assert response.status_code == 200
    assert warning(response) == WARNING_PREFIX + warning_text + '"'


@pytest.mark.parametrize(
    ("setup", "requested", "http_status", "dimse_status"),
    [
        ("scheduled", "COMPLETED", 409, "0xC310"),
        ("scheduled", "SCHEDULED", 409, "0xC303"),
        ("claimed", "IN PROGRESS", 409, "0xC302"),
        ("claimed", "COMPLETED", 409, "0xC304"),
        ("completed", "IN PROGRESS", 409, "0xC300"),
        ("completed", "CANCELED", 409, "0xC300"),
    ],
)
def test_change_state_inconsistent_with_the_state_is_409(
    client, setup, requested, http_status, dimse_status
):
    transaction_uid = new_uid()
    uid = _in_state(setup, transaction_uid)
    response = send(
        client, "put", f"/dicomweb/workitems/{uid}/state", change(requested, transaction_uid)
    )
    assert response.status_code == http_status
    assert response.json()["dimse_status"] == dimse_status
    assert "inconsistent with the state of the UPS Instance" in warning(response)


@pytest.mark.parametrize(
    ("given", "text"),
    [(None, "The Transaction UID is missing."), ("other", "The Transaction UID is incorrect.")],
)
def test_change_state_without_the_transaction_uid_is_400(client, given, text):
    uid = claimed(new_uid())
    transaction_uid = new_uid() if given else None
    response = send(
        client, "put", f"/dicomweb/workitems/{uid}/state", change("COMPLETED", transaction_uid)
    )
    assert response.status_code == 400
    assert response.json()["dimse_status"] == "0xC301"
    assert warning(response) == WARNING_PREFIX + text + '"'


def test_change_state_without_a_procedure_step_state_is_400(client):
    uid = scheduled()
    response = send(
        client, "put", f"/dicomweb/workitems/{uid}/state", _dataset(TransactionUID="1.2")
    )
    assert response.status_code == 400


def test_change_state_to_an_unknown_state_is_400(client):
    uid = scheduled()
    response = send(client, "put", f"/dicomweb/workitems/{uid}/state", change("DONE", new_uid()))
    assert response.status_code == 400
    assert response.json()["dimse_status"] == "0x0115"


def test_change_state_of_an_unknown_workitem_is_404(client):
    url = f"/dicomweb/workitems/{new_uid()}/state"
    assert send(client, "put", url, change("IN PROGRESS", new_uid())).status_code == 404


# --- Request Cancellation (11.8)


def test_cancel_request_of_a_scheduled_workitem_cancels_it_and_answers_202(client):
    """PS3.4 CC.2.2.3: the RIS cancels a SCHEDULED workitem itself, with the reason given."""
    uid = scheduled()
    reason = _dataset(ReasonForCancellation="Ordered twice")
    response = send(client, "post", f"/dicomweb/workitems/{uid}/cancelrequest", reason)
    assert response.status_code == 202
    dataset, _ = ups_get(sop_instance_uid=uid)
    assert dataset.ProcedureStepState == "CANCELED"
    progress = dataset.ProcedureStepProgressInformationSequence[0]
    assert progress.ReasonForCancellation == "Ordered twice"


def test_cancel_request_needs_no_body(client):
    uid = scheduled()
    assert client.post(f"/dicomweb/workitems/{uid}/cancelrequest").status_code == 202


def test_cancel_request_of_a_claimed_workitem_tells_the_subscribers(client, watcher):
    """IN PROGRESS: 202 and a UPS Cancel Requested event naming the requester."""
    uid = claimed(new_uid())
    ups_subscribe(sop_instance_uid=uid, receiving_ae="WATCHER", deletion_lock=False)
    response = client.post(f"/dicomweb/workitems/{uid}/cancelrequest?requester=READER1")
    assert response.status_code == 202
    [event] = [m for m in OutboundMessage.objects.all() if m.payload["event_type_id"] == 2]
    assert event.destination == "WATCHER"
    assert Dataset.from_json(event.payload["info"]).RequestingAE == "READER1"
    assert Workitem.objects.get(sop_instance_uid=uid).state == "IN PROGRESS"


def test_cancel_request_names_the_user_when_no_requester_is_given(client, watcher):
    uid = claimed(new_uid())
    ups_subscribe(sop_instance_uid=uid, receiving_ae="WATCHER", deletion_lock=False)
    client.post(f"/dicomweb/workitems/{uid}/cancelrequest")
    [event] = [m for m in OutboundMessage.objects.all() if m.payload["event_type_id"] == 2]
    assert Dataset.from_json(event.payload["info"]).RequestingAE == "api-cad-server"


def test_cancel_request_that_nobody_can_hear_is_409(client):
    uid = claimed(new_uid())
    response = client.post(f"/dicomweb/workitems/{uid}/cancelrequest")
    assert response.status_code == 409
    assert response.json()["dimse_status"] == "0xC312"


def test_cancel_request_of_a_completed_workitem_is_409(client):
    uid = _in_state("completed", new_uid())
    response = client.post(f"/dicomweb/workitems/{uid}/cancelrequest")
    assert response.status_code == 409
    assert response.json()["dimse_status"] == "0xC311"


def test_cancel_request_of_a_canceled_workitem_is_202_with_a_warning(client):
    uid = scheduled()
    client.post(f"/dicomweb/workitems/{uid}/cancelrequest")
    response = client.post(f"/dicomweb/workitems/{uid}/cancelrequest")
    assert response.status_code == 202
    assert warning(response).endswith('already in the requested state of CANCELED."')


def test_cancel_request_of_an_unknown_workitem_is_404(client):
    assert client.post(f"/dicomweb/workitems/{new_uid()}/cancelrequest").status_code == 404


# --- Subscribe, Unsubscribe, Suspend (11.10 - 11.12)


def test_subscribe_to_a_workitem_is_201_and_locks_if_asked(client, watcher):
    uid = scheduled()
    url = f"/dicomweb/workitems/{uid}/subscribers/WATCHER?deletionlock=true"
    response = client.post(url)
    assert response.status_code == 201
    subscription = Subscription.objects.get(workitem__sop_instance_uid=uid)
    assert (subscription.ae_title, subscription.deletion_lock) == ("WATCHER", True)


def test_subscribe_without_deletionlock_subscribes_without_a_lock(client, watcher):
    uid = scheduled()
    assert client.post(f"/dicomweb/workitems/{uid}/subscribers/WATCHER").status_code == 201
    assert not Subscription.objects.get(workitem__sop_instance_uid=uid).deletion_lock


def test_subscribe_globally_watches_every_workitem(client, watcher):
    first, second = scheduled(), scheduled()
    assert client.post(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER").status_code == 201
    watched = Subscription.objects.filter(ae_title="WATCHER")
    assert {s.workitem.sop_instance_uid for s in watched} == {first, second}
    assert GlobalSubscription.objects.get(ae_title="WATCHER").matching_keys is None


def test_subscribe_with_a_filter_watches_the_matching_workitems(client, watcher):
    ct = scheduled(ScheduledStationNameCodeSequence=[code("CT1", "99RIS", "CT 1")])
    scheduled(ScheduledStationNameCodeSequence=[code("MR1", "99RIS", "MR 1")])
    url = (
        f"/dicomweb/workitems/{FILTERED_GLOBAL}/subscribers/WATCHER"
        "?filter=ScheduledStationNameCodeSequence.CodeValue=CT1,InputReadinessState=READY"
    )
    assert client.post(url).status_code == 201
    watched = Subscription.objects.filter(ae_title="WATCHER")
    assert [s.workitem.sop_instance_uid for s in watched] == [ct]
    later = scheduled(ScheduledStationNameCodeSequence=[code("CT1", "99RIS", "CT 1")])
    assert Subscription.objects.filter(ae_title="WATCHER", workitem__sop_instance_uid=later)


@pytest.mark.parametrize(
    "url",
    [
        f"/dicomweb/workitems/{FILTERED_GLOBAL}/subscribers/WATCHER",
        f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER?filter=PatientID=P1",
        f"/dicomweb/workitems/{FILTERED_GLOBAL}/subscribers/WATCHER?filter=PatientID",
        f"/dicomweb/workitems/{FILTERED_GLOBAL}/subscribers/WATCHER?filter=NoSuchKey=1",
        f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER?deletionlock=yes",
        f"/dicomweb/workitems/{GLOBAL}/subscribers/MUCH_TOO_LONG_AE_TITLE",
    ],
    ids=["no-filter", "filter-not-filtered", "not-a-pair", "unknown-key", "lock", "ae-title"],
)
def test_subscribe_with_a_bad_parameter_is_400(client, watcher, url):
    assert client.post(url).status_code == 400
    assert not GlobalSubscription.objects.exists()


def test_a_subscription_over_http_is_answered_with_its_websocket(client):
    """UPS-RS subscribers get their events over the WebSocket they open, so
    their AE title need not be registered (as a DIMSE subscriber's must)."""
    uid = scheduled()
    response = client.post(f"/dicomweb/workitems/{uid}/subscribers/STRANGER")
    assert response.status_code == 201
    assert response["Content-Location"] == "ws://testserver/dicomweb/subscribers/STRANGER"
    assert Subscription.objects.get(ae_title="STRANGER").delivery == "websocket"


def test_subscribe_to_an_unknown_workitem_is_404(client, watcher):
    response = client.post(f"/dicomweb/workitems/{new_uid()}/subscribers/WATCHER")
    assert response.status_code == 404
    assert response.json()["dimse_status"] == "0xC307"


def test_unsubscribe_from_a_workitem_releases_its_lock(client, watcher):
    uid = scheduled()
    client.post(f"/dicomweb/workitems/{uid}/subscribers/WATCHER?deletionlock=true")
    response = client.delete(f"/dicomweb/workitems/{uid}/subscribers/WATCHER")
    assert response.status_code == 200
    assert not Subscription.objects.exists()


def test_unsubscribe_globally_ends_every_subscription(client, watcher):
    scheduled()
    client.post(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER")
    assert client.delete(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER").status_code == 200
    assert not Subscription.objects.exists()
    assert not GlobalSubscription.objects.exists()


def test_unsubscribe_of_an_ae_that_is_neither_registered_nor_subscribed_is_404(client):
    assert client.delete(f"/dicomweb/workitems/{GLOBAL}/subscribers/STRANGER").status_code == 404


def test_suspend_keeps_the_subscriptions_but_subscribes_no_new_workitem(client, watcher):
    first = scheduled()
    client.post(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER")
    response = client.post(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER/suspend")
    assert response.status_code == 200
    scheduled()
    watched = Subscription.objects.filter(ae_title="WATCHER")
    assert [s.workitem.sop_instance_uid for s in watched] == [first]


def test_suspend_on_a_workitem_is_400(client, watcher):
    uid = scheduled()
    response = client.post(f"/dicomweb/workitems/{uid}/subscribers/WATCHER/suspend")
    assert response.status_code == 400
    assert response.json()["dimse_status"] == "0xC314"


# --- Authentication


def test_an_anonymous_request_is_401():
    response = APIClient().get("/dicomweb/workitems")
    assert response.status_code == 401


def test_a_token_authenticates_as_for_the_rest_of_the_api(user):
    token = Token.objects.get(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/dicomweb/workitems").status_code == 204


def test_upsrs_is_left_out_of_the_his_api_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert not [path for path in response.json()["paths"] if path.startswith("/dicomweb")]


# --- helpers


def _dataset(**values) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _label(label: str) -> Dataset:
    return _dataset(ProcedureStepLabel=label)


def _with_uid(modifications: Dataset, transaction_uid: str) -> Dataset:
    modifications.TransactionUID = transaction_uid
    return modifications


def _in_state(state: str, transaction_uid: str) -> str:
    if state == "scheduled":
        return scheduled()
    uid = claimed(transaction_uid)
    if state == "completed":
        ups_set(sop_instance_uid=uid, modifications=_with_uid(completion(), transaction_uid))
        ups_change_state(
            sop_instance_uid=uid, requested_state="COMPLETED", transaction_uid=transaction_uid
        )
    return uid


def test_a_read_only_client_may_search_but_not_change_or_subscribe(db):
    reader, _ = api_client_create(name="dashboard")
    api = APIClient()
    api.force_authenticate(reader.user)
    uid = scheduled()
    assert api.get("/dicomweb/workitems").status_code == 200
    assert api.post(f"/dicomweb/workitems/{uid}/subscribers/DASHBOARD").status_code == 403
    state = json.dumps([{"00741000": {"vr": "CS", "Value": ["IN PROGRESS"]}}])
    response = api.put(f"/dicomweb/workitems/{uid}/state", state, content_type=DICOM_JSON)
    assert response.status_code == 403


def test_an_ae_subscribed_over_dimse_is_not_taken_over_over_http(client, watcher):
    """Its events would silently leave the association for a WebSocket."""
    uid = scheduled()
    ups_subscribe(sop_instance_uid=uid, receiving_ae="WATCHER", deletion_lock=False)
    response = client.post(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER")
    assert response.status_code == 403
    assert client.delete(f"/dicomweb/workitems/{GLOBAL}/subscribers/WATCHER").status_code == 403
    assert Subscription.objects.get(ae_title="WATCHER").delivery == "dimse"  # still there


def test_a_nul_character_is_a_bad_request_not_a_server_error(client):
    """PostgreSQL stores no NUL in text or JSON: refused before it gets there."""
    body = json.dumps([{"00741204": {"vr": "LO", "Value": ["Lung\\u0000CAD"]}}])
    assert client.post("/dicomweb/workitems", body, content_type=DICOM_JSON).status_code == 400
    assert client.get("/dicomweb/workitems", {"PatientID": "P\x001"}).status_code == 400
