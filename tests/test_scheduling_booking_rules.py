"""A station's capacity (no double booking), and the changes a scheduler makes
to one step: cancel it, mark its patient arrived."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone

from ris.scheduling.models import OrderStatus, StepStatus
from ris.scheduling.services import (
    ProcedureRequest,
    SchedulingConflict,
    StepRequest,
    order_create,
    scheduled_step_cancel,
    scheduled_step_mark_arrived,
    scheduled_step_reschedule,
    scheduled_steps_set_status,
)
from tests.factories import PatientFactory, ProcedureCodeFactory, StationFactory

pytestmark = pytest.mark.django_db

NINE = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)


def book(station, start, minutes=20, **step_fields):
    code = ProcedureCodeFactory(default_duration=timedelta(minutes=minutes))
    order = order_create(
        patient=PatientFactory(),
        procedures=[
            ProcedureRequest(
                procedure_code=code,
                steps=[StepRequest(start=start, station=station, **step_fields)],
            )
        ],
    )
    return order.requested_procedures.get().scheduled_steps.get()


def test_an_overlapping_booking_is_refused_naming_the_slot_taken():
    station = StationFactory(name="CT_ROOM_1")
    first = book(station, NINE)
    with pytest.raises(SchedulingConflict) as refused:
        book(station, NINE + timedelta(minutes=10))
    local = timezone.localtime(NINE)
    assert f"CT_ROOM_1 is already booked from {local:%H:%M} to " in str(refused.value)
    assert first.requested_procedure.order.accession_number in str(refused.value)
    assert station.scheduled_steps.count() == 1


def test_back_to_back_bookings_and_other_stations_are_free():
    station = StationFactory()
    book(station, NINE, minutes=20)
    book(station, NINE + timedelta(minutes=20))
    book(station, NINE - timedelta(minutes=20))
    book(StationFactory(), NINE)
    assert station.scheduled_steps.count() == 3


def test_capacity_two_takes_two_at_once_and_zero_has_no_limit():
    pair = StationFactory(capacity=2)
    book(pair, NINE)
    book(pair, NINE)
    with pytest.raises(SchedulingConflict):
        book(pair, NINE + timedelta(minutes=5))

    walk_in = StationFactory(capacity=0)
    for _ in range(5):
        book(walk_in, NINE)


def test_capacity_counts_the_steps_under_way_together_not_all_that_touch_the_slot():
    pair = StationFactory(capacity=2)
    book(pair, NINE, minutes=30)
    book(pair, NINE + timedelta(minutes=30), minutes=30)
    book(pair, NINE, minutes=60)  # never more than two at once
    with pytest.raises(SchedulingConflict, match="already booked from"):
        book(pair, NINE + timedelta(minutes=40), minutes=5)


def test_a_canceled_or_discontinued_step_frees_its_slot():
    station = StationFactory()
    scheduled_step_cancel(step=book(station, NINE))
    discontinued = book(station, NINE)
    scheduled_steps_set_status(statuses={discontinued: StepStatus.DISCONTINUED})
    book(station, NINE)


def test_a_reschedule_into_a_taken_slot_is_refused_and_changes_nothing():
    station = StationFactory()
    book(station, NINE)
    step = book(station, NINE + timedelta(hours=1))
    with pytest.raises(SchedulingConflict):
        scheduled_step_reschedule(step=step, start=NINE + timedelta(minutes=15))
    step.refresh_from_db()
    assert step.start == NINE + timedelta(hours=1)


def test_a_step_may_move_within_its_own_slot_and_to_a_free_station():
    station = StationFactory()
    step = book(station, NINE)
    moved = scheduled_step_reschedule(step=step, start=NINE + timedelta(minutes=5))
    assert moved.start == NINE + timedelta(minutes=5)
    busy_elsewhere = StationFactory()
    book(busy_elsewhere, NINE)
    with pytest.raises(SchedulingConflict):
        scheduled_step_reschedule(step=step, start=NINE, station=busy_elsewhere)


def test_a_step_is_not_moved_to_a_station_of_another_modality():
    step = book(StationFactory(), NINE)
    with pytest.raises(ValidationError, match="is a MR station; the step is CT"):
        scheduled_step_reschedule(step=step, start=NINE, station=StationFactory(modality="MR"))


def test_a_procedure_is_not_booked_on_a_station_of_another_modality():
    mr_station = StationFactory(modality="MR")
    with pytest.raises(ValidationError, match=r"is a CT procedure; .* is a MR station"):
        book(mr_station, NINE)
    ct_station = StationFactory(modality="CT")
    with pytest.raises(ValidationError, match="is a CT station; the step is MR"):
        book(ct_station, NINE, modality="MR")
    assert not mr_station.scheduled_steps.exists()
    assert not ct_station.scheduled_steps.exists()


def test_an_import_keeps_the_modalities_of_the_schedule_it_mirrors():
    step = book(StationFactory(modality="MR"), NINE, modality="CT", imported=True)
    assert step.modality == "CT"


def test_an_import_keeps_the_overlaps_of_the_schedule_it_mirrors():
    station = StationFactory()
    book(station, NINE)
    book(station, NINE, imported=True)
    assert station.scheduled_steps.count() == 2


def test_cancel_one_step_frees_it_and_the_order_follows():
    step = book(StationFactory(), NINE)
    scheduled_step_cancel(step=step)
    step.refresh_from_db()
    assert step.status == StepStatus.CANCELED
    assert step.requested_procedure.order.status == OrderStatus.CANCELED


def test_a_started_step_cannot_be_canceled_or_marked_arrived():
    step = book(StationFactory(), NINE)
    scheduled_steps_set_status(statuses={step: StepStatus.STARTED})
    for change in (scheduled_step_cancel, scheduled_step_mark_arrived):
        with pytest.raises(SchedulingConflict, match="only a step that has not started"):
            change(step=step)
    step.refresh_from_db()
    assert step.status == StepStatus.STARTED


def test_mark_arrived_once_and_again_changes_nothing_more():
    step = book(StationFactory(), NINE)
    scheduled_step_mark_arrived(step=step)
    step.refresh_from_db()
    assert step.status == StepStatus.ARRIVED
    scheduled_step_mark_arrived(step=step)
    step.refresh_from_db()
    assert step.status == StepStatus.ARRIVED
    assert step.requested_procedure.order.status == OrderStatus.SCHEDULED


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_one_slot_at_once_one_wins():
    """The station's row lock makes the second booking see the first."""
    station = StationFactory()
    code = ProcedureCodeFactory()
    patients = [PatientFactory(), PatientFactory()]
    start_together = threading.Barrier(2)
    outcomes = []

    def book_at_once(patient):
        try:
            start_together.wait()
            order_create(
                patient=patient,
                procedures=[
                    ProcedureRequest(
                        procedure_code=code, steps=[StepRequest(start=NINE, station=station)]
                    )
                ],
            )
            outcomes.append("booked")
        except SchedulingConflict:
            outcomes.append("refused")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=book_at_once, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "refused"]
    assert station.scheduled_steps.count() == 1
