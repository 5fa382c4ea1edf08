"""The write path of Unified Procedure Steps (PS3.4 Annex CC), for every door.

Each function is one UPS operation: it runs in one transaction, locks the
workitem's row for the change (so that changes to one workitem, from any
process, happen one after the other), queues the events the change causes in
that same transaction, and refuses with a DicomError carrying the status
the standard gives. Warnings come back as the status returned.
"""

import copy

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydicom import Dataset

from ris.audit.services import audit_record
from ris.dicom import statuses
from ris.dicom.charset import check_character_set
from ris.dicom.datetimes import format_datetime
from ris.dicom.errors import DicomError, IdentifierError
from ris.dicom.uids import new_uid
from ris.dicom.vr import validate_uid
from ris.nodes.models import RemoteAE
from ris.ups import (
    FILTERED_GLOBAL_SUBSCRIPTION_UID,
    GLOBAL_SUBSCRIPTION_UID,
    UPS_PUSH_SOP_CLASS_UID,
    checks,
    events,
    locks,
)
from ris.ups.columns import workitem_columns, workitem_replace_child_rows
from ris.ups.models import Delivery, GlobalSubscription, Subscription, Workitem
from ris.ups.query import workitems_matching
from ris.ups.selectors import workitem_active_get, workitem_subscribers, workitems_active
from ris.ups.states import CANCELED, FINAL, IN_PROGRESS, SCHEDULED, change_state

GLOBAL_INSTANCES = (GLOBAL_SUBSCRIPTION_UID, FILTERED_GLOBAL_SUBSCRIPTION_UID)
# The worklist a workitem created without Worklist Label (0074,1202) is on
# (Table CC.2.5-3: 2/1, the SCP fills a default).
DEFAULT_WORKLIST_LABEL = "RIS"


def ups_create(
    *, sop_instance_uid: str | None, attributes: Dataset, created_by: str = ""
) -> Workitem:
    """Create a SCHEDULED workitem (CC.2.5).

    The SCP sets SOP Class UID, SOP Instance UID and the modification time,
    adds the type 2 attributes the request left out (empty), and puts a
    workitem sent without Worklist Label on the default worklist (Table
    CC.2.5-3: "2/1", the SCP's to fill). It changes no value that was sent, so
    it never answers 0xB300. A request without an instance UID gets one made
    by the RIS, as for MPPS.
    """
    uid = sop_instance_uid or new_uid()
    _check_uid(uid)
    _check_character_set(attributes)
    checks.check_create(attributes)
    dataset = _new_workitem_dataset(attributes, uid)
    workitem = Workitem(sop_instance_uid=uid, state=SCHEDULED, created_by=created_by)
    _store(workitem, dataset)
    try:
        with transaction.atomic():
            locks.global_subscriptions(exclusive=False)
            workitem.save()
            detail = {"worklist": workitem.worklist_label}
            audit_record(action="ups.create", **_ref(uid), detail=detail)
            workitem_replace_child_rows(workitem, dataset)
            _subscribe_global_subscribers(workitem, dataset)
    except IntegrityError:
        raise DicomError(
            f"A UPS {uid} exists already", status=statuses.DUPLICATE_SOP_INSTANCE
        ) from None
    return workitem


@transaction.atomic
def ups_set(*, sop_instance_uid: str, modifications: Dataset) -> Workitem:
    """Apply an N-SET (CC.2.6): SCHEDULED without a Transaction UID, IN PROGRESS
    only with the performer's; never once final. Sequences are replaced whole."""
    workitem = _get_for_update(sop_instance_uid)
    given_uid = modifications.get("TransactionUID") or ""
    if workitem.is_final:
        raise DicomError(
            "The UPS may no longer be updated", status=statuses.UPS_MAY_NO_LONGER_BE_UPDATED
        )
    if workitem.state == IN_PROGRESS and given_uid != workitem.transaction_uid:
        raise DicomError(
            "The correct Transaction UID was not provided",
            status=statuses.UPS_WRONG_TRANSACTION_UID,
        )
    if workitem.state == SCHEDULED and given_uid:
        # CC.2.6.2: a Transaction UID belongs to a claimed workitem only.
        raise DicomError("The UPS is not IN PROGRESS", status=statuses.UPS_NOT_IN_PROGRESS)
    _check_character_set(modifications)
    checks.check_set(modifications)
    before = stored_dataset(workitem)
    after = copy.deepcopy(before)
    for element in _workitem_elements(modifications):
        after[element.tag] = element
    _store(workitem, after)
    workitem.save()
    workitem_replace_child_rows(workitem, after)
    detail = {"attributes": _attribute_names(modifications)}
    audit_record(action="ups.set", **_ref(sop_instance_uid), detail=detail)
    _emit_changes(workitem, before, after)
    return workitem


