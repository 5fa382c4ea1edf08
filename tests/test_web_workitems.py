"""The workitems screen: the worklist as the RIS manages it, and Request Cancel."""

import pytest
from django.test import Client
from django.urls import reverse

from ris.dicom.uids import new_uid
from ris.ups import GLOBAL_SUBSCRIPTION_UID
from ris.ups.models import Workitem
from ris.ups.services import ups_change_state, ups_create, ups_set, ups_subscribe
from tests.factories import RemoteAEFactory
from tests.ups_helpers import code, dataset, workitem

pytestmark = pytest.mark.django_db
LIST = reverse("web:workitems")


def scheduled(**values) -> Workitem:
    return ups_create(sop_instance_uid=new_uid(), attributes=workitem(**values))


def in_progress(**values) -> Workitem:
    created = scheduled(**values)
    ups_change_state(
        sop_instance_uid=created.sop_instance_uid,
        requested_state="IN PROGRESS",
        transaction_uid=new_uid(),
    )
    return Workitem.objects.get(pk=created.pk)


def cancel_url(item: Workitem) -> str:
    return reverse("web:workitem_cancel", args=[item.pk])


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_anonymous_users_are_sent_to_log_in():
    """The list and the cancel button both ask for a login first."""
    item = scheduled()
    client = Client()
    for response in (client.get(LIST), client.post(cancel_url(item))):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert Workitem.objects.get(pk=item.pk).state == "SCHEDULED"


def test_the_list_shows_state_progress_performers_patient_and_subscribers(scheduler):
    """A row tells the label, state, progress, the scheduled performer and the
    one the performer reported, and the subscribers, a global subscriber's
    per-workitem subscription included."""
    RemoteAEFactory(ae_title="WATCHER")
    ups_subscribe(
        sop_instance_uid=GLOBAL_SUBSCRIPTION_UID, receiving_ae="WATCHER", deletion_lock=False
    )
    performer = dataset(
        HumanPerformerCodeSequence=[code("R1", "99RIS", "Radiologist")],
        HumanPerformerName="Smith^Anna",
        HumanPerformerOrganization="Radiology",
    )
    item = in_progress(ScheduledHumanPerformersSequence=[performer])
    actual = dataset(
        HumanPerformerCodeSequence=[code("R2", "99RIS", "Resident")], HumanPerformerName="Roe^Ben"
    )
    performed = dataset(ActualHumanPerformersSequence=[actual])
    ups_set(
        sop_instance_uid=item.sop_instance_uid,
        modifications=dataset(
            TransactionUID=item.transaction_uid,
            ProcedureStepProgressInformationSequence=[dataset(ProcedureStepProgress="40")],
            UnifiedProcedureStepPerformedProcedureSequence=[performed],
        ),
    )

    response = scheduler.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("Lung CAD", "In Progress", "40 %", "SMITH, Anna (Radiology)", "ROE, Ben"):
        assert shown in page
    assert "DOE, Jane" in page
    assert "WATCHER" in page
    label = "Request cancellation of Lung CAD for DOE, Jane, scheduled 2026-11-25 09:30"
    assert f'aria-label="{label}"' in page


def test_the_list_filters_by_state(scheduler):
    """?state=IN PROGRESS shows only the workitems being performed; an unknown
    state is no filter."""
    waiting = scheduled(ProcedureStepLabel="Waiting")
    running = in_progress(ProcedureStepLabel="Running")

    response = scheduler.get(LIST, {"state": "IN PROGRESS"})

    assert list(response.context["page"]) == [running]
    unfiltered = scheduler.get(LIST, {"state": "bogus"})
    assert list(unfiltered.context["page"]) == [waiting, running]


def test_a_technologist_sees_but_may_not_cancel(technologist):
    """The list is for every role; Request Cancel answers 403 to a technologist."""
    item = scheduled()

    response = technologist.get(LIST)

    assert response.status_code == 200
    assert "Request cancellation" not in response.content.decode()
    assert technologist.post(cancel_url(item)).status_code == 403
    assert Workitem.objects.get(pk=item.pk).state == "SCHEDULED"


def test_cancelling_a_scheduled_workitem_cancels_it_now(scheduler):
    """Nobody performs a SCHEDULED workitem: the RIS cancels it (CC.2.2.3)."""
    item = scheduled()

    response = scheduler.post(cancel_url(item), {"next": "?state=SCHEDULED"}, follow=True)

    assert response.redirect_chain == [(f"{LIST}?state=SCHEDULED", 302)]
    assert Workitem.objects.get(pk=item.pk).state == "CANCELED"
    assert messages_of(response) == [("success", "Canceled Lung CAD for DOE, Jane.")]


def test_cancelling_one_in_progress_without_subscribers_is_refused(scheduler):
    """Nobody subscribed can tell the performer: 0xC312, shown as an error."""
    item = in_progress()

    response = scheduler.post(cancel_url(item), follow=True)

    [(level, message)] = messages_of(response)
    assert level == "error"
    assert "0xC312" in message
    assert "No subscriber to tell the performer" in message
    assert Workitem.objects.get(pk=item.pk).state == "IN PROGRESS"


def test_cancelling_one_in_progress_asks_its_performer(scheduler):
    """With a subscriber to tell it, the performer is asked; the state stays."""
    RemoteAEFactory(ae_title="PERFORMER")
    item = in_progress()
    ups_subscribe(
        sop_instance_uid=item.sop_instance_uid, receiving_ae="PERFORMER", deletion_lock=False
    )

    response = scheduler.post(cancel_url(item), follow=True)

    [(level, message)] = messages_of(response)
    assert level == "success"
    assert message.startswith("Asked the performer of Lung CAD for DOE, Jane")
    assert Workitem.objects.get(pk=item.pk).state == "IN PROGRESS"
