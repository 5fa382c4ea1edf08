"""UPS Push, Pull and Watch over real associations: creation, N-SET, N-GET and
the state table (PS3.4 Table CC.1.1-2), cell by cell, with its statuses."""

import pytest
from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.sop_class import (
    UnifiedProcedureStepPull,
    UnifiedProcedureStepQuery,
    UnifiedProcedureStepWatch,
)

from ris.dicom.uids import new_uid
from ris.nodes.services import remote_ae_add
from ris.outbox.models import Channel, OutboundMessage
from ris.ups import states
from ris.ups.models import Workitem
from ris.ups.services import ups_change_state, ups_create, ups_set
from tests.ups_helpers import (
    GLOBAL,
    PUSH,
    REQUEST_CANCEL,
    SUBSCRIBE,
    action,
    cancellation_reason,
    change_state,
    claim_race,
    completion,
    create,
    n_set,
    ups_associate,
    workitem,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def assoc(dicom_service):
    association = ups_associate(dicom_service)
    yield association
    association.release()


def test_create_stores_a_scheduled_workitem(assoc):
    uid = new_uid()
    assert create(assoc, uid) == 0x0000
    stored = Workitem.objects.get(sop_instance_uid=uid)
    assert stored.state == "SCHEDULED"
    assert stored.procedure_step_label == "Lung CAD"
    assert stored.transaction_uid == ""
    assert stored.created_by == "PERFORMER"


def test_create_without_worklist_label_puts_it_on_the_default_worklist(assoc):
    attributes, uid = workitem(), new_uid()
    del attributes.WorklistLabel
    assert create(assoc, uid, attributes) == 0x0000
    assert Workitem.objects.get(sop_instance_uid=uid).worklist_label == "RIS"


def test_create_without_instance_uid_gets_one_made(assoc):
    responses = []
    assoc.bind(evt.EVT_DIMSE_RECV, lambda event: responses.append(event.message))
    attributes = workitem()
    del attributes.WorklistLabel  # filled by the RIS: the status stays 0x0000, with the UID
    status, _ = assoc.send_n_create(attributes, PUSH, None)
    assert status.Status == 0x0000
    uid = str(responses[-1].command_set.AffectedSOPInstanceUID)
    assert Workitem.objects.filter(sop_instance_uid=uid).exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"ProcedureStepState": "IN PROGRESS"}, 0xC309),
        ({"ScheduledProcedureStepPriority": "URGENT"}, 0x0106),
        ({"ProcedureStepLabel": ""}, 0x0121),
        ({"TransactionUID": "1.2.3"}, 0x0106),
        ({"ScheduledProcedureStepStartDateTime": "tomorrow"}, 0x0106),
    ],
)
def test_create_refusals(assoc, change, expected):
    uid = new_uid()
    assert create(assoc, uid, workitem(**change)) == expected
    assert not Workitem.objects.filter(sop_instance_uid=uid).exists()


def test_create_without_a_required_attribute_is_refused(assoc):
    attributes = workitem()
    del attributes.ScheduledProcedureStepStartDateTime
    assert create(assoc, new_uid(), attributes) == 0x0120


def test_create_twice_is_a_duplicate(assoc):
    uid = new_uid()
    assert create(assoc, uid) == 0x0000
    assert create(assoc, uid) == 0x0111


def test_n_get_returns_the_workitem_never_the_transaction_uid(assoc):
    uid = new_uid()
    create(assoc, uid)
    claim = new_uid()
    assert change_state(assoc, uid, "IN PROGRESS", claim) == 0x0000
    status, everything = assoc.send_n_get([], PUSH, uid)
    assert status.Status == 0x0000
    assert everything.ProcedureStepState == "IN PROGRESS"
    assert everything.SOPClassUID == PUSH
    assert "TransactionUID" not in everything
    status, some = assoc.send_n_get([0x00741000, 0x00100010], PUSH, uid)
    assert status.Status == 0x0000
    assert [element.keyword for element in some] == ["PatientName", "ProcedureStepState"]
    status, some = assoc.send_n_get([0x00741000, 0x00081195], PUSH, uid)
    assert status.Status == 0x0001  # the Transaction UID is not returned: a warning
    assert [element.keyword for element in some] == ["ProcedureStepState"]


def test_n_get_of_an_unknown_workitem(assoc):
    status, _ = assoc.send_n_get([], PUSH, new_uid())
    assert status.Status == 0xC307