def ups_get(*, sop_instance_uid: str, tags: list[int] | None = None) -> tuple[Dataset, int]:
    """The workitem's attributes (CC.2.7) and the status: all of them, or the
    top-level `tags` asked for, with warning 0x0001 if the workitem has not
    some of them (an attribute the RIS does not keep, or the Transaction UID,
    which is never returned)."""
    workitem = workitem_active_get(sop_instance_uid=sop_instance_uid)
    if workitem is None:
        raise _no_such(sop_instance_uid)
    dataset = stored_dataset(workitem)
    if not tags:
        return dataset, statuses.SUCCESS
    answer = Dataset()
    for tag in tags:
        if tag in dataset:
            answer[tag] = dataset[tag]
    missing = len(answer) < len(set(tags))
    return answer, (statuses.OPTIONAL_ATTRIBUTES_NOT_SUPPORTED if missing else statuses.SUCCESS)


@transaction.atomic
def ups_change_state(
    *, sop_instance_uid: str, requested_state: str, transaction_uid: str | None
) -> int:
    """Change UPS State (N-ACTION type 1) as Table CC.1.1-2 says; returns the
    status (success, or a warning for a workitem already in that final state)."""
    if transaction_uid and not _is_valid_uid(transaction_uid):
        raise DicomError(
            "The Transaction UID is not a valid UID", status=statuses.INVALID_ARGUMENT_VALUE
        )
    workitem = workitem_active_get(sop_instance_uid=sop_instance_uid, for_update=True)
    outcome = change_state(
        current=workitem.state if workitem else None,
        requested=requested_state,
        given_uid=transaction_uid,
        recorded_uid=workitem.transaction_uid if workitem else None,
    )
    if outcome.new_state is None:
        if statuses.is_warning(outcome.status):
            return outcome.status
        raise DicomError(_STATE_REFUSALS[outcome.status], status=outcome.status)
    dataset = stored_dataset(workitem)
    if outcome.new_state == CANCELED:
        _fill_cancellation_time(dataset)
    if outcome.check_final_state:
        checks.check_final_state(dataset, outcome.new_state)
    if outcome.record_transaction_uid:
        workitem.transaction_uid = transaction_uid
    detail = {"state": [workitem.state, outcome.new_state]}
    audit_record(action="ups.state", **_ref(sop_instance_uid), detail=detail)
    _move(workitem, dataset, outcome.new_state)
    return outcome.status


@transaction.atomic
def ups_request_cancel(
    *, sop_instance_uid: str, requesting_ae: str, request: Dataset | None = None
) -> int:
    """Request UPS Cancel (N-ACTION type 2, CC.2.2.3).

    SCHEDULED: nobody performs it, so the RIS cancels it itself, through IN
    PROGRESS as the table has it (a State Report for each step), filling in
    what CANCELED needs. IN PROGRESS: the performer decides; the RIS tells the
    subscribers (UPS Cancel Requested) and answers success, or 0xC312 if no
    one is subscribed to be told. Of `request`, the Action Information, only
    the arguments of Table CC.2.2-1 are read (events.CANCEL_REQUEST_ARGUMENTS).
    """
    request = request or Dataset()
    workitem = _get_for_update(sop_instance_uid)
    if workitem.state == CANCELED:
        return statuses.UPS_ALREADY_CANCELED
    if workitem.is_final:
        raise DicomError(
            "The UPS is already COMPLETED", status=statuses.UPS_ALREADY_COMPLETED_CANNOT_CANCEL
        )
    subscribers = workitem_subscribers(workitem)
    if workitem.state == IN_PROGRESS and not subscribers:
        raise DicomError(
            "No subscriber to tell the performer",
            status=statuses.UPS_PERFORMER_CANNOT_BE_CONTACTED,
        )
    events.event_enqueue(
        subscribers=subscribers,
        event_type_id=events.CANCEL_REQUESTED,
        sop_instance_uid=workitem.sop_instance_uid,
        info=events.cancel_requested_info(requesting_ae=requesting_ae, request=request),
    )
    before = workitem.state
    if workitem.state == SCHEDULED:
        _cancel_scheduled(workitem, request)
    detail = {"requesting_ae": requesting_ae, "state": [before, workitem.state]}
    audit_record(action="ups.cancel_request", **_ref(sop_instance_uid), detail=detail)
    return statuses.SUCCESS


