"""Reading performed steps: what the doors (web UI, admin, REST) list and look up."""

from datetime import date

from django.db.models import Case, F, IntegerChoices, Q, QuerySet, Value, When
from django.utils import timezone

from ris.mpps.models import PerformedProcedureStep
from ris.scheduling.models import ScheduledProcedureStep, StepStatus
from ris.scheduling.selectors import scheduled_steps_list, starting_on

# A step done with is no candidate: COMPLETED has its MPPS already, CANCELED
# was not to be done. DISCONTINUED stays one: the MPPS may be the retake.
CLOSED_STEP_STATUSES = (StepStatus.COMPLETED, StepStatus.CANCELED)


class CandidateMatch(IntegerChoices):
    """Why a scheduled step is offered for an unmatched MPPS, best reason first."""

    PATIENT_ID = 0, "Same Patient ID"
    ACCESSION_NUMBER = 1, "Same accession number"
    MODALITY_AND_DAY = 2, "Same modality that day"


def performed_steps_unmatched() -> QuerySet[PerformedProcedureStep]:
    """The performed steps linked to no scheduled step, newest first: unscheduled
    exams, and those whose references the RIS did not recognize (PS3.4
    F.7.2.1.1), for a scheduler to reconcile."""
    return PerformedProcedureStep.objects.filter(scheduled_steps__isnull=True).order_by(
        F("start").desc(nulls_last=True), "-pk"
    )


def performed_step_day(performed: PerformedProcedureStep) -> date | None:
    """The day the step started on the department's calendar (TIME_ZONE)."""
    if performed.start is None:
        return None
    return timezone.localdate(performed.start, timezone.get_default_timezone())


def mpps_link_candidates(*, performed: PerformedProcedureStep) -> QuerySet[ScheduledProcedureStep]:
    """The open scheduled steps an unmatched MPPS may have performed, each
    annotated with `match` (a CandidateMatch), ranked for the scheduler: same
    Patient ID, then same accession number, then same modality on the MPPS's
    day; within each, the steps of that day first, in time order."""
    reasons = _candidate_reasons(performed)
    if not reasons:
        return ScheduledProcedureStep.objects.none()
    found = Q()
    for condition, _ in reasons:
        found |= condition
    day = _day_condition(performed)
    return (
        scheduled_steps_list()
        .select_related("requested_procedure__order__patient")
        .filter(found)
        .exclude(status__in=CLOSED_STEP_STATUSES)
        .annotate(
            match=Case(*(When(condition, then=Value(match)) for condition, match in reasons)),
            on_other_day=Case(When(day, then=Value(0)), default=Value(1)),
        )
        .order_by("match", "on_other_day", "start", "pk")
    )


def _candidate_reasons(performed: PerformedProcedureStep) -> list[tuple[Q, int]]:
    """A condition for each reason the MPPS gives to look (an empty key is none)."""
    reasons = []
    if performed.patient_id:
        patient = Q(requested_procedure__order__patient__patient_id=performed.patient_id)
        reasons.append((patient, CandidateMatch.PATIENT_ID))
    if performed.accession_number:
        accession = Q(requested_procedure__order__accession_number=performed.accession_number)
        reasons.append((accession, CandidateMatch.ACCESSION_NUMBER))
    if performed.modality and performed.start is not None:
        same = Q(modality=performed.modality) & _day_condition(performed)
        reasons.append((same, CandidateMatch.MODALITY_AND_DAY))
    return reasons


def _day_condition(performed: PerformedProcedureStep) -> Q:
    """Steps that start on the MPPS's day (none if it has no start)."""
    day = performed_step_day(performed)
    return Q(pk__in=[]) if day is None else starting_on(day)
