"""/api/v1/orders/: book in one request, idempotently; change; cancel; list and filter."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from ris.scheduling.models import (
    Order,
    OrderStatus,
    RequestedProcedure,
    ScheduledProcedureStep,
    StepStatus,
)
from ris.scheduling.services import scheduled_steps_set_status
from tests.api_helpers import his_client, order_payload
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


@pytest.fixture
def api():
    return his_client()


@pytest.fixture
def payload():
    return order_payload(
        patient=PatientFactory(), code=ProcedureCodeFactory(), station=StationFactory()
    )


def test_create_books_the_order_procedures_and_steps(api, payload):
    """201 with every identifier the RIS assigned, and the step from the station."""
    response = api.post(URL, payload, format="json")

    assert response.status_code == 201, response.data
    order = response.data
    assert order["accession_number"]
    assert order["status"] == "SCHEDULED"
    [procedure] = order["requested_procedures"]
    assert procedure["study_instance_uid"]
    [step] = procedure["scheduled_steps"]
    assert step["sps_id"]
    assert step["station"] == payload["requested_procedures"][0]["scheduled_steps"][0]["station"]
    assert step["modality"] == "CT"
    assert step["expected_duration_minutes"] == 20
    assert step["status"] == "SCHEDULED"


def test_create_takes_several_procedures_and_steps(api, payload):
    procedure = payload["requested_procedures"][0]
    first_start = datetime.fromisoformat(procedure["scheduled_steps"][0]["start"])
    procedure["scheduled_steps"].append(
        {
            **procedure["scheduled_steps"][0],
            "expected_duration_minutes": 45,
            "start": _later(first_start, 1),
        }
    )
    payload["requested_procedures"].append(
        {
            **procedure,
            "scheduled_steps": [
                {**step, "start": _later(first_start, 2 + index)}
                for index, step in enumerate(procedure["scheduled_steps"])
            ],
        }
    )
    response = api.post(URL, payload, format="json")
    assert response.status_code == 201, response.data
    assert ScheduledProcedureStep.objects.count() == 4
    assert RequestedProcedure.objects.count() == 2


def test_create_repeated_gives_the_first_order_with_200(api, payload):
    """A retried request (same placer order number and content) books nothing new."""
    first = api.post(URL, payload, format="json")
    again = api.post(URL, payload, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]
    assert again.data["accession_number"] == first.data["accession_number"]
    assert Order.objects.count() == 1
    assert ScheduledProcedureStep.objects.count() == 1


def test_create_same_number_other_content_is_409(api, payload):
    """The same placer order number for another request is a conflict, not a second order."""
    api.post(URL, payload, format="json")
    other = {**payload, "patient": PatientFactory().pk}
    response = api.post(URL, other, format="json")
    assert response.status_code == 409
    assert "placer order number" in response.data["detail"]
    assert Order.objects.count() == 1


def test_create_same_number_other_placer_is_another_order(api, payload):
    api.post(URL, payload, format="json")
    [procedure] = payload["requested_procedures"]
    [step] = procedure["scheduled_steps"]
    other_slot = {**step, "start": _later(datetime.fromisoformat(step["start"]), 1)}
    other = {**payload, "requested_procedures": [{**procedure, "scheduled_steps": [other_slot]}]}
    response = api.post(URL, {**other, "placer_issuer": "OTHER"}, format="json")
    assert response.status_code == 201
    assert Order.objects.count() == 2


def _later(start: datetime, hours: int) -> str:
    return (start + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patient": 999999}, "patient"),
        ({"priority": "SOON"}, "priority"),
        ({"requested_procedures": []}, "requested_procedures"),
        ({"referring_physician_name": "a^b^c^d^e^f"}, "referring_physician_name"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, payload, change, field):
    response = api.post(URL, {**payload, **change}, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("step_change", "field"),
    [
        ({"station": "NOSUCH"}, "station"),
        ({"start": "tomorrow"}, "start"),
        ({"expected_duration_minutes": 0}, "expected_duration_minutes"),
    ],
)
def test_create_refuses_a_bad_step_with_its_path(api, payload, step_change, field):
    """A bad step is named where it is: requested_procedures[0].scheduled_steps[0].<field>."""
    payload["requested_procedures"][0]["scheduled_steps"][0].update(step_change)
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.data["requested_procedures"][0]["scheduled_steps"][0]
    assert not Order.objects.exists()


def test_create_refuses_an_unknown_or_inactive_procedure_code(api, payload):
    code = payload["requested_procedures"][0]["procedure_code"]
    code["code_value"] = "NOSUCH"
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "procedure_code" in response.data["requested_procedures"][0]

    code["code_value"] = ProcedureCodeFactory(active=False).code_value
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "no longer offered" in str(response.data)


def test_create_writes_nothing_when_the_second_step_is_refused(api, payload):
    """An inactive station in the second procedure leaves no order, procedure or step."""
    second = {**payload["requested_procedures"][0]}
    second["scheduled_steps"] = [
        {**second["scheduled_steps"][0], "station": StationFactory(active=False).ae_title}
    ]
    payload["requested_procedures"].append(second)
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "not in service" in str(response.data)
    assert not Order.objects.exists()
    assert not ScheduledProcedureStep.objects.exists()


def test_create_refuses_a_procedure_on_a_station_of_another_modality(api):
    """A CT procedure on an MR station would put a CT item on the MR's worklist."""
    payload = order_payload(
        patient=PatientFactory(),
        code=ProcedureCodeFactory(code_meaning="CT head"),
        station=StationFactory(name="MR ONE", modality="MR"),
    )
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "CT head is a CT procedure; MR ONE is a MR station." in str(response.data)
    assert not Order.objects.exists()