@transaction.atomic
def ups_subscribe(
    *,
    sop_instance_uid: str,
    receiving_ae: str,
    deletion_lock: bool,
    matching_keys: Dataset | None = None,
    delivery: str = Delivery.DIMSE,
    owner=None,
) -> int:
    """Subscribe to Receive UPS Event Reports (N-ACTION type 3, CC.2.3.2).

    To one workitem; to all (the global instance); or to those matching
    `matching_keys` (the filtered global instance), now and as they are
    created. Every workitem the AE newly watches gets an initial State Report.
    A subscription that exists is updated (its lock, its delivery), never
    doubled. `delivery` is the door the events go through: N-EVENT-REPORT to
    a registered AE, or the WebSocket a UPS-RS subscriber opens; `owner`, for
    a WebSocket, the user (API client) whose socket it is.
    """
    subscriber = events.Subscriber(receiving_ae, Delivery(delivery))
    if subscriber.delivery == Delivery.DIMSE:
        _check_receiving_ae(receiving_ae)
    _check_subscriber(subscriber, owner)
    # Not the matching keys of a filtered subscription: they may name a patient.
    detail = {"receiving_ae": receiving_ae, "deletion_lock": deletion_lock, "delivery": delivery}
    audit_record(action="ups.subscribe", **_ref(sop_instance_uid), detail=detail)
    if sop_instance_uid in GLOBAL_INSTANCES:
        filtered = sop_instance_uid == FILTERED_GLOBAL_SUBSCRIPTION_UID
        keys = matching_keys if filtered else None
        return _subscribe_globally(subscriber, deletion_lock, keys, owner)
    locks.global_subscriptions(exclusive=False)
    workitem = _get_for_update(sop_instance_uid)
    Subscription.objects.update_or_create(
        workitem=workitem,
        ae_title=receiving_ae,
        defaults={
            "deletion_lock": deletion_lock,
            "delivery": subscriber.delivery,
            "owner": owner,
        },
    )
    _report_state([subscriber], workitem)
    return statuses.SUCCESS


@transaction.atomic
def ups_unsubscribe(
    *, sop_instance_uid: str, receiving_ae: str, delivery: str = Delivery.DIMSE, owner=None
) -> int:
    """Unsubscribe (N-ACTION type 4): from one workitem, releasing its lock; from
    the global instance, from everything, releasing every lock (CC.2.3.2).
    Each door ends its own subscriptions (`delivery`). An AE no longer
    registered may still unsubscribe, to release its locks."""
    if delivery == Delivery.DIMSE:
        _check_receiving_ae(receiving_ae, or_subscribed=True)
    _check_subscriber(events.Subscriber(receiving_ae, delivery), owner)
    detail = {"receiving_ae": receiving_ae, "delivery": delivery}
    audit_record(action="ups.unsubscribe", **_ref(sop_instance_uid), detail=detail)
    if sop_instance_uid in GLOBAL_INSTANCES:
        locks.global_subscriptions(exclusive=True)
        ended = GlobalSubscription.objects.filter(ae_title=receiving_ae, delivery=delivery)
        ended = ended.delete()[0]
        ended += Subscription.objects.filter(ae_title=receiving_ae, delivery=delivery).delete()[0]
    else:
        workitem = _get_for_update(sop_instance_uid)
        ended = Subscription.objects.filter(
            workitem=workitem, ae_title=receiving_ae, delivery=delivery
        ).delete()[0]
    if not ended and delivery == Delivery.WEBSOCKET:
        # PS3.18 11.11: 404 when there is no such subscription. (An unregistered
        # AE gets 0xC308 over DIMSE above; over UPS-RS no registry applies.)
        raise DicomError(
            f"{receiving_ae} has no such subscription"[:64],
            status=statuses.UPS_UNKNOWN_RECEIVING_AE,
        )
    return statuses.SUCCESS