def test_n_set_on_a_scheduled_workitem_without_transaction_uid(assoc):
    uid = new_uid()
    create(assoc, uid)
    change = Dataset()
    change.ProcedureStepLabel = "Lung CAD, second read"
    assert n_set(assoc, uid, change).Status == 0x0000
    assert (
        Workitem.objects.get(sop_instance_uid=uid).procedure_step_label == change.ProcedureStepLabel
    )


def test_n_set_rules(assoc):
    uid = new_uid()
    create(assoc, uid)
    label = Dataset()
    label.ProcedureStepLabel = "changed"
    assert n_set(assoc, uid, label, transaction_uid=new_uid()).Status == 0xC310
    claim = new_uid()
    change_state(assoc, uid, "IN PROGRESS", claim)
    assert n_set(assoc, uid, label).Status == 0xC301
    assert n_set(assoc, uid, label, transaction_uid=new_uid()).Status == 0xC301
    assert n_set(assoc, uid, label, transaction_uid=claim).Status == 0x0000
    state = Dataset()
    state.ProcedureStepState = "COMPLETED"
    refused = n_set(assoc, uid, state, transaction_uid=claim)
    assert refused.Status == 0x0106
    assert refused.AttributeIdentifierList == 0x00741000  # one tag: a BaseTag, not a list
    assert n_set(assoc, uid, completion(), transaction_uid=claim).Status == 0x0000
    assert change_state(assoc, uid, "COMPLETED", claim) == 0x0000
    assert n_set(assoc, uid, label, transaction_uid=claim).Status == 0xC300
    assert n_set(assoc, new_uid(), label).Status == 0xC307


def test_claim_complete_and_cancel(assoc):
    done, dropped = new_uid(), new_uid()
    create(assoc, done)
    create(assoc, dropped)
    claim = new_uid()
    assert change_state(assoc, done, "IN PROGRESS", claim) == 0x0000
    assert change_state(assoc, done, "COMPLETED", claim) == 0xC304  # nothing performed yet
    n_set(assoc, done, completion(), transaction_uid=claim)
    assert change_state(assoc, done, "COMPLETED", claim) == 0x0000
    assert change_state(assoc, done, "COMPLETED", claim) == 0xB306
    assert Workitem.objects.get(sop_instance_uid=done).final_at is not None

    other = new_uid()
    assert change_state(assoc, dropped, "IN PROGRESS", other) == 0x0000
    assert change_state(assoc, dropped, "CANCELED", other) == 0xC304  # no reason given
    n_set(assoc, dropped, cancellation_reason(), transaction_uid=other)
    assert change_state(assoc, dropped, "CANCELED", other) == 0x0000
    _, item = assoc.send_n_get([0x00741002], PUSH, dropped)
    progress = item.ProcedureStepProgressInformationSequence[0]
    assert progress.ProcedureStepCancellationDateTime  # filled by the SCP


# Table CC.1.1-2, every cell: (current state, requested state, Transaction UID) -> status.
CORRECT, WRONG, NONE = "correct", "wrong", "none"


def _state_table_cells():
    for current in (states.MISSING, *states.STATES):
        for requested in states.STATES:
            for uid in (CORRECT, WRONG, NONE):
                yield current, requested, uid


def _expected(current, requested, uid) -> int:
    if current is states.MISSING:
        return 0xC307
    if requested == states.SCHEDULED:
        return 0xC303
    if uid == NONE or (uid == WRONG and current != states.SCHEDULED):
        return 0xC301
    return {
        states.IN_PROGRESS: {
            states.SCHEDULED: 0x0000,
            states.IN_PROGRESS: 0xC302,
            states.COMPLETED: 0xC300,
            states.CANCELED: 0xC300,
        },
        states.COMPLETED: {
            states.SCHEDULED: 0xC310,
            states.IN_PROGRESS: 0x0000,
            states.COMPLETED: 0xB306,
            states.CANCELED: 0xC300,
        },
        states.CANCELED: {
            states.SCHEDULED: 0xC310,
            states.IN_PROGRESS: 0x0000,
            states.COMPLETED: 0xC300,
            states.CANCELED: 0xB304,
        },
    }[requested][current]


