"""Reading the schedule: what the doors (REST, web UI) list and look up."""

from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

import ris.dicom.lookups  # noqa: F401  (registers __dicom_wildcard)
from ris.dicom.person_name import search_pattern
from ris.scheduling.models import Order, Patient, RequestedProcedure, ScheduledProcedureStep


def patients_list() -> QuerySet[Patient]:
    """Every patient, with the other IDs each is known by."""
    return Patient.objects.prefetch_related("other_ids")


def patients_named(*, patients: QuerySet[Patient], name: str) -> QuerySet[Patient]:
    """Patients whose name matches a DICOM PN query ("Müller", "MÜL*^J*"),
    case-insensitive, as the worklist matches it (ris.dicom.person_name.search_pattern)."""
    return patients.filter(name_search__dicom_wildcard=search_pattern(name))


def orders_list() -> QuerySet[Order]:
    """Every order, with its patient, procedures, steps and the performed steps
    reported for them, in a fixed number of queries."""
    steps = ScheduledProcedureStep.objects.select_related("station").prefetch_related(
        "performed_steps"
    )
    procedures = RequestedProcedure.objects.select_related("procedure_code").prefetch_related(
        Prefetch("scheduled_steps", queryset=steps)
    )
    return Order.objects.select_related("patient").prefetch_related(
        Prefetch("requested_procedures", queryset=procedures)
    )


def scheduled_steps_list() -> QuerySet[ScheduledProcedureStep]:
    """Every scheduled step, with what a listing shows of its procedure and order."""
    return ScheduledProcedureStep.objects.select_related(
        "station", "requested_procedure__order", "requested_procedure__procedure_code"
    ).prefetch_related("performed_steps")


def scheduled_steps_on_day(*, day: date) -> QuerySet[ScheduledProcedureStep]:
    """The steps starting on one day of the department's calendar (TIME_ZONE),
    in time order, with their station, procedure, order and patient."""
    return (
        ScheduledProcedureStep.objects.select_related(
            "station", "requested_procedure__procedure_code", "requested_procedure__order__patient"
        )
        .filter(starting_on(day))
        .order_by("start", "pk")
    )


def starting_on(day: date) -> Q:
    """Steps that start on a day of the department's calendar (TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    first = datetime.combine(day, time.min, tzinfo=zone)
    after = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return Q(start__gte=first, start__lt=after)


def scheduled_steps_of_patient(*, patient: Patient) -> QuerySet[ScheduledProcedureStep]:
    """Every step booked for a patient, with its station, procedure and order."""
    return ScheduledProcedureStep.objects.select_related(
        "station", "requested_procedure__procedure_code", "requested_procedure__order"
    ).filter(requested_procedure__order__patient=patient)