@transaction.atomic
def ups_suspend_global_subscription(
    *, sop_instance_uid: str, receiving_ae: str, delivery: str = Delivery.DIMSE, owner=None
) -> int:
    """Suspend Global Subscription (N-ACTION type 5): no new workitems are
    subscribed; the subscriptions the AE has keep going (CC.2.3.2)."""
    if delivery == Delivery.DIMSE:
        _check_receiving_ae(receiving_ae, or_subscribed=True)
    _check_subscriber(events.Subscriber(receiving_ae, delivery), owner)
    if sop_instance_uid not in GLOBAL_INSTANCES:
        raise DicomError(
            "Suspend is for the global subscription only",
            status=statuses.UPS_ACTION_NOT_APPROPRIATE,
        )
    locks.global_subscriptions(exclusive=True)
    GlobalSubscription.objects.filter(ae_title=receiving_ae, delivery=delivery).delete()
    detail = {"receiving_ae": receiving_ae, "delivery": delivery}
    audit_record(action="ups.suspend", **_ref(sop_instance_uid), detail=detail)
    return statuses.SUCCESS


@transaction.atomic
def ups_announce_scp_status(*, scp_status: str) -> int:
    """SCP Status Change (event type 4) to every subscriber: "RESTARTED" when
    the DICOM service starts, "GOING DOWN" before it stops. A global
    subscriber hears it once, on the global instance; any other subscriber once
    for each workitem it watches. Returns how many events were queued."""
    info = events.scp_status_info(scp_status)
    global_aes = set()
    queued = 0
    for subscription in GlobalSubscription.objects.order_by("ae_title"):
        events.event_enqueue(
            subscribers=[events.Subscriber(subscription.ae_title, subscription.delivery)],
            event_type_id=events.SCP_STATUS_CHANGE,
            sop_instance_uid=subscription.instance_uid,
            info=info,
        )
        global_aes.add(subscription.ae_title)
        queued += 1
    watched = (
        Subscription.objects.filter(workitem__in=workitems_active())
        .exclude(ae_title__in=global_aes)
        .values_list("ae_title", "delivery", "workitem__sop_instance_uid")
        .order_by("ae_title", "workitem_id")
    )
    for ae_title, delivery, uid in watched:
        events.event_enqueue(
            subscribers=[events.Subscriber(ae_title, delivery)],
            event_type_id=events.SCP_STATUS_CHANGE,
            sop_instance_uid=uid,
            info=info,
        )
        queued += 1
    return queued


def stored_dataset(workitem: Workitem) -> Dataset:
    """The workitem as DICOM, from its DICOM JSON (it never holds the Transaction UID)."""
    return Dataset.from_json(workitem.dataset)


# --- helpers


_STATE_REFUSALS = {
    statuses.UPS_MAY_NO_LONGER_BE_UPDATED: "The UPS may no longer be updated",
    statuses.UPS_WRONG_TRANSACTION_UID: "The correct Transaction UID was not provided",
    statuses.UPS_ALREADY_IN_PROGRESS: "The UPS is already IN PROGRESS",
    statuses.UPS_MAY_ONLY_BECOME_SCHEDULED_BY_N_CREATE: "A UPS becomes SCHEDULED by N-CREATE only",
    statuses.UPS_NO_SUCH_INSTANCE: "No such UPS",
    statuses.UPS_NOT_IN_PROGRESS: "The UPS is not IN PROGRESS",
    statuses.INVALID_ARGUMENT_VALUE: "Unknown Procedure Step State",
}


def _ref(uid: str) -> dict:
    """The workitem (or global subscription instance), as the audit trail names it."""
    return {"object_type": "ups", "object_id": uid}


def _attribute_names(modifications: Dataset) -> list[str]:
    """Which attributes an N-SET changes, not their values: a workitem holds patient data."""
    return sorted({e.keyword or str(e.tag) for e in _workitem_elements(modifications)})


def _no_such(uid: str) -> DicomError:
    return DicomError(f"No UPS {uid}"[:64], status=statuses.UPS_NO_SUCH_INSTANCE)


