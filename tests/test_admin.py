"""A scheduler can work in the admin: find, filter, and book an order with its steps."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from ris.scheduling.models import Order, ScheduledProcedureStep
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    ProtocolCodeFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)

pytestmark = pytest.mark.django_db

STEPS_URL = "/admin/scheduling/scheduledprocedurestep/"


@pytest.fixture
def demo(client, admin_user):
    call_command("seed_demo", "--procedures", "80", "--days", "2", "--seed", "4", verbosity=0)
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        STEPS_URL,
        "/admin/scheduling/order/",
        "/admin/scheduling/order/add/",
        "/admin/scheduling/patient/",
        "/admin/scheduling/procedurecode/",
        "/admin/scheduling/station/",
        "/admin/scheduling/requestedprocedure/",
    ],
)
def test_admin_pages_open_with_demo_data(demo, url):
    assert demo.get(url).status_code == 200


def test_home_page_asks_for_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_order_page_shows_procedures_and_steps_inline(demo):
    order = Order.objects.first()
    step = ScheduledProcedureStep.objects.filter(requested_procedure__order=order).first()
    page = demo.get(f"/admin/scheduling/order/{order.pk}/change/").content.decode()
    assert order.requested_procedures.first().study_instance_uid in page
    assert step.sps_id in page


def test_steps_list_finds_a_patient_by_a_name_with_umlauts(client, admin_user):
    ScheduledProcedureStepFactory(
        requested_procedure__order__patient=PatientFactory(family_name="Größer", given_name="Björn")
    )
    ScheduledProcedureStepFactory(
        requested_procedure__order__patient=PatientFactory(family_name="Smith")
    )
    client.force_login(admin_user)
    response = client.get(STEPS_URL, {"q": "Größer"})
    assert response.context["cl"].result_count == 1
    assert "Björn Größer" in response.content.decode()


def test_steps_list_filters_by_day_modality_station_and_status(demo):
    today = timezone.localdate()
    step = ScheduledProcedureStep.objects.filter(start__date__gte=today).first()
    assert timezone.localdate(step.start) - today <= timedelta(days=1)  # the demo's 2 days
    day = timezone.localdate(step.start)
    response = demo.get(
        STEPS_URL,
        {
            "day": "today" if day == today else "tomorrow",
            "modality__exact": step.modality,
            "scheduled_station_ae_title__exact": step.scheduled_station_ae_title,
            "status__exact": step.status,
        },
    )
    shown = list(response.context["cl"].result_list)
    assert step in shown
    assert all(s.scheduled_station_ae_title == step.scheduled_station_ae_title for s in shown)
    assert all(timezone.localdate(s.start) == day for s in shown)


def test_steps_list_finds_by_accession_number(demo):
    order = Order.objects.last()
    response = demo.get(STEPS_URL, {"q": order.accession_number})
    shown = set(response.context["cl"].result_list)
    assert shown == set(ScheduledProcedureStep.objects.filter(requested_procedure__order=order))


def test_booking_an_order_with_a_procedure_and_a_step_in_the_admin(client, admin_user):
    """The nested form saves the order, its procedure and its step, filling the defaults."""
    patient = PatientFactory()
    code = ProcedureCodeFactory(default_duration=timedelta(minutes=30))
    protocol = ProtocolCodeFactory()
    code.default_protocol_codes.add(protocol)
    station = StationFactory(ae_title="CT_A")
    start = timezone.localtime() + timedelta(days=1)
    form = order_form(patient, code, station, start)
    client.force_login(admin_user)
    response = client.post("/admin/scheduling/order/add/", form)

    assert response.status_code == 302, response.context and response.context.get("errors")
    order = Order.objects.get(patient=patient)
    booked = ScheduledProcedureStep.objects.get(requested_procedure__order=order)
    assert order.accession_number
    assert booked.sps_id
    assert booked.scheduled_station_ae_title == "CT_A"
    assert booked.expected_duration == timedelta(minutes=30)
    assert booked.description == code.code_meaning
    assert list(booked.protocol_codes.all()) == [protocol]  # as order_create would


def test_the_admin_refuses_a_double_booking_too(client, admin_user):
    """The capacity rule holds on the admin's order page and step page as in
    the web UI and the REST API."""
    station = StationFactory(name="CT ONE")
    code = ProcedureCodeFactory(default_duration=timedelta(minutes=30))
    start = timezone.localtime().replace(second=0, microsecond=0) + timedelta(days=1)
    taken = ScheduledProcedureStepFactory(
        station=station, start=start, expected_duration=timedelta(minutes=30)
    )
    form = order_form(PatientFactory(), code, station, start + timedelta(minutes=10))
    client.force_login(admin_user)
    refused = client.post("/admin/scheduling/order/add/", form)
    assert refused.status_code == 200
    assert "CT ONE is already booked from" in refused.content.decode()
    assert ScheduledProcedureStep.objects.count() == 1

    other = ScheduledProcedureStepFactory(station=station, start=start + timedelta(hours=2))
    page = f"/admin/scheduling/scheduledprocedurestep/{other.pk}/change/"
    moved = client.post(
        page,
        {
            "requested_procedure": other.requested_procedure_id,
            "start_0": (start + timedelta(minutes=5)).strftime("%Y-%m-%d"),
            "start_1": (start + timedelta(minutes=5)).strftime("%H:%M:00"),
            "expected_duration": "00:20:00",
            "station": station.pk,
            "status": "SCHEDULED",
        },
    )
    assert moved.status_code == 200
    assert "CT ONE is already booked from" in moved.content.decode()
    other.refresh_from_db()
    assert other.start == start + timedelta(hours=2)
    assert taken.pk != other.pk


def order_form(patient, code, station, start) -> dict:
    """The admin's order page, filled in: one procedure with one step."""
    step = "requested_procedures-0-scheduled_steps-"
    return {
        "patient": patient.pk,
        "issuer_of_accession_number": "RIS",
        "priority": "ROUTINE",
        "status": "SCHEDULED",
        "requested_procedures-TOTAL_FORMS": "1",
        "requested_procedures-INITIAL_FORMS": "0",
        "requested_procedures-0-procedure_code": code.pk,
        "requested_procedures-0-priority": "ROUTINE",
        f"{step}TOTAL_FORMS": "1",
        f"{step}INITIAL_FORMS": "0",
        f"{step}0-start_0": start.strftime("%Y-%m-%d"),
        f"{step}0-start_1": start.strftime("%H:%M:00"),
        f"{step}0-station": station.pk,
        f"{step}0-status": "SCHEDULED",
    }
