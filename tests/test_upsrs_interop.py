"""One workitem, two doors (PS3.4 CC.1): made over UPS-RS and performed over DIMSE,
made over DIMSE and performed over UPS-RS, and the same search through both."""

import json

import pytest
from pydicom import Dataset
from pynetdicom.sop_class import UnifiedProcedureStepQuery
from rest_framework.test import APIClient

from ris.api.services import api_client_create
from ris.dicom.uids import new_uid
from tests.ups_helpers import (
    PUSH,
    change_state,
    code,
    completion,
    create,
    n_set,
    ups_associate,
    workitem,
)

pytestmark = pytest.mark.django_db(transaction=True)

DICOM_JSON = "application/dicom+json"


@pytest.fixture
def client(transactional_db):
    performer, _ = api_client_create(name="cad-server", can_write=True)
    api = APIClient()
    api.force_authenticate(performer.user)
    return api


@pytest.fixture
def assoc(dicom_service):
    association = ups_associate(dicom_service)
    yield association
    association.release()


def put_state(client, uid: str, state: str, transaction_uid: str):
    change = Dataset()
    change.ProcedureStepState, change.TransactionUID = state, transaction_uid
    return client.put(
        f"/dicomweb/workitems/{uid}/state",
        data=json.dumps([change.to_json_dict()]),
        content_type=DICOM_JSON,
    )


def n_get_state(assoc, uid: str) -> str:
    status, dataset = assoc.send_n_get([0x00741000], PUSH, uid)
    assert status.Status == 0x0000
    return dataset.ProcedureStepState


def test_a_workitem_created_over_upsrs_is_claimed_and_completed_over_dimse(client, assoc):
    uid, transaction_uid = new_uid(), new_uid()
    response = client.post(
        f"/dicomweb/workitems?{uid}",
        data=json.dumps([workitem().to_json_dict()]),
        content_type=DICOM_JSON,
    )
    assert response.status_code == 201
    assert change_state(assoc, uid, "IN PROGRESS", transaction_uid) == 0x0000
    assert n_set(assoc, uid, completion(), transaction_uid).Status == 0x0000
    assert change_state(assoc, uid, "COMPLETED", transaction_uid) == 0x0000
    [found] = client.get(f"/dicomweb/workitems/{uid}").json()
    result = Dataset.from_json(found)
    assert result.ProcedureStepState == "COMPLETED"
    assert result.UnifiedProcedureStepPerformedProcedureSequence[0].PerformedStationNameCodeSequence
    # Claimed through the other door, the workitem refuses HTTP without its UID.
    assert put_state(client, uid, "COMPLETED", new_uid()).status_code == 400


def test_a_workitem_created_over_dimse_is_claimed_and_completed_over_upsrs(client, assoc):
    uid, transaction_uid = new_uid(), new_uid()
    assert create(assoc, uid) == 0x0000
    assert put_state(client, uid, "IN PROGRESS", transaction_uid).status_code == 200
    assert n_get_state(assoc, uid) == "IN PROGRESS"
    # The performer's Transaction UID guards the workitem on both doors alike.
    assert change_state(assoc, uid, "IN PROGRESS", new_uid()) == 0xC301
    assert change_state(assoc, uid, "IN PROGRESS", transaction_uid) == 0xC302
    assert put_state(client, uid, "IN PROGRESS", transaction_uid).status_code == 409
    response = client.post(
        f"/dicomweb/workitems/{uid}?transaction-uid={transaction_uid}",
        data=json.dumps([completion().to_json_dict()]),
        content_type=DICOM_JSON,
    )
    assert response.status_code == 200
    assert put_state(client, uid, "COMPLETED", transaction_uid).status_code == 200
    assert n_get_state(assoc, uid) == "COMPLETED"


def test_a_cancel_request_over_upsrs_cancels_a_workitem_made_over_dimse(client, assoc):
    uid = new_uid()
    assert create(assoc, uid) == 0x0000
    assert client.post(f"/dicomweb/workitems/{uid}/cancelrequest").status_code == 202
    assert n_get_state(assoc, uid) == "CANCELED"


def test_search_over_upsrs_finds_what_c_find_finds(client, assoc):
    """Equal keys, equal sets (PS3.4 CC.1): station CT1 and SCHEDULED."""
    made = {}
    for station in ("CT1", "MR1", "CT1"):
        uid = new_uid()
        attributes = workitem(ScheduledStationNameCodeSequence=[code(station, "99RIS", station)])
        assert create(assoc, uid, attributes) == 0x0000
        made[uid] = station
    query = Dataset()
    query.SOPInstanceUID = None
    query.ProcedureStepState = "SCHEDULED"
    query.ScheduledStationNameCodeSequence = [Dataset()]
    query.ScheduledStationNameCodeSequence[0].CodeValue = "CT1"
    over_dimse = [
        str(identifier.SOPInstanceUID)
        for status, identifier in assoc.send_c_find(query, UnifiedProcedureStepQuery)
        if status.Status in (0xFF00, 0xFF01)
    ]
    response = client.get(
        "/dicomweb/workitems?ProcedureStepState=SCHEDULED"
        "&ScheduledStationNameCodeSequence.CodeValue=CT1"
    )
    over_http = [Dataset.from_json(item).SOPInstanceUID for item in response.json()]
    assert over_http == over_dimse
    assert sorted(over_http) == sorted(uid for uid, station in made.items() if station == "CT1")