def _get_for_update(uid: str) -> Workitem:
    workitem = workitem_active_get(sop_instance_uid=uid, for_update=True)
    if workitem is None:
        raise _no_such(uid)
    return workitem


def _is_valid_uid(uid: str) -> bool:
    try:
        validate_uid(uid)
    except ValidationError:
        return False
    return True


def _check_uid(uid: str) -> None:
    if not _is_valid_uid(uid):
        raise DicomError(
            f"Invalid SOP Instance UID {uid!r}"[:64], status=statuses.INVALID_SOP_INSTANCE
        )


def _check_character_set(dataset: Dataset) -> None:
    """A character set the RIS cannot decode is a value it cannot take (0x0106)."""
    try:
        check_character_set(dataset)
    except IdentifierError as error:
        raise DicomError(
            error.comment[:64], status=statuses.INVALID_ATTRIBUTE_VALUE, offending=error.offending
        ) from None


def _check_receiving_ae(ae_title: str, *, or_subscribed: bool = False) -> None:
    """Events go to registered AEs only: the RIS needs their host and port
    (0xC308). One that was removed may still end its subscriptions."""
    ae_title = (ae_title or "").strip()
    if RemoteAE.objects.filter(ae_title=ae_title).exists():
        return
    if or_subscribed and (
        Subscription.objects.filter(ae_title=ae_title).exists()
        or GlobalSubscription.objects.filter(ae_title=ae_title).exists()
    ):
        return
    raise DicomError(
        f"Receiving AE {ae_title!r} is unknown to the RIS"[:64],
        status=statuses.UPS_UNKNOWN_RECEIVING_AE,
    )


def _check_subscriber(subscriber: events.Subscriber, owner) -> None:
    """An AE title subscribed through one door (DIMSE or UPS-RS) is not taken
    over through the other, and a WebSocket subscriber's AE title not by
    another client: its events would silently go elsewhere (0x0124)."""
    subscriptions = [
        *Subscription.objects.filter(ae_title=subscriber.ae_title).values("delivery", "owner"),
        *GlobalSubscription.objects.filter(ae_title=subscriber.ae_title).values(
            "delivery", "owner"
        ),
    ]
    if any(row["delivery"] != subscriber.delivery for row in subscriptions):
        raise DicomError(
            f"{subscriber.ae_title} is subscribed through the other door"[:64],
            status=statuses.NOT_AUTHORIZED,
        )
    owner_key = getattr(owner, "pk", None)
    if subscriber.delivery == Delivery.WEBSOCKET and any(
        row["owner"] != owner_key for row in subscriptions
    ):
        raise DicomError(
            f"{subscriber.ae_title} is another client's subscriber"[:64],
            status=statuses.NOT_AUTHORIZED,
        )


def _new_workitem_dataset(attributes: Dataset, uid: str) -> Dataset:
    """The stored data set of a new workitem: what was sent, completed by the SCP."""
    dataset = Dataset()
    for element in _workitem_elements(attributes):
        dataset[element.tag] = element
    for keyword in checks.CREATE_TYPE_2:
        if keyword not in dataset:
            setattr(dataset, keyword, [] if keyword.endswith("Sequence") else None)
    if not dataset.WorklistLabel:
        dataset.WorklistLabel = DEFAULT_WORKLIST_LABEL
    dataset.SOPClassUID = UPS_PUSH_SOP_CLASS_UID
    dataset.SOPInstanceUID = uid
    return dataset


def _workitem_elements(request: Dataset):
    """The elements of a request that belong in the workitem: not its character
    set (values are kept as Unicode), not the Transaction UID (never in the
    data set), not group lengths."""
    return (
        element
        for element in request
        if element.tag.element and element.keyword not in ("SpecificCharacterSet", "TransactionUID")
    )


def _now_dt() -> str:
    return format_datetime(timezone.now(), timezone.get_default_timezone())


