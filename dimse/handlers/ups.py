"""Unified Procedure Step (PS3.4 Annex CC) over DIMSE, translated to and from ris.ups.

N-CREATE, N-SET, N-GET and N-ACTION carry the UPS Push SOP Class UID on
whichever UPS context was negotiated (CC.3.1); some SCUs send the class of
that context instead, and both are accepted. C-FIND comes on the Pull,
Watch or Query context (dimse.handlers.find routes it here).
"""

from pydicom import Dataset
from pynetdicom.sop_class import (
    UnifiedProcedureStepEvent,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery,
    UnifiedProcedureStepWatch,
)

from dimse.handlers.nservice import created, perform, requested_instance_uid
from ris.dicom import statuses
from ris.dicom.charset import set_response_character_set
from ris.dicom.errors import DicomError
from ris.nodes.models import Service
from ris.ups import services

UPS_SOP_CLASSES = {
    str(uid)
    for uid in (
        UnifiedProcedureStepPush,
        UnifiedProcedureStepPull,
        UnifiedProcedureStepWatch,
        UnifiedProcedureStepEvent,
        UnifiedProcedureStepQuery,
    )
}
FIND_SOP_CLASSES = {
    str(uid)
    for uid in (UnifiedProcedureStepPull, UnifiedProcedureStepWatch, UnifiedProcedureStepQuery)
}

CHANGE_STATE, REQUEST_CANCEL, SUBSCRIBE, UNSUBSCRIBE, SUSPEND_GLOBAL = 1, 2, 3, 4, 5
ACTION_NAMES = {
    CHANGE_STATE: "Change State",
    REQUEST_CANCEL: "Request Cancel",
    SUBSCRIBE: "Subscribe",
    UNSUBSCRIBE: "Unsubscribe",
    SUSPEND_GLOBAL: "Suspend Global Subscription",
}


def is_ups(sop_class_uid) -> bool:
    return str(sop_class_uid) in UPS_SOP_CLASSES


def handle_n_create(event):
    return perform(event, operation="UPS N-CREATE", service=Service.UPS, perform=_create)


def handle_n_set(event):
    return perform(
        event,
        operation="UPS N-SET",
        service=Service.UPS,
        perform=_set,
        elements_field="AttributeIdentifierList",
    )


def handle_n_get(event):
    return perform(
        event,
        operation="UPS N-GET",
        service=Service.UPS,
        perform=_get,
        elements_field="AttributeIdentifierList",
        reads=True,
    )


def handle_n_action(event):
    name = ACTION_NAMES.get(event.action_type, f"action {event.action_type}")
    return perform(event, operation=f"UPS N-ACTION {name}", service=Service.UPS, perform=_action)


def _create(event):
    workitem = services.ups_create(
        sop_instance_uid=requested_instance_uid(event),
        attributes=event.attribute_list,
        created_by=_calling_ae(event),
    )
    return created(event, workitem.sop_instance_uid)


def _set(event):
    uid = str(event.request.RequestedSOPInstanceUID)
    services.ups_set(sop_instance_uid=uid, modifications=event.modification_list)
    return statuses.SUCCESS, None, uid


def _get(event):
    uid = str(event.request.RequestedSOPInstanceUID)
    tags = [int(tag) for tag in event.attribute_identifiers or []]
    dataset, status = services.ups_get(sop_instance_uid=uid, tags=tags)
    set_response_character_set(dataset, Dataset())
    return status, dataset, uid


def _action(event):
    uid = str(event.request.RequestedSOPInstanceUID)
    information = event.action_information or Dataset()
    act = _ACTIONS.get(event.action_type)
    if act is None:
        raise DicomError(f"No such action type {event.action_type}", status=statuses.NO_SUCH_ACTION)
    status = act(event, uid, information)
    return status, None, uid


def _change_state(event, uid: str, information: Dataset) -> int:
    state = information.get("ProcedureStepState")
    if not state:
        raise DicomError("Procedure Step State is required", status=statuses.INVALID_ARGUMENT_VALUE)
    return services.ups_change_state(
        sop_instance_uid=uid,
        requested_state=state,
        transaction_uid=information.get("TransactionUID") or None,
    )


def _request_cancel(event, uid: str, information: Dataset) -> int:
    return services.ups_request_cancel(
        sop_instance_uid=uid, requesting_ae=_calling_ae(event), request=information
    )


def _subscribe(event, uid: str, information: Dataset) -> int:
    lock = str(information.get("DeletionLock") or "").strip().upper()
    if lock not in ("TRUE", "FALSE"):
        # Table CC.2.3-1: Deletion Lock 1/1, "TRUE" or "FALSE".
        raise DicomError(
            "Deletion Lock must be TRUE or FALSE", status=statuses.INVALID_ARGUMENT_VALUE
        )
    keys = Dataset()
    for element in information:
        if element.keyword not in ("ReceivingAE", "DeletionLock", "SpecificCharacterSet"):
            keys[element.tag] = element
    return services.ups_subscribe(
        sop_instance_uid=uid,
        receiving_ae=_receiving_ae(information),
        deletion_lock=lock == "TRUE",
        matching_keys=keys,
    )


def _unsubscribe(event, uid: str, information: Dataset) -> int:
    return services.ups_unsubscribe(sop_instance_uid=uid, receiving_ae=_receiving_ae(information))


def _suspend(event, uid: str, information: Dataset) -> int:
    return services.ups_suspend_global_subscription(
        sop_instance_uid=uid, receiving_ae=_receiving_ae(information)
    )


_ACTIONS = {
    CHANGE_STATE: _change_state,
    REQUEST_CANCEL: _request_cancel,
    SUBSCRIBE: _subscribe,
    UNSUBSCRIBE: _unsubscribe,
    SUSPEND_GLOBAL: _suspend,
}


def _receiving_ae(information: Dataset) -> str:
    ae_title = str(information.get("ReceivingAE") or "").strip()
    if not ae_title:
        raise DicomError("Receiving AE is required", status=statuses.INVALID_ARGUMENT_VALUE)
    return ae_title


def _calling_ae(event) -> str:
    return event.assoc.requestor.ae_title.strip()
