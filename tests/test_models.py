"""The scheduling model's rules: identity, uniqueness, ownership and defaults."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ris.scheduling.models import Order, ScheduledProcedureStep, StepStatus
from ris.scheduling.models.orders import FILLED_IN
from tests.factories import (
    OrderFactory,
    PatientFactory,
    ProcedureCodeFactory,
    RequestedProcedureFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)

pytestmark = pytest.mark.django_db


def test_accession_number_is_unique_within_its_issuer():
    """Two orders of one issuer cannot share an accession number."""
    OrderFactory(accession_number="ACC1", issuer_of_accession_number="HOSP_A")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(accession_number="ACC1", issuer_of_accession_number="HOSP_A")


def test_same_accession_number_may_exist_under_another_issuer():
    """Accession numbers are unique per issuer, not worldwide."""
    OrderFactory(accession_number="ACC1", issuer_of_accession_number="HOSP_A")
    OrderFactory(accession_number="ACC1", issuer_of_accession_number="HOSP_B")
    assert Order.objects.filter(accession_number="ACC1").count() == 2


def test_accession_number_is_assigned_when_left_empty(settings):
    """The RIS assigns accession numbers from one sequence: never twice the same."""
    settings.RIS_ACCESSION_PREFIX = "XR"
    first, second = OrderFactory(), OrderFactory()
    assert first.accession_number.startswith("XR")
    assert first.accession_number != second.accession_number
    assert len(first.accession_number) <= 16
    assert first.issuer_of_accession_number == settings.RIS_ACCESSION_ISSUER


def test_assigned_accession_numbers_skip_numbers_already_in_use(settings):
    """An imported order may hold a number the RIS's sequence has not reached yet."""
    settings.RIS_ACCESSION_PREFIX = "A"
    first = OrderFactory()
    following = f"A{int(first.accession_number[1:]) + 1:08d}"
    OrderFactory(accession_number=following)  # as an import would file it
    assert OrderFactory().accession_number not in (first.accession_number, following)


def test_placer_order_number_is_unique_within_its_placer():
    OrderFactory(placer_order_number="PO-1", placer_issuer="HIS")
    OrderFactory(placer_order_number="PO-1", placer_issuer="OTHER_HIS")
    OrderFactory(placer_order_number="", placer_issuer="HIS")
    OrderFactory(placer_order_number="", placer_issuer="HIS")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(placer_order_number="PO-1", placer_issuer="HIS")


def test_patient_id_is_unique_within_its_issuer():
    PatientFactory(patient_id="123", issuer_of_patient_id="A")
    PatientFactory(patient_id="123", issuer_of_patient_id="B")
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(patient_id="123", issuer_of_patient_id="A")


def test_a_step_belongs_to_exactly_one_requested_procedure():
    """A step cannot exist without its requested procedure, and has only one."""
    step = ScheduledProcedureStepFactory()
    assert step.requested_procedure.scheduled_steps.get() == step
    orphan = ScheduledProcedureStep(
        sps_id="SPS1", modality="CT", start=timezone.now(), expected_duration=timedelta(1)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduledProcedureStep.objects.bulk_create([orphan])  # past save(), to the database


def test_steps_go_with_their_procedure_and_order():
    """Deleting an order deletes its procedures and steps: nothing is left orphaned."""
    step = ScheduledProcedureStepFactory()
    step.requested_procedure.order.delete()
    assert not ScheduledProcedureStep.objects.filter(pk=step.pk).exists()


def test_sps_id_is_unique_within_its_requested_procedure():
    procedure = RequestedProcedureFactory()
    ScheduledProcedureStepFactory(requested_procedure=procedure, sps_id="S1")
    ScheduledProcedureStepFactory(sps_id="S1")  # another procedure: allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduledProcedureStepFactory(requested_procedure=procedure, sps_id="S1")


def test_step_takes_what_was_left_empty_from_station_and_procedure():
    """Station AE title, name and room; modality, duration and description."""
    code = ProcedureCodeFactory(
        code_meaning="CT head", default_modality="CT", default_duration=timedelta(minutes=25)
    )
    station = StationFactory(ae_title="CT_ROOM_3", name="CT3", location="Room 103")
    step = ScheduledProcedureStepFactory(
        requested_procedure=RequestedProcedureFactory(procedure_code=code), station=station
    )
    step.refresh_from_db()
    assert step.scheduled_station_ae_title == "CT_ROOM_3"
    assert step.scheduled_station_name == "CT3"
    assert step.location == "Room 103"
    assert step.modality == "CT"
    assert step.expected_duration == timedelta(minutes=25)
    assert step.description == "CT head"
    assert step.requested_procedure.description == "CT head"
    assert step.status == StepStatus.SCHEDULED
    assert step.sps_id
    assert step.requested_procedure.requested_procedure_id
    assert step.end == step.start + timedelta(minutes=25)


def test_step_keeps_its_booked_station_values_when_the_station_is_renamed():
    step = ScheduledProcedureStepFactory(station=StationFactory(ae_title="OLD_AE"))
    step.station.ae_title = "NEW_AE"
    step.station.save()
    step.refresh_from_db()
    assert step.scheduled_station_ae_title == "OLD_AE"


def test_a_status_change_writes_the_status_without_reading_the_station(
    django_assert_num_queries,
):
    """A save of some fields only (what MPPS does to a step's status) fills
    in nothing, so it does not read the station or procedure code to do so:
    one UPDATE."""
    step = ScheduledProcedureStep.objects.get(pk=ScheduledProcedureStepFactory().pk)
    step.status = StepStatus.STARTED
    with django_assert_num_queries(1):
        step.save(update_fields=["status", "updated_at"])
    step.refresh_from_db()
    assert step.status == StepStatus.STARTED
    step.description = ""
    step.save(update_fields=["description"])  # a field it fills in: filled in again
    step.refresh_from_db()
    assert step.description == step.requested_procedure.description


def test_filled_in_names_every_field_fill_defaults_fills():
    """A save of some fields skips fill_defaults unless one of FILLED_IN is
    among them: a field it fills that FILLED_IN leaves out would go stale."""
    step = ScheduledProcedureStep(
        requested_procedure=RequestedProcedureFactory(),
        station=StationFactory(location="Room 7"),
        start=timezone.now(),
    )
    before = {field.attname: getattr(step, field.attname) for field in step._meta.concrete_fields}
    step.fill_defaults()
    filled = {name for name, value in before.items() if getattr(step, name) != value}
    assert filled
    assert filled <= FILLED_IN


def test_a_step_cannot_have_a_zero_duration():
    step = ScheduledProcedureStepFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduledProcedureStep.objects.filter(pk=step.pk).update(expected_duration=timedelta(0))
