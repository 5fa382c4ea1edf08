"""UPS Watch and Event end to end: subscriptions made over DICOM, each event
type arriving at the subscriber's own listening SCP as N-EVENT-REPORT."""

import pytest
from pydicom import Dataset

from ris.dicom.uids import new_uid
from ris.nodes.models import RemoteAE
from ris.nodes.services import remote_ae_add
from ris.ups.models import GlobalSubscription, Subscription
from ris.ups.services import ups_announce_scp_status, ups_create
from tests.dimse_helpers import free_port, wait_until
from tests.ups_helpers import (
    FILTERED_GLOBAL,
    GLOBAL,
    PUSH,
    REQUEST_CANCEL,
    SUBSCRIBE,
    SUSPEND,
    UNSUBSCRIBE,
    EventSubscriber,
    action,
    change_state,
    code,
    completion,
    create,
    n_set,
    ups_associate,
    ups_event_dispatcher,
    workitem,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watcher():
    """A subscriber listening for events, registered as a remote AE."""
    subscriber = EventSubscriber(port=free_port(), ae_title="WATCHER")
    subscriber.start()
    remote_ae_add(ae_title="WATCHER", host="127.0.0.1", port=subscriber.port, services=["ups"])
    yield subscriber
    subscriber.stop()


@pytest.fixture
def assoc(dicom_service):
    association = ups_associate(dicom_service)
    yield association
    association.release()


def subscribe(assoc, uid, lock="FALSE", ae_title="WATCHER", **keys) -> int:
    return action(assoc, uid, SUBSCRIBE, ReceivingAE=ae_title, DeletionLock=lock, **keys)


def test_a_subscriber_follows_a_workitem_through_every_event(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    with ups_event_dispatcher():
        assert subscribe(assoc, uid) == 0x0000
        claim = new_uid()
        change_state(assoc, uid, "IN PROGRESS", claim)
        progress = Dataset()
        progress.ProcedureStepProgressInformationSequence = [Dataset()]
        progress.ProcedureStepProgressInformationSequence[0].ProcedureStepProgress = "40"
        progress.ProcedureStepProgressInformationSequence[
            0
        ].ProcedureStepProgressDescription = "Segmenting"
        assert n_set(assoc, uid, progress, transaction_uid=claim).Status == 0x0000
        station = Dataset()
        station.ScheduledStationNameCodeSequence = [code("CAD1", "99RIS", "CAD server")]
        assert n_set(assoc, uid, station, transaction_uid=claim).Status == 0x0000
        n_set(assoc, uid, completion(), transaction_uid=claim)
        change_state(assoc, uid, "COMPLETED", claim)
        wait_until(lambda: len(watcher.reports) == 5)
    assert [report.event_type_id for report in watcher.reports] == [1, 1, 3, 5, 1]
    assert watcher.states() == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]
    assert {report.sop_class_uid for report in watcher.reports} == {PUSH}
    assert {report.sop_instance_uid for report in watcher.reports} == {uid}
    assert {report.calling_ae_title for report in watcher.reports} == {"RIS"}
    report = watcher.of_type(3)[0].information.ProcedureStepProgressInformationSequence[0]
    assert report.ProcedureStepProgress == 40
    assert report.ProcedureStepProgressDescription == "Segmenting"
    assigned = watcher.of_type(5)[0].information
    assert assigned.ScheduledStationNameCodeSequence[0].CodeValue == "CAD1"
    assert watcher.of_type(1)[0].information.InputReadinessState == "READY"


def test_cancel_requested_reaches_the_performer(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    subscribe(assoc, uid)
    change_state(assoc, uid, "IN PROGRESS", new_uid())
    with ups_event_dispatcher():
        status = action(
            assoc, uid, REQUEST_CANCEL, ReasonForCancellation="Wrong patient", ContactURI="tel:123"
        )
        assert status == 0x0000
        wait_until(lambda: watcher.of_type(2))
    info = watcher.of_type(2)[0].information
    assert info.RequestingAE == "PERFORMER"
    assert info.ReasonForCancellation == "Wrong patient"
    assert info.ContactURI == "tel:123"


def test_cancelling_a_scheduled_workitem_reports_both_steps(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    subscribe(assoc, uid)
    with ups_event_dispatcher():
        assert action(assoc, uid, REQUEST_CANCEL, ReasonForCancellation="Not needed") == 0
        wait_until(lambda: len(watcher.states(uid)) == 3)
    assert watcher.states(uid) == ["SCHEDULED", "IN PROGRESS", "CANCELED"]
    cancelled = watcher.of_type(1)[-1].information
    assert cancelled.ReasonForCancellation == "Not needed"
    assert cancelled.ProcedureStepDiscontinuationReasonCodeSequence[0].CodeValue == "110513"


def test_global_subscription_covers_existing_and_new_workitems(assoc, watcher):
    before, kept_unlocked = new_uid(), new_uid()
    create(assoc, before)
    create(assoc, kept_unlocked)
    subscribe(assoc, kept_unlocked, lock="FALSE")
    with ups_event_dispatcher():
        assert subscribe(assoc, GLOBAL, lock="TRUE") == 0x0000
        wait_until(lambda: len(watcher.states()) == 2)  # kept_unlocked: one, before: one
        after = new_uid()
        create(assoc, after, workitem(ScheduledStationNameCodeSequence=[code("S", "99", "s")]))
        wait_until(lambda: len(watcher.reports) == 4)
    assert [r.sop_instance_uid for r in watcher.reports] == [kept_unlocked, before, after, after]
    assert [r.event_type_id for r in watcher.reports[2:]] == [1, 5]  # state report, assigned
    locks = dict(Subscription.objects.values_list("workitem__sop_instance_uid", "deletion_lock"))
    assert locks == {before: True, kept_unlocked: False, after: True}


def test_filtered_global_subscription_follows_its_filter(assoc, watcher):
    cad, other = new_uid(), new_uid()
    create(assoc, cad)
    create(assoc, other, workitem(ProcedureStepLabel="Report"))
    with ups_event_dispatcher():
        assert subscribe(assoc, FILTERED_GLOBAL, ProcedureStepLabel="Lung*") == 0x0000
        new_cad, new_other = new_uid(), new_uid()
        create(assoc, new_cad)
        create(assoc, new_other, workitem(ProcedureStepLabel="Report"))
        wait_until(lambda: len(watcher.reports) == 2)
    assert [r.sop_instance_uid for r in watcher.reports] == [cad, new_cad]
    assert GlobalSubscription.objects.get(ae_title="WATCHER").matching_keys is not None


def test_unsubscribe_and_suspend(assoc, watcher):
    first, second = new_uid(), new_uid()
    create(assoc, first)
    subscribe(assoc, GLOBAL)
    assert action(assoc, GLOBAL, SUSPEND, ReceivingAE="WATCHER") == 0x0000
    create(assoc, second)
    subscribed = set(Subscription.objects.values_list("workitem__sop_instance_uid", flat=True))
    assert subscribed == {first}  # kept; the new one is not subscribed
    subscribe(assoc, second)
    assert action(assoc, first, UNSUBSCRIBE, ReceivingAE="WATCHER") == 0x0000
    assert Subscription.objects.count() == 1
    subscribe(assoc, GLOBAL)
    assert action(assoc, GLOBAL, UNSUBSCRIBE, ReceivingAE="WATCHER") == 0x0000
    assert not Subscription.objects.exists()
    assert not GlobalSubscription.objects.exists()


def test_subscription_refusals(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    assert subscribe(assoc, uid, ae_title="NOBODY") == 0xC308
    assert subscribe(assoc, uid, lock="MAYBE") == 0x0115
    assert subscribe(assoc, new_uid()) == 0xC307
    assert action(assoc, uid, SUSPEND, ReceivingAE="WATCHER") == 0xC314
    assert action(assoc, GLOBAL, UNSUBSCRIBE, ReceivingAE="NOBODY") == 0xC308
    assert subscribe(assoc, FILTERED_GLOBAL, ScheduledProcedureStepStartDateTime="soon") == 0x0115


def test_deletion_lock_keeps_a_final_workitem(assoc, watcher, settings):
    settings.RIS_UPS_FINAL_RETENTION = 0
    locked, unlocked = new_uid(), new_uid()
    for uid, lock in ((locked, "TRUE"), (unlocked, "FALSE")):
        create(assoc, uid)
        subscribe(assoc, uid, lock=lock)
        claim = new_uid()
        change_state(assoc, uid, "IN PROGRESS", claim)
        n_set(assoc, uid, completion(), transaction_uid=claim)
        assert change_state(assoc, uid, "COMPLETED", claim) == 0x0000
    status, kept = assoc.send_n_get([0x00741000], PUSH, locked)
    assert (status.Status, kept.ProcedureStepState) == (0x0000, "COMPLETED")
    assert assoc.send_n_get([], PUSH, unlocked)[0].Status == 0xC307  # gone from the worklist
    action(assoc, locked, UNSUBSCRIBE, ReceivingAE="WATCHER")  # the lock is released
    assert assoc.send_n_get([], PUSH, locked)[0].Status == 0xC307


def test_scp_status_change_reaches_every_subscriber(watcher, transactional_db):
    uid = new_uid()
    ups_create(sop_instance_uid=uid, attributes=workitem())
    Subscription.objects.create(
        workitem=ups_create(sop_instance_uid=new_uid(), attributes=workitem()),
        ae_title="WATCHER",
    )
    assert ups_announce_scp_status(scp_status="RESTARTED") == 1
    with ups_event_dispatcher():
        wait_until(lambda: watcher.of_type(4))
    info = watcher.of_type(4)[0].information
    assert (info.SCPStatus, info.SubscriptionListStatus) == ("RESTARTED", "WARM START")
    assert info.UnifiedProcedureStepListStatus == "WARM START"


def test_a_subscriber_that_is_down_gets_everything_in_order_later(assoc, settings):
    settings.RIS_OUTBOX_BACKOFF_BASE = 0.05
    settings.RIS_OUTBOX_BACKOFF_CAP = 0.2
    subscriber = EventSubscriber(port=free_port(), ae_title="LATE")
    remote_ae_add(ae_title="LATE", host="127.0.0.1", port=subscriber.port, services=["ups"])
    uid = new_uid()
    create(assoc, uid)
    subscribe(assoc, uid, ae_title="LATE")
    claim = new_uid()
    with ups_event_dispatcher():
        change_state(assoc, uid, "IN PROGRESS", claim)
        n_set(assoc, uid, completion(), transaction_uid=claim)
        change_state(assoc, uid, "COMPLETED", claim)
        subscriber.start()
        try:
            wait_until(lambda: len(subscriber.reports) == 3, timeout=10)
        finally:
            subscriber.stop()
    assert subscriber.states() == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]


def test_non_ascii_event_information_arrives_intact(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    subscribe(assoc, uid)
    change_state(assoc, uid, "IN PROGRESS", new_uid())
    with ups_event_dispatcher():
        reason = "Patientin möchte später kommen; 患者"
        status = action(
            assoc,
            uid,
            REQUEST_CANCEL,
            SpecificCharacterSet="ISO_IR 192",
            ReasonForCancellation=reason,
        )
        assert status == 0x0000
        wait_until(lambda: watcher.of_type(2))
    assert watcher.of_type(2)[0].information.ReasonForCancellation == reason


def test_an_ae_removed_from_the_registry_may_still_release_its_locks(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    subscribe(assoc, uid, lock="TRUE")
    RemoteAE.objects.filter(ae_title="WATCHER").delete()
    assert action(assoc, GLOBAL, UNSUBSCRIBE, ReceivingAE="WATCHER") == 0x0000
    assert not Subscription.objects.exists()
    assert action(assoc, GLOBAL, UNSUBSCRIBE, ReceivingAE="WATCHER") == 0xC308


def test_scp_status_change_names_the_subscription_instance(watcher, transactional_db):
    GlobalSubscription.objects.create(ae_title="WATCHER", matching_keys={})
    assert ups_announce_scp_status(scp_status="GOING DOWN") == 1
    with ups_event_dispatcher():
        wait_until(lambda: watcher.of_type(4))
    assert watcher.of_type(4)[0].sop_instance_uid == FILTERED_GLOBAL


def test_emptying_the_performers_sends_no_empty_assignment(assoc, watcher):
    uid = new_uid()
    performer = Dataset()
    performer.HumanPerformerCodeSequence = [code("JD", "99RIS", "J. Doe")]
    performer.HumanPerformerName = "Doe^J"
    performer.HumanPerformerOrganization = "Radiology"
    create(assoc, uid, workitem(ScheduledHumanPerformersSequence=[performer]))
    subscribe(assoc, uid)
    emptied = Dataset()
    emptied.ScheduledHumanPerformersSequence = []
    with ups_event_dispatcher():
        assert n_set(assoc, uid, emptied).Status == 0x0000
        reassigned = Dataset()
        reassigned.ScheduledHumanPerformersSequence = [performer]
        assert n_set(assoc, uid, reassigned).Status == 0x0000
        wait_until(lambda: watcher.of_type(5))
    assert [report.event_type_id for report in watcher.reports] == [1, 5]
    assigned = watcher.of_type(5)[0].information
    assert assigned.HumanPerformerCodeSequence[0].CodeValue == "JD"
    assert assigned.HumanPerformerOrganization == "Radiology"


def test_cancelling_a_scheduled_workitem_keeps_its_progress_information(assoc, watcher):
    uid = new_uid()
    create(assoc, uid)
    progress = Dataset()
    progress.ProcedureStepProgressInformationSequence = [Dataset()]
    progress.ProcedureStepProgressInformationSequence[
        0
    ].ProcedureStepProgressDescription = "Waiting for priors"
    assert n_set(assoc, uid, progress).Status == 0x0000
    assert action(assoc, uid, REQUEST_CANCEL) == 0x0000
    _, kept = assoc.send_n_get([0x00741002], PUSH, uid)
    item = kept.ProcedureStepProgressInformationSequence[0]
    assert item.ProcedureStepProgressDescription == "Waiting for priors"
    assert item.ProcedureStepCancellationDateTime
