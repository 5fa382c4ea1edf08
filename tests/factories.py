"""factory_boy factories for the scheduling model."""

from datetime import timedelta

import factory
from django.utils import timezone

from ris.scheduling import models


class ProtocolCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProtocolCode

    code_value = factory.Sequence(lambda n: f"PROT{n}")
    coding_scheme_designator = "99TEST"
    code_meaning = factory.Sequence(lambda n: f"Protocol {n}")


class ProcedureCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProcedureCode

    code_value = factory.Sequence(lambda n: f"PROC{n}")
    coding_scheme_designator = "99TEST"
    code_meaning = factory.Sequence(lambda n: f"CT procedure {n}")
    default_modality = models.Modality.CT
    default_duration = timedelta(minutes=20)


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Station

    ae_title = factory.Sequence(lambda n: f"CT{n}")
    name = factory.Sequence(lambda n: f"CT_STATION_{n}")
    modality = models.Modality.CT
    location = "Room 1"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Patient

    patient_id = factory.Sequence(lambda n: f"P{n:06d}")
    issuer_of_patient_id = "HOSPITAL"
    family_name = "Müller"
    given_name = "Jürgen"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Order

    patient = factory.SubFactory(PatientFactory)


class RequestedProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RequestedProcedure

    order = factory.SubFactory(OrderFactory)
    procedure_code = factory.SubFactory(ProcedureCodeFactory)


class ScheduledProcedureStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ScheduledProcedureStep

    requested_procedure = factory.SubFactory(RequestedProcedureFactory)
    station = factory.SubFactory(StationFactory)
    start = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0))


class RemoteAEFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "nodes.RemoteAE"

    ae_title = factory.Sequence(lambda n: f"MOD{n}")
    host = factory.Sequence(lambda n: f"10.0.{n // 250}.{n % 250 + 1}")
    port = 104


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "outbox.OutboundMessage"

    channel = "dicom"
    destination = "PACS"
    payload = factory.Sequence(lambda n: {"n": n})