def _workitem_in(state) -> tuple[str, str]:
    """A workitem in `state`, made through the services; its UID and Transaction UID."""
    uid, claim = new_uid(), new_uid()
    if state is states.MISSING:
        return uid, claim
    ups_create(sop_instance_uid=uid, attributes=workitem())
    if state == states.SCHEDULED:
        return uid, claim
    ups_change_state(
        sop_instance_uid=uid, requested_state=states.IN_PROGRESS, transaction_uid=claim
    )
    ups_set(sop_instance_uid=uid, modifications=_with_uid(completion(), claim))
    ups_set(sop_instance_uid=uid, modifications=_with_uid(cancellation_reason(), claim))
    if state != states.IN_PROGRESS:
        ups_change_state(sop_instance_uid=uid, requested_state=state, transaction_uid=claim)
    return uid, claim


def _with_uid(dataset: Dataset, transaction_uid: str) -> Dataset:
    dataset.TransactionUID = transaction_uid
    return dataset


@pytest.mark.parametrize(("current", "requested", "uid"), list(_state_table_cells()))
def test_state_table_cell(assoc, current, requested, uid):
    workitem_uid, claim = _workitem_in(current)
    given = {CORRECT: claim, WRONG: new_uid(), NONE: None}[uid]
    if current == states.SCHEDULED and uid == CORRECT:
        given = new_uid()  # a SCHEDULED workitem has no UID yet: any UID is the claim
    assert change_state(assoc, workitem_uid, requested, given) == _expected(current, requested, uid)


def test_an_unknown_state_or_a_malformed_uid_is_an_invalid_argument(assoc):
    uid = new_uid()
    create(assoc, uid)
    assert change_state(assoc, uid, "PAUSED", new_uid()) == 0x0115
    assert change_state(assoc, uid, "IN PROGRESS", "not a UID") == 0x0115


def test_an_unknown_character_set_is_refused(assoc):
    uid = new_uid()
    assert create(assoc, uid, workitem(SpecificCharacterSet="ISO_IR 999")) == 0x0106
    assert not Workitem.objects.filter(sop_instance_uid=uid).exists()


def test_request_cancel_of_a_scheduled_workitem_cancels_it(assoc):
    uid = new_uid()
    create(assoc, uid)
    reason = "Patient left"
    status = _request_cancel(assoc, uid, ReasonForCancellation=reason)
    assert status == 0x0000
    cancelled = Workitem.objects.get(sop_instance_uid=uid)
    assert cancelled.state == "CANCELED"
    _, item = assoc.send_n_get([0x00741002], PUSH, uid)
    progress = item.ProcedureStepProgressInformationSequence[0]
    assert progress.ReasonForCancellation == reason
    assert progress.ProcedureStepDiscontinuationReasonCodeSequence[0].CodeValue == "110513"
    assert _request_cancel(assoc, uid) == 0xB304


def test_request_cancel_of_a_claimed_workitem_tells_the_subscribers(assoc):
    remote_ae_add(ae_title="PERFORMER", host="127.0.0.1", port=104, services=["ups"])
    uid = new_uid()
    create(assoc, uid)
    claim = new_uid()
    change_state(assoc, uid, "IN PROGRESS", claim)
    assert _request_cancel(assoc, uid) == 0xC312  # no one to tell the performer
    assert action(assoc, uid, SUBSCRIBE, ReceivingAE="PERFORMER", DeletionLock="FALSE") == 0
    assert _request_cancel(assoc, uid, ContactDisplayName="Front desk") == 0x0000
    assert Workitem.objects.get(sop_instance_uid=uid).state == "IN PROGRESS"
    cancel_requests = [
        message.payload
        for message in OutboundMessage.objects.filter(channel=Channel.UPS_EVENT)
        if message.payload["event_type_id"] == 2
    ]
    assert len(cancel_requests) == 1
    info = Dataset.from_json(cancel_requests[0]["info"])
    assert info.RequestingAE == "PERFORMER"
    assert info.ContactDisplayName == "Front desk"
    n_set(assoc, uid, completion(), transaction_uid=claim)
    change_state(assoc, uid, "COMPLETED", claim)
    assert _request_cancel(assoc, uid) == 0xC311


def _request_cancel(assoc, uid, **information) -> int:
    return action(assoc, uid, REQUEST_CANCEL, **information)


def test_unknown_action_type(assoc):
    assert action(assoc, new_uid(), 9) == 0x0123


