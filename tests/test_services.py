"""Booking an order through the service: all of it, or nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ris.scheduling.models import Order, Patient, RequestedProcedure, ScheduledProcedureStep
from ris.scheduling.services import ProcedureRequest, StepRequest, order_create, patient_create
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    ProtocolCodeFactory,
    StationFactory,
)

pytestmark = pytest.mark.django_db


def test_order_create_books_procedures_and_steps():
    """One call makes the order, its procedures and steps, with every identifier."""
    protocol = ProtocolCodeFactory()
    code = ProcedureCodeFactory()
    code.default_protocol_codes.add(protocol)
    start = timezone.now() + timedelta(hours=2)

    order = order_create(
        patient=PatientFactory(),
        referring_physician_name="Weber^Thomas^^Dr.",
        procedures=[
            ProcedureRequest(
                procedure_code=code,
                steps=[StepRequest(start=start, station=StationFactory())],
            ),
            ProcedureRequest(
                procedure_code=ProcedureCodeFactory(),
                steps=[StepRequest(start=start + timedelta(hours=1), station=StationFactory())],
            ),
        ],
    )

    assert order.accession_number
    procedures = order.requested_procedures.all()
    assert len(procedures) == 2
    first_step = procedures.get(procedure_code=code).scheduled_steps.get()
    assert first_step.start == start
    assert list(first_step.protocol_codes.all()) == [protocol]
    assert ScheduledProcedureStep.objects.filter(requested_procedure__order=order).count() == 2


def test_order_create_writes_nothing_when_a_step_is_refused():
    """An inactive station halfway through leaves no order, procedure or step behind."""
    start = timezone.now()
    with pytest.raises(ValidationError, match="not in service"):
        order_create(
            patient=PatientFactory(),
            procedures=[
                ProcedureRequest(
                    procedure_code=ProcedureCodeFactory(),
                    steps=[StepRequest(start=start, station=StationFactory())],
                ),
                ProcedureRequest(
                    procedure_code=ProcedureCodeFactory(),
                    steps=[StepRequest(start=start, station=StationFactory(active=False))],
                ),
            ],
        )
    assert not Order.objects.exists()
    assert not RequestedProcedure.objects.exists()
    assert not ScheduledProcedureStep.objects.exists()


def test_order_create_refuses_an_order_without_procedures():
    with pytest.raises(ValidationError, match="at least one requested procedure"):
        order_create(patient=PatientFactory(), procedures=[])


def test_order_create_refuses_a_bad_value_with_the_field_named():
    """A physician's name with too many components is caught before anything is written."""
    with pytest.raises(ValidationError) as error:
        order_create(
            patient=PatientFactory(),
            referring_physician_name="A^B^C^D^E^F",
            procedures=[
                ProcedureRequest(
                    procedure_code=ProcedureCodeFactory(),
                    steps=[StepRequest(start=timezone.now())],
                )
            ],
        )
    assert "referring_physician_name" in error.value.message_dict
    assert not Order.objects.exists()


def test_order_create_refuses_a_duplicate_accession_number():
    code = ProcedureCodeFactory()

    def book():
        return order_create(
            patient=PatientFactory(),
            accession_number="ACC42",
            procedures=[
                ProcedureRequest(procedure_code=code, steps=[StepRequest(start=timezone.now())])
            ],
        )

    book()
    with pytest.raises(ValidationError):
        book()
    assert Order.objects.filter(accession_number="ACC42").count() == 1


def test_patient_create_validates_before_writing():
    with pytest.raises(ValidationError):
        patient_create(patient_id="X0", family_name="Smith", sex="X")
    assert not Patient.objects.exists()
    patient = patient_create(patient_id="X1", family_name="Ødegård", given_name="Åsa")
    assert Patient.objects.get(pk=patient.pk).family_name == "Ødegård"


def test_patient_create_without_an_id_gets_the_next_one_of_the_ris():
    first = patient_create(family_name="Smith")
    second = patient_create(patient_id="", family_name="Jones")
    assert first.patient_id.startswith("PID")
    assert second.patient_id > first.patient_id
