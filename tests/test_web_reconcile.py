"""The unmatched MPPS screens: the list, the candidates offered, and linking."""

from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ris.mpps.selectors import CandidateMatch
from ris.mpps.services import AlreadyLinked, mpps_create, mpps_reconcile
from ris.scheduling.models import Modality, Patient, ScheduledProcedureStep, StepStatus
from tests.factories import PatientFactory, ScheduledProcedureStepFactory, StationFactory
from tests.test_dimse_mpps import in_progress

pytestmark = pytest.mark.django_db
LIST = reverse("web:unmatched_mpps")
# in_progress() reports an exam of patient EMERG1, CT, started on 2026-03-05 at 09:15.
MPPS_DAY = (2026, 3, 5)


def unmatched(uid="1.2.826.0.1.3680043.10.1.1", **attributes):
    """An MPPS of an unscheduled exam: it references nothing (F.7.2.1.1)."""
    dataset = in_progress()
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    return mpps_create(sop_instance_uid=uid, attributes=dataset, calling_ae_title="CT1")


def link_url(performed) -> str:
    return reverse("web:mpps_link", args=[performed.pk])


def at(hour: int, day=MPPS_DAY) -> datetime:
    return datetime(*day, hour, 0, tzinfo=timezone.get_default_timezone())


def step_of(patient_id: str, **values) -> ScheduledProcedureStep:
    """A step booked for the patient with this ID (registered on first use)."""
    patient = Patient.objects.filter(patient_id=patient_id).first()
    return ScheduledProcedureStepFactory(
        requested_procedure__order__patient=patient or PatientFactory(patient_id=patient_id),
        **values,
    )