def _store(workitem: Workitem, dataset: Dataset) -> None:
    """Keep the data set as DICOM JSON and copy its matching keys to the columns.

    Text is Unicode in JSON, so Specific Character Set is not kept; the RIS
    answers in UTF-8 where a value needs it. Every store is a change, so it
    sets Scheduled Procedure Step Modification DateTime (Table CC.2.5-3: the
    SCP's, at creation and at each N-SET) and its column to the same moment.
    """
    now = timezone.now()
    dataset.ScheduledProcedureStepModificationDateTime = format_datetime(
        now, timezone.get_default_timezone()
    )
    as_json = dataset.to_json_dict()
    as_json.pop("00080005", None)
    as_json.pop("00081195", None)
    workitem.dataset = as_json
    try:
        columns = workitem_columns(dataset)
    except (ValueError, IdentifierError) as error:
        raise DicomError(str(error)[:64], status=statuses.INVALID_ATTRIBUTE_VALUE) from None
    for field, value in columns.items():
        setattr(workitem, field, value)
    workitem.modified_at = now
    try:
        workitem.clean_fields(exclude=["dataset", "created_by"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise DicomError(
            f"{field}: {messages[0]}"[:64], status=statuses.INVALID_ATTRIBUTE_VALUE
        ) from None


def _move(workitem: Workitem, dataset: Dataset, state: str) -> None:
    """Put the workitem in `state` and tell its subscribers (UPS State Report)."""
    dataset.ProcedureStepState = state
    _store(workitem, dataset)
    workitem.state = state
    if state in FINAL:
        workitem.final_at = timezone.now()
    workitem.save()
    _report_state(workitem_subscribers(workitem), workitem, dataset)


def _cancel_scheduled(workitem: Workitem, request: Dataset) -> None:
    """The RIS, as performer, cancels a SCHEDULED workitem: IN PROGRESS, then
    CANCELED with the cancellation time and the reason (the requester's, or
    "unspecified"), so that the final state requirements are met."""
    dataset = stored_dataset(workitem)
    workitem.transaction_uid = new_uid()
    _move(workitem, dataset, IN_PROGRESS)
    progress = _progress_item(dataset)  # what an N-SET put there stays
    progress.ProcedureStepCancellationDateTime = _now_dt()
    reasons = request.get("ProcedureStepDiscontinuationReasonCodeSequence")
    progress.ProcedureStepDiscontinuationReasonCodeSequence = reasons or [_unspecified_reason()]
    if request.get("ReasonForCancellation"):
        progress.ReasonForCancellation = request.ReasonForCancellation
    if request.get("ContactURI"):
        contact = Dataset()
        contact.ContactURI = request.ContactURI
        contact.ContactDisplayName = request.get("ContactDisplayName", "")
        progress.ProcedureStepCommunicationsURISequence = [contact]
    checks.check_final_state(dataset, CANCELED)
    _move(workitem, dataset, CANCELED)


def _unspecified_reason() -> Dataset:
    """DCM 110513 "Discontinued for unspecified reason" (PS3.16 CID 9300)."""
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "110513", "DCM"
    code.CodeMeaning = "Discontinued for unspecified reason"
    return code


def _progress_item(dataset: Dataset) -> Dataset:
    """The Procedure Step Progress Information Sequence's item, made if missing."""
    if not dataset.get("ProcedureStepProgressInformationSequence"):
        dataset.ProcedureStepProgressInformationSequence = [Dataset()]
    return dataset.ProcedureStepProgressInformationSequence[0]


def _fill_cancellation_time(dataset: Dataset) -> None:
    """CC.2.5.1.3: the SCP may fill Procedure Step Cancellation DateTime when
    the performer cancels without it."""
    progress = _progress_item(dataset)
    if not progress.get("ProcedureStepCancellationDateTime"):
        progress.ProcedureStepCancellationDateTime = _now_dt()


def _report_state(
    subscribers: list[events.Subscriber], workitem: Workitem, dataset: Dataset | None = None
) -> None:
    events.event_enqueue(
        subscribers=subscribers,
        event_type_id=events.STATE_REPORT,
        sop_instance_uid=workitem.sop_instance_uid,
        info=events.state_report_info(dataset or stored_dataset(workitem)),
    )


def _emit_changes(workitem: Workitem, before: Dataset, after: Dataset) -> None:
    """The events an N-SET causes (CC.2.4.3): a State Report when the input
    readiness changes, a Progress Report when the progress, its description or
    the contact URIs change, UPS Assigned when the station or performers do."""
    subscribers = workitem_subscribers(workitem)
    if not subscribers:
        return
    uid = workitem.sop_instance_uid
    if before.get("InputReadinessState") != after.get("InputReadinessState"):
        _report_state(subscribers, workitem, after)
    if _progress(before) != _progress(after):
        events.event_enqueue(
            subscribers=subscribers,
            event_type_id=events.PROGRESS_REPORT,
            sop_instance_uid=uid,
            info=events.progress_report_info(after),
        )
    if events.is_assigned(after) and any(
        before.get(keyword) != after.get(keyword)
        for keyword in ("ScheduledStationNameCodeSequence", "ScheduledHumanPerformersSequence")
    ):
        events.event_enqueue(
            subscribers=subscribers,
            event_type_id=events.ASSIGNED,
            sop_instance_uid=uid,
            info=events.assigned_info(after),
        )


def _progress(dataset: Dataset) -> tuple:
    item = checks.first_item(dataset, "ProcedureStepProgressInformationSequence")
    if item is None:
        return ()
    return tuple(
        item.get(keyword)
        for keyword in (
            "ProcedureStepProgress",
            "ProcedureStepProgressDescription",
            "ProcedureStepCommunicationsURISequence",
        )
    )


def _subscribe_global_subscribers(workitem: Workitem, dataset: Dataset) -> None:
    """A new workitem is subscribed for every global subscriber whose filter it
    matches, with the global subscription's lock, and they hear of it: a State
    Report, and UPS Assigned if it names a station or performer (CC.2.4.3)."""
    subscribers = []
    for subscription in GlobalSubscription.objects.order_by("ae_title"):
        if subscription.matching_keys is not None and not _matches(
            workitem, subscription.matching_keys
        ):
            continue
        Subscription.objects.create(
            workitem=workitem,
            ae_title=subscription.ae_title,
            deletion_lock=subscription.deletion_lock,
            delivery=subscription.delivery,
            owner=subscription.owner,
        )
        subscribers.append(events.Subscriber(subscription.ae_title, subscription.delivery))
    _report_state(subscribers, workitem, dataset)
    if events.is_assigned(dataset):
        events.event_enqueue(
            subscribers=subscribers,
            event_type_id=events.ASSIGNED,
            sop_instance_uid=workitem.sop_instance_uid,
            info=events.assigned_info(dataset),
        )


def _matches(workitem: Workitem, matching_keys: dict) -> bool:
    """Whether the workitem would be found by a C-FIND with these keys (the
    same search: the SQL conditions and the keys matched on the data set)."""
    keys = Dataset.from_json(matching_keys)
    return any(workitems_matching(keys, Workitem.objects.filter(pk=workitem.pk)))


def _subscribe_globally(
    subscriber: events.Subscriber, deletion_lock: bool, matching_keys: Dataset | None, owner
) -> int:
    """Make or replace the AE's global subscription, and subscribe it to every
    managed workitem it covers that it does not watch yet (a per-workitem
    subscription it has keeps its own lock), each with an initial State Report."""
    locks.global_subscriptions(exclusive=True)
    # Locked, so that a change committing meanwhile is reported after the
    # initial State Report, not before it with the report then stale.
    receiving_ae = subscriber.ae_title
    unwatched = (
        workitems_active()
        .exclude(subscriptions__ae_title=receiving_ae)
        .select_for_update(of=("self",))
    )
    if matching_keys is None:
        new = list(unwatched.order_by("scheduled_start", "pk"))
    else:
        try:
            new = list(workitems_matching(matching_keys, unwatched))
        except IdentifierError as error:
            raise DicomError(
                error.comment, status=statuses.INVALID_ARGUMENT_VALUE, offending=error.offending
            ) from None
    GlobalSubscription.objects.update_or_create(
        ae_title=receiving_ae,
        defaults={
            "deletion_lock": deletion_lock,
            "matching_keys": None if matching_keys is None else matching_keys.to_json_dict(),
            "delivery": subscriber.delivery,
            "owner": owner,
        },
    )
    Subscription.objects.bulk_create(
        (
            Subscription(
                workitem=workitem,
                ae_title=receiving_ae,
                deletion_lock=deletion_lock,
                delivery=subscriber.delivery,
                owner=owner,
            )
            for workitem in new
        ),
        ignore_conflicts=True,
    )
    for workitem in new:
        _report_state([subscriber], workitem)
    return statuses.SUCCESS
