"""The scheduler's screens through Django's test client: who may do what, the
board's content and its live refresh, booking, rescheduling, cancel, arrival."""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ris.scheduling.models import Order, Patient, ScheduledProcedureStep, StepStatus
from ris.scheduling.services import (
    ProcedureRequest,
    StepRequest,
    order_create,
    scheduled_steps_set_status,
)
from ris.web.models import usual_modality
from tests.factories import PatientFactory, ProcedureCodeFactory, StationFactory
from tests.web_helpers import PASSWORD

pytestmark = pytest.mark.django_db

BOARD = reverse("web:board")
DAY = timezone.localdate() + timedelta(days=2)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=timezone.get_default_timezone())


def book(station, start, code=None, patient=None):
    order = order_create(
        patient=patient or PatientFactory(),
        procedures=[
            ProcedureRequest(
                procedure_code=code or ProcedureCodeFactory(),
                steps=[StepRequest(start=start, station=station)],
            )
        ],
    )
    return order.requested_procedures.get().scheduled_steps.get()


def board_of(client, day=DAY, version=None, **params):
    headers = {"X-Board-Version": version} if version else {}
    return client.get(BOARD, {"date": f"{day:%Y-%m-%d}", **params}, headers=headers)


def test_every_screen_asks_for_login_first(client):
    step = book(StationFactory(), at(9))
    for url in [
        BOARD,
        reverse("web:book"),
        reverse("web:book_for", args=[step.requested_procedure.order.patient_id]),
        reverse("web:step_reschedule", args=[step.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login"))


def test_a_user_without_a_role_sees_nothing(client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    client.login(username="nobody", password=PASSWORD)
    assert client.get(BOARD).status_code == 403


def test_the_board_shows_each_station_with_its_steps_in_time_order(scheduler):
    ct = StationFactory(name="CT ONE")
    empty = StationFactory(name="CT TWO")
    later = book(ct, at(11), patient=PatientFactory(family_name="Zeller"))
    earlier = book(ct, at(9), patient=PatientFactory(family_name="Abbot"))
    book(ct, at(9) + timedelta(days=1), patient=PatientFactory(family_name="Tomorrow"))
    scheduled_steps_set_status(statuses={earlier: StepStatus.STARTED})

    page = board_of(scheduler).content.decode()
    assert page.index("ABBOT") < page.index("ZELLER")
    assert "TOMORROW" not in page
    assert empty.name in page
    assert "Nothing booked." in page
    assert f'id="step-{earlier.pk}" data-status="STARTED"' in page
    assert "In progress" in page
    assert f'id="step-{later.pk}" data-status="SCHEDULED"' in page


def test_steps_of_a_station_out_of_service_and_without_station_still_show(scheduler):
    retired = StationFactory(name="OLD CT")
    book(retired, at(9), patient=PatientFactory(family_name="Kept"))
    retired.active = False
    retired.save()
    unassigned = book(None, at(10), patient=PatientFactory(family_name="Nowhere"))
    page = board_of(scheduler).content.decode()
    assert "OLD CT" in page
    assert "out of service" in page
    assert "KEPT" in page
    assert "No station" in page
    assert f"step-{unassigned.pk}" in page


def test_the_modality_chosen_is_remembered_as_the_usual_one(scheduler):
    StationFactory(name="MR ONE", modality="MR")
    StationFactory(name="CT ONE")
    page = board_of(scheduler, modality="MR").content.decode()
    assert "MR ONE" in page
    assert "CT ONE" not in page
    assert usual_modality(_user("scheduler")) == "MR"
    assert "CT ONE" not in board_of(scheduler).content.decode()  # the default now
    assert "CT ONE" in board_of(scheduler, modality="").content.decode()


def _user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def test_the_live_refresh_answers_204_until_something_changes(scheduler):
    station = StationFactory()
    step = book(station, at(9))
    first = board_of(scheduler, version="none")
    version = first["X-Board-Version"]
    assert first.status_code == 200
    assert f"step-{step.pk}" in first.content.decode()
    assert "<html" not in first.content.decode()  # the fragment only

    unchanged = board_of(scheduler, version=version)
    assert unchanged.status_code == 204

    scheduled_steps_set_status(statuses={step: StepStatus.STARTED})
    changed = board_of(scheduler, version=version)
    assert changed.status_code == 200
    assert changed["X-Board-Version"] != version
    assert 'data-status="STARTED"' in changed.content.decode()


def booking_form(station, codes, hour="09:00", **fields):
    return {
        "procedures": [code.pk for code in codes],
        "station": station.pk,
        "day": f"{DAY:%Y-%m-%d}",
        "start_time": hour,
        "priority": "ROUTINE",
        **fields,
    }


def test_booking_several_procedures_puts_them_one_after_the_other(scheduler):
    station = StationFactory()
    head = ProcedureCodeFactory(code_meaning="A head", default_duration=timedelta(minutes=15))
    chest = ProcedureCodeFactory(code_meaning="B chest", default_duration=timedelta(minutes=20))
    patient = PatientFactory()
    response = scheduler.post(
        reverse("web:book_for", args=[patient.pk]),
        booking_form(station, [chest, head], referring_physician_name="Weber^Thomas"),
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url.startswith(f"{BOARD}?date={DAY:%Y-%m-%d}#step-")
    starts = list(
        ScheduledProcedureStep.objects.order_by("start").values_list("description", "start")
    )
    assert starts == [("A head", at(9)), ("B chest", at(9, 15))]
    assert order.referring_physician_name == "Weber^Thomas"
    message = scheduler.get(response.url).content.decode()
    assert f"accession number {order.accession_number}" in message
    for procedure in order.requested_procedures.all():
        assert procedure.study_instance_uid in message


def test_a_double_booking_is_refused_with_the_slot_it_collides_with(scheduler):
    station = StationFactory(name="CT ONE")
    code = ProcedureCodeFactory()
    taken = book(station, at(9), code=code)
    response = scheduler.post(
        reverse("web:book_for", args=[PatientFactory().pk]),
        booking_form(station, [code], hour="09:10"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "CT ONE is already booked from 09:00 to 09:20" in page
    assert taken.requested_procedure.order.accession_number in page
    assert ScheduledProcedureStep.objects.count() == 1


def test_a_procedure_of_another_modality_than_the_station_is_refused(scheduler):
    mr = StationFactory(name="MR ONE", modality="MR")
    response = scheduler.post(
        reverse("web:book_for", args=[PatientFactory().pk]),
        booking_form(mr, [ProcedureCodeFactory(code_meaning="CT head")]),
    )
    assert "CT head is a CT procedure; MR ONE is a MR station." in response.content.decode()
    assert not Order.objects.exists()


def test_a_new_patient_gets_an_id_from_the_ris_and_booking_goes_on(scheduler):
    response = scheduler.post(
        reverse("web:patient_new"),
        {"family_name": "Nakamura", "given_name": "Yui", "birth_date": "1990-04-01", "sex": "F"},
    )
    patient = Patient.objects.get()
    assert patient.patient_id.startswith("PID")
    assert response.url == reverse("web:book_for", args=[patient.pk])


def test_patients_are_found_by_name_prefix_and_by_id(scheduler):
    PatientFactory(family_name="Lindqvist", patient_id="P-4711")
    PatientFactory(family_name="Lind", patient_id="P-1")
    by_name = scheduler.get(reverse("web:book"), {"q": "lindq"}).content.decode()
    assert "LINDQVIST" in by_name
    assert "P-1<" not in by_name
    by_id = scheduler.get(reverse("web:book"), {"q": "P-1"}).content.decode()
    assert "LIND," in by_id
    assert "LINDQVIST" not in by_id


def test_reschedule_into_a_taken_slot_is_refused_and_a_free_one_moves_it(scheduler):
    station = StationFactory(name="CT ONE")
    book(station, at(9))
    step = book(station, at(10))
    url = reverse("web:step_reschedule", args=[step.pk])
    slot = {"station": station.pk, "day": f"{DAY:%Y-%m-%d}"}
    refused = scheduler.post(url, {**slot, "start_time": "09:05"})
    assert "already booked from 09:00" in refused.content.decode()
    moved = scheduler.post(url, {**slot, "start_time": "11:00"})
    assert moved.status_code == 302
    step.refresh_from_db()
    assert step.start == at(11)


def test_the_technologist_may_mark_arrived_but_not_cancel_or_book(technologist):
    step = book(StationFactory(), at(9))
    assert technologist.post(reverse("web:step_cancel", args=[step.pk])).status_code == 403
    assert technologist.get(reverse("web:book")).status_code == 403
    response = technologist.post(
        reverse("web:step_arrive", args=[step.pk]), {"next": f"?date={DAY:%Y-%m-%d}"}
    )
    assert response.url == f"{BOARD}?date={DAY:%Y-%m-%d}#step-{step.pk}"
    step.refresh_from_db()
    assert step.status == StepStatus.ARRIVED


def test_cancel_of_a_step_under_way_is_refused_with_a_message(scheduler):
    step = book(StationFactory(), at(9))
    scheduled_steps_set_status(statuses={step: StepStatus.STARTED})
    response = scheduler.post(reverse("web:step_cancel", args=[step.pk]), follow=True)
    assert "only a step that has not started can be canceled" in response.content.decode()
    step.refresh_from_db()
    assert step.status == StepStatus.STARTED


def test_actions_are_post_only_and_go_back_only_to_the_board(scheduler):
    step = book(StationFactory(), at(9))
    assert scheduler.get(reverse("web:step_cancel", args=[step.pk])).status_code == 405
    response = scheduler.post(
        reverse("web:step_cancel", args=[step.pk]), {"next": "https://elsewhere.example/"}
    )
    assert response.url == f"{BOARD}?date={DAY:%Y-%m-%d}#step-{step.pk}"


def test_dates_out_of_range_fall_back_or_are_refused_not_a_500(scheduler):
    assert board_of(scheduler, day=datetime(9999, 12, 31).date()).status_code == 200
    assert scheduler.get(BOARD, {"date": "0001-01-01"}).status_code == 200
    assert scheduler.get(BOARD, {"date": "not-a-date"}).status_code == 200
    station = StationFactory()
    form = {**booking_form(station, [ProcedureCodeFactory()], hour="23:50"), "day": "9999-12-31"}
    response = scheduler.post(reverse("web:book_for", args=[PatientFactory().pk]), form)
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to" in response.content.decode()
    assert not Order.objects.exists()


def test_a_time_the_clocks_skip_is_refused(scheduler, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # 2027-03-28: 02:00 becomes 03:00
    station = StationFactory()
    form = {**booking_form(station, [ProcedureCodeFactory()], hour="02:30"), "day": "2027-03-28"}
    response = scheduler.post(reverse("web:book_for", args=[PatientFactory().pk]), form)
    assert "There is no such time on that day" in response.content.decode()
    assert not Order.objects.exists()


def test_a_patients_page_lists_coming_then_earlier_exams(scheduler):
    patient = PatientFactory(family_name="Lindqvist")
    station = StationFactory(name="CT ONE")
    coming = book(station, at(9), patient=patient)
    earlier = book(station, timezone.now() - timedelta(days=3), patient=patient)
    book(station, at(10))  # someone else's
    board = board_of(scheduler).content.decode()
    assert reverse("web:patient", args=[patient.pk]) in board

    page = scheduler.get(reverse("web:patient", args=[patient.pk])).content.decode()
    assert page.index("Coming exams") < page.index(f"#step-{coming.pk}")
    assert page.index("Earlier exams") < page.index(f"#step-{earlier.pk}")
    assert page.count("#step-") == 2
    assert reverse("web:step_reschedule", args=[coming.pk]) in page


def test_a_patients_page_needs_a_role(client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    client.login(username="nobody", password=PASSWORD)
    assert client.get(reverse("web:patient", args=[PatientFactory().pk])).status_code == 403
