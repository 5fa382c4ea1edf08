"""/api/v1/scheduled-steps/ and /api/v1/performed-steps/: read, reschedule, and an
order booked over REST going the whole way through the worklist and MPPS."""

from datetime import timedelta

import pytest
from django.utils import timezone
from pydicom import Dataset

from ris.mpps.services import mpps_create
from ris.scheduling.models import ScheduledProcedureStep, StepStatus
from ris.scheduling.services import scheduled_steps_set_status
from tests.api_helpers import his_client, order_payload
from tests.dimse_helpers import matches, mwl_find
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)
from tests.test_dimse_mpps import Modality, completed, in_progress

URL = "/api/v1/scheduled-steps/"


@pytest.fixture
def api(db):
    return his_client()


@pytest.fixture
def step(db):
    return ScheduledProcedureStepFactory(start=timezone.now().replace(microsecond=0))


def test_list_and_retrieve_steps(api, step):
    response = api.get(URL, {"order": step.requested_procedure.order_id})
    assert response.status_code == 200
    [row] = response.data["results"]
    assert row["sps_id"] == step.sps_id
    assert row["accession_number"] == step.requested_procedure.order.accession_number
    assert api.get(f"{URL}{step.pk}/").data["id"] == step.pk
    assert api.get(f"{URL}999999/").status_code == 404


def test_list_filters_by_station_modality_status_and_range(api, step):
    other = ScheduledProcedureStepFactory(start=step.start + timedelta(days=3))

    def ids(**params):
        return [row["id"] for row in api.get(URL, params).data["results"]]

    assert ids(station=step.scheduled_station_ae_title) == [step.pk]
    assert ids(modality="CT") == [step.pk, other.pk]
    assert ids(status="SCHEDULED", scheduled_from=(step.start + timedelta(days=1)).isoformat()) == [
        other.pk
    ]
    assert ids(status="CANCELED") == []


def test_reschedule_moves_the_step(api, step):
    """A new start, and a new station whose AE title, name and room the step takes."""
    StationFactory(ae_title="CT_NEW", name="NEW", location="Room 9")
    start = step.start + timedelta(days=1)
    response = api.post(
        f"{URL}{step.pk}/reschedule/",
        {"start": start.isoformat(), "station": "CT_NEW"},
        format="json",
    )
    assert response.status_code == 200, response.data
    step.refresh_from_db()
    assert step.start == start
    assert (step.scheduled_station_ae_title, step.scheduled_station_name, step.location) == (
        "CT_NEW",
        "NEW",
        "Room 9",
    )
    assert response.data["station"] == "CT_NEW"


def test_reschedule_refuses_bad_input(api, step):
    inactive = StationFactory(active=False)
    for body, field in [
        ({}, "start"),
        ({"start": "later"}, "start"),
        ({"start": step.start.isoformat(), "station": "NOSUCH"}, "station"),
        ({"start": step.start.isoformat(), "station": inactive.ae_title}, "station"),
        # Found by schemathesis: PostgreSQL refuses NUL in text (it was a 500).
        ({"start": step.start.isoformat(), "station": "CT\x001"}, "station"),
    ]:
        response = api.post(f"{URL}{step.pk}/reschedule/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.data


def test_reschedule_refuses_a_started_step_with_409(api, step):
    scheduled_steps_set_status(statuses={step: StepStatus.STARTED})
    response = api.post(
        f"{URL}{step.pk}/reschedule/", {"start": step.start.isoformat()}, format="json"
    )
    assert response.status_code == 409
    assert "has not started" in response.data["detail"]


def test_reschedule_unknown_step_is_404(api):
    response = api.post(f"{URL}999999/reschedule/", {"start": "2030-01-01T09:00Z"}, format="json")
    assert response.status_code == 404


def test_performed_steps_are_listed_with_their_scheduled_steps(api, step):
    performed = mpps_create(sop_instance_uid=None, attributes=in_progress(step))
    response = api.get("/api/v1/performed-steps/", {"order": step.requested_procedure.order_id})
    assert response.status_code == 200
    [row] = response.data["results"]
    assert row["sop_instance_uid"] == performed.sop_instance_uid
    assert row["status"] == "IN PROGRESS"
    assert row["scheduled_steps"] == [step.pk]
    assert "00100010" in row["dataset"]
    detail = api.get(f"/api/v1/performed-steps/{performed.pk}/")
    assert detail.data["id"] == performed.pk
    assert api.get("/api/v1/performed-steps/999999/").status_code == 404
    order = api.get(f"/api/v1/orders/{step.requested_procedure.order_id}/").data
    assert order["status"] == "IN_PROGRESS"
    [shown] = order["requested_procedures"][0]["scheduled_steps"][0]["performed_steps"]
    assert shown["sop_instance_uid"] == performed.sop_instance_uid


def test_an_order_booked_over_rest_goes_the_whole_way(dicom_service):
    """Booked over REST, it is in the worklist at once; the modality's MPPS then
    shows in the order's status over REST: STARTED, then COMPLETED."""
    api = his_client()
    station = StationFactory(ae_title="CT1")
    payload = order_payload(patient=PatientFactory(), code=ProcedureCodeFactory(), station=station)
    order = api.post("/api/v1/orders/", payload, format="json").data

    query = Dataset()
    query.AccessionNumber = order["accession_number"]
    query.ScheduledProcedureStepSequence = [Dataset()]
    query.ScheduledProcedureStepSequence[0].ScheduledStationAETitle = "CT1"
    query.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID = ""
    [item] = matches(mwl_find(dicom_service, query))
    sps_id = item.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID
    assert sps_id == order["requested_procedures"][0]["scheduled_steps"][0]["sps_id"]

    step = ScheduledProcedureStep.objects.get(sps_id=sps_id)
    modality = Modality(dicom_service)
    try:
        status, uid = modality.create(in_progress(step))
        assert status.Status == 0x0000
        assert api.get(f"/api/v1/orders/{order['id']}/").data["status"] == "IN_PROGRESS"
        assert modality.set(uid, completed()).Status == 0x0000
    finally:
        modality.release()
    final = api.get(f"/api/v1/orders/{order['id']}/").data
    assert final["status"] == "COMPLETED"
    step_row = final["requested_procedures"][0]["scheduled_steps"][0]
    assert step_row["status"] == "COMPLETED"
    assert step_row["performed_steps"][0]["status"] == "COMPLETED"
    assert api.post(f"/api/v1/orders/{order['id']}/cancel/").status_code == 409