def test_requests_on_the_pull_context_with_its_own_class_uid_are_accepted(dicom_service):
    """Some SCUs send the negotiated class rather than UPS Push (fo-dicom 1322)."""
    assoc = ups_associate(
        dicom_service, contexts=[UnifiedProcedureStepPull, UnifiedProcedureStepQuery]
    )
    try:
        uid = new_uid()
        ups_create(sop_instance_uid=uid, attributes=workitem())
        info = Dataset()
        info.ProcedureStepState = "IN PROGRESS"
        info.TransactionUID = new_uid()
        status, _ = assoc.send_n_action(info, 1, UnifiedProcedureStepPull, uid)
        assert status.Status == 0x0000
    finally:
        assoc.release()


def test_an_ae_not_allowed_ups_is_refused(dicom_service, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    remote_ae_add(ae_title="NOUPS", host="127.0.0.1", port=104, services=["worklist"])
    assoc = ups_associate(dicom_service, calling_ae_title="NOUPS")
    try:
        assert create(assoc, new_uid()) == 0x0124
        status, _ = assoc.send_n_get([], PUSH, GLOBAL)
        assert status.Status == 0x0124
    finally:
        assoc.release()


def _find(assoc, identifier: Dataset, sop_class=UnifiedProcedureStepQuery) -> list[Dataset]:
    responses = list(assoc.send_c_find(identifier, sop_class))
    assert responses[-1][0].Status == 0x0000
    return [found for status, found in responses if status.Status in (0xFF00, 0xFF01)]


@pytest.mark.parametrize(
    "sop_class", [UnifiedProcedureStepPull, UnifiedProcedureStepWatch, UnifiedProcedureStepQuery]
)
def test_c_find_on_the_pull_and_query_contexts(assoc, sop_class):
    cad, report = new_uid(), new_uid()
    create(assoc, cad)
    create(assoc, report, workitem(ProcedureStepLabel="Report", PatientName="Smith^Ann"))
    change_state(assoc, cad, "IN PROGRESS", new_uid())
    query = Dataset()
    query.ProcedureStepState = "SCHEDULED"
    query.PatientName = "smith*"
    query.SOPInstanceUID = ""
    query.ProcedureStepLabel = ""
    query.TransactionUID = ""
    found = _find(assoc, query, sop_class)
    assert [item.SOPInstanceUID for item in found] == [report]
    assert found[0].ProcedureStepLabel == "Report"
    assert "TransactionUID" not in found[0]
    everything = Dataset()
    everything.SOPInstanceUID = ""
    assert {item.SOPInstanceUID for item in _find(assoc, everything, sop_class)} == {cad, report}


def test_c_find_with_a_bad_key_is_refused(assoc):
    query = Dataset()
    query.ScheduledProcedureStepStartDateTime = "next week"
    responses = list(assoc.send_c_find(query, UnifiedProcedureStepQuery))
    assert responses[-1][0].Status == 0xA900


def test_two_performers_claiming_at_once_get_one_success(dicom_service):
    """The row lock (SELECT ... FOR UPDATE on PostgreSQL, the write lock on
    SQLite) makes the second claim see the first: one 0x0000, one 0xC301."""
    uids = [new_uid() for _ in range(10)]
    for uid in uids:
        ups_create(sop_instance_uid=uid, attributes=workitem())
    performers = [ups_associate(dicom_service, f"PERFORMER{n}") for n in (1, 2)]
    try:
        outcomes = claim_race(performers, uids)
    finally:
        for assoc in performers:
            assoc.release()
    assert [sorted(pair) for pair in outcomes] == [[0x0000, 0xC301]] * len(uids)


def test_items_need_their_required_values(assoc):
    nameless = Dataset()
    nameless.HumanPerformerName = "Doe^J"  # but no Human Performer Code Sequence
    uid = new_uid()
    assert create(assoc, uid, workitem(ScheduledHumanPerformersSequence=[nameless])) == 0x0121
    create(assoc, uid)
    contact = Dataset()
    contact.ContactDisplayName = "Reading room"  # but no Contact URI
    progress = Dataset()
    progress.ProcedureStepCommunicationsURISequence = [contact]
    change = Dataset()
    change.ProcedureStepProgressInformationSequence = [progress]
    refused = n_set(assoc, uid, change)
    assert refused.Status == 0x0121
    assert refused.AttributeIdentifierList == 0x00741002