def test_anonymous_users_are_sent_to_log_in():
    """Every door of the screen asks for a login first."""
    performed = unmatched()
    client = Client()
    for response in (
        client.get(LIST),
        client.get(link_url(performed)),
        client.post(link_url(performed), {"steps": []}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_the_list_shows_unmatched_steps_only_newest_first(scheduler):
    """Matched MPPS are not listed; the newest unmatched comes first, with what was sent."""
    older = unmatched("1.2.3.1")
    newer = unmatched("1.2.3.2", PerformedProcedureStepStartTime="101500")
    mpps_create(sop_instance_uid="1.2.3.3", attributes=in_progress(ScheduledProcedureStepFactory()))

    response = scheduler.get(LIST)

    assert response.status_code == 200
    assert list(response.context["page"]) == [newer, older]
    page = response.content.decode()
    assert "MÜLLER, Jürgen" in page
    assert "EMERG1" in page
    assert link_url(newer) in page


def test_a_technologist_sees_but_may_not_link(technologist):
    """Seeing is for every role; linking answers 403 to a technologist."""
    performed = unmatched()
    step = step_of("EMERG1")

    assert technologist.get(LIST).status_code == 200
    page = technologist.get(link_url(performed))
    assert page.status_code == 200
    assert 'name="steps"' not in page.content.decode()
    assert technologist.post(link_url(performed), {"steps": [step.pk]}).status_code == 403
    assert not performed.scheduled_steps.exists()


def test_a_scheduler_links_an_unmatched_mpps_and_the_step_starts(scheduler):
    """Linking an IN PROGRESS MPPS moves its step to STARTED, says so, and the
    MPPS leaves the list."""
    performed = unmatched()
    step = step_of("EMERG1")

    response = scheduler.post(link_url(performed), {"steps": [step.pk]}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert list(performed.scheduled_steps.all()) == [step]
    assert ScheduledProcedureStep.objects.get(pk=step.pk).status == StepStatus.STARTED
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Linked MPPS PPS1")
    assert step.description in message
    assert performed not in list(response.context["page"])


def test_one_mpps_may_be_linked_to_several_steps(scheduler):
    """The group case (PS3.4 F.7.2.1.1): one MPPS performs two steps at once."""
    performed = unmatched()
    first, second = step_of("EMERG1"), step_of("EMERG1")

    scheduler.post(link_url(performed), {"steps": [first.pk, second.pk]})

    assert set(performed.scheduled_steps.all()) == {first, second}
    statuses = ScheduledProcedureStep.objects.filter(pk__in=[first.pk, second.pk])
    assert set(statuses.values_list("status", flat=True)) == {StepStatus.STARTED}


def test_linking_without_a_step_chosen_says_what_to_do(scheduler):
    """No step ticked: the page again, with the reason, and nothing linked."""
    performed = unmatched()
    step_of("EMERG1")

    response = scheduler.post(link_url(performed), {})

    assert response.status_code == 200
    assert "Choose the scheduled step" in response.content.decode()
    assert not performed.scheduled_steps.exists()


def test_a_step_that_is_no_candidate_is_not_linked(scheduler):
    """A completed step (or a made-up key) is refused with a message, not a 500."""
    performed = unmatched()
    done = step_of("EMERG1", status=StepStatus.COMPLETED)

    for value in (done.pk, "not-a-key"):
        response = scheduler.post(link_url(performed), {"steps": [value]})
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    assert not performed.scheduled_steps.exists()


def test_an_mpps_linked_meanwhile_is_not_linked_again(scheduler):
    """Another scheduler got there first: an error message, back to the list."""
    performed = unmatched()
    first, other = step_of("EMERG1"), step_of("EMERG1")
    scheduler.post(link_url(performed), {"steps": [first.pk]}, follow=True)

    response = scheduler.post(link_url(performed), {"steps": [other.pk]}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    [message] = [m for m in response.context["messages"]]
    assert message.level_tag == "error"
    assert "already linked" in str(message)
    assert list(performed.scheduled_steps.all()) == [first]


def test_reconcile_refuses_an_mpps_linked_after_the_page_was_read():
    """The service's own check, under the MPPS's row lock: the page's look was
    made before the other scheduler's link committed."""
    performed = unmatched()
    first, other = step_of("EMERG1"), step_of("EMERG1")
    mpps_reconcile(performed=performed, steps=[first])
    with pytest.raises(AlreadyLinked):
        mpps_reconcile(performed=performed, steps=[other])
    assert list(performed.scheduled_steps.all()) == [first]


def test_candidates_rank_patient_id_then_accession_then_modality_that_day(scheduler):
    """Same Patient ID first, then the accession sent, then steps of the same
    modality that day; steps done with and unrelated ones are not offered."""
    mr = StationFactory(modality=Modality.MR)
    by_accession = step_of("OTHER1", station=mr, start=at(8))  # MR: the CT MPPS did not match
    same_day_ct = step_of("OTHER2", start=at(11))
    same_patient = step_of("EMERG1", start=at(9, day=(2026, 3, 9)))
    step_of("EMERG1", status=StepStatus.COMPLETED, start=at(9))
    step_of("OTHER3", start=at(10, day=(2026, 3, 6)))
    step_of("OTHER4", station=mr, start=at(10))
    accession = by_accession.requested_procedure.order.accession_number
    item = in_progress().ScheduledStepAttributesSequence[0]
    item.AccessionNumber = accession
    performed = unmatched("1.2.3.9", ScheduledStepAttributesSequence=[item])
    assert not performed.scheduled_steps.exists()

    response = scheduler.get(link_url(performed))

    candidates = response.context["candidates"]
    assert candidates == [same_patient, by_accession, same_day_ct]
    assert [step.match for step in candidates] == [
        CandidateMatch.PATIENT_ID,
        CandidateMatch.ACCESSION_NUMBER,
        CandidateMatch.MODALITY_AND_DAY,
    ]
    page = response.content.decode()
    assert f'id="step-{same_patient.pk}"' in page
    assert f'<label for="step-{same_patient.pk}"' in page


def test_an_mpps_without_candidates_says_so(scheduler):
    """Nothing open for the patient, the accession or the day: the page says to book it."""
    performed = unmatched()

    response = scheduler.get(link_url(performed))

    assert response.context["candidates"] == []
    assert "No open scheduled step" in response.content.decode()