def test_create_with_a_taken_accession_number_is_409(api, payload):
    api.post(URL, {**payload, "accession_number": "A1"}, format="json")
    response = api.post(
        URL, {**payload, "placer_order_number": "PO-2", "accession_number": "A1"}, format="json"
    )
    assert response.status_code == 409
    assert Order.objects.count() == 1


def test_create_refuses_a_body_that_is_not_an_object(api):
    response = api.post(URL, [1, 2], format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.data


def test_retrieve_gives_status_and_timestamps(api, payload):
    order_id = api.post(URL, payload, format="json").data["id"]
    response = api.get(f"{URL}{order_id}/")
    assert response.status_code == 200
    assert {"status", "created_at", "updated_at"} <= set(response.data)
    step = response.data["requested_procedures"][0]["scheduled_steps"][0]
    assert {"status", "created_at", "updated_at", "performed_steps"} <= set(step)


def test_retrieve_unknown_is_404(api):
    assert api.get(f"{URL}999999/").status_code == 404


def test_partial_update_changes_request_details(api, payload):
    order_id = api.post(URL, payload, format="json").data["id"]
    response = api.patch(
        f"{URL}{order_id}/", {"comments": "Claustrophobic.", "priority": "STAT"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert (response.data["comments"], response.data["priority"]) == ("Claustrophobic.", "STAT")


def test_partial_update_refuses_a_bad_value(api, payload):
    order_id = api.post(URL, payload, format="json").data["id"]
    response = api.patch(f"{URL}{order_id}/", {"priority": "NOW"}, format="json")
    assert response.status_code == 400
    assert "priority" in response.data


def test_partial_update_ignores_fields_that_cannot_change(api, payload):
    """The status is the RIS's: a PATCH of it changes nothing."""
    order_id = api.post(URL, payload, format="json").data["id"]
    response = api.patch(f"{URL}{order_id}/", {"status": "COMPLETED"}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "SCHEDULED"


def test_put_and_delete_are_not_offered(api, payload):
    order_id = api.post(URL, payload, format="json").data["id"]
    assert api.put(f"{URL}{order_id}/", payload, format="json").status_code == 405
    assert api.delete(f"{URL}{order_id}/").status_code == 405


def test_cancel_cancels_the_steps_and_the_order(api, payload):
    """Every step becomes CANCELED (leaving the worklist), and the order follows."""
    order_id = api.post(URL, payload, format="json").data["id"]
    response = api.post(f"{URL}{order_id}/cancel/")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "CANCELED"
    assert set(ScheduledProcedureStep.objects.values_list("status", flat=True)) == {"CANCELED"}
    assert api.post(f"{URL}{order_id}/cancel/").status_code == 200


def test_cancel_refuses_an_order_under_way(api, payload):
    order_id = api.post(URL, payload, format="json").data["id"]
    step = ScheduledProcedureStep.objects.get()
    scheduled_steps_set_status(statuses={step: StepStatus.STARTED})
    response = api.post(f"{URL}{order_id}/cancel/")
    assert response.status_code == 409
    assert Order.objects.get().status == OrderStatus.IN_PROGRESS


def test_cancel_unknown_is_404(api):
    assert api.post(f"{URL}999999/cancel/").status_code == 404


def test_list_filters(api):
    """By patient, accession, status, modality, station and start range."""
    now = timezone.now()
    ct = ScheduledProcedureStepFactory(start=now, station=StationFactory(ae_title="CT_A"))
    mr = ScheduledProcedureStepFactory(
        start=now + timedelta(days=2), modality="MR", station=StationFactory(ae_title="MR_A")
    )
    ct_order, mr_order = ct.requested_procedure.order, mr.requested_procedure.order
    Order.objects.filter(pk=mr_order.pk).update(status=OrderStatus.CANCELED)

    def ids(**params):
        response = api.get(URL, params)
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids(patient=ct_order.patient_id) == [ct_order.pk]
    assert ids(patient_id=mr_order.patient.patient_id) == [mr_order.pk]
    assert ids(accession_number=ct_order.accession_number) == [ct_order.pk]
    assert ids(status="CANCELED") == [mr_order.pk]
    assert sorted(ids(status=["CANCELED", "SCHEDULED"])) == sorted([ct_order.pk, mr_order.pk])
    assert ids(modality="MR") == [mr_order.pk]
    assert ids(station="CT_A") == [ct_order.pk]
    assert ids(station="CT_A", modality="MR") == []
    assert ids(scheduled_from=(now + timedelta(days=1)).isoformat()) == [mr_order.pk]
    assert ids(scheduled_to=(now + timedelta(days=1)).isoformat()) == [ct_order.pk]


def test_list_refuses_a_bad_filter_value(api):
    response = api.get(URL, {"status": "DONE", "scheduled_from": "soon"})
    assert response.status_code == 400
    assert {"status", "scheduled_from"} <= set(response.data)


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/orders/", "patient"),
        ("/api/v1/scheduled-steps/", "order"),
        ("/api/v1/performed-steps/", "order"),
    ],
)
@pytest.mark.parametrize("value", ["-3.6822756301989874e+57", str(2**63), "1.5", "many"])
def test_an_id_filter_that_no_row_could_have_is_a_bad_request(api, path, parameter, value):
    """Found by schemathesis: an id beyond 64 bits reached SQLite, which failed (500)."""
    response = api.get(path, {parameter: value})
    assert response.status_code == 400, response.content
