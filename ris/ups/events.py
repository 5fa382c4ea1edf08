"""UPS event reports (PS3.4 CC.2.4): what each event says, and to whom it is queued.

Every event is written to the outbox in the transaction of the change that
caused it, one message per subscriber, so that a subscriber receives a
workitem's events in the order of the changes, once each delivered, and
nothing is lost when a process dies (ris.outbox). The DICOM service delivers
them as N-EVENT-REPORT (dimse.dispatch).

The payload, read by the deliverer:
    {"event_type_id": 1..5, "sop_instance_uid": "...", "info": <DICOM JSON>}
"""

from typing import NamedTuple

from pydicom import Dataset

from ris.dicom.charset import set_response_character_set
from ris.outbox.models import Channel
from ris.outbox.services import outbox_enqueue_all
from ris.ups import UPS_PUSH_SOP_CLASS_UID
from ris.ups.models import Delivery

# Event Type ID (0000,1002), PS3.4 Table CC.2.4-1.
STATE_REPORT = 1
CANCEL_REQUESTED = 2
PROGRESS_REPORT = 3
SCP_STATUS_CHANGE = 4
ASSIGNED = 5
EVENT_TYPES = {
    STATE_REPORT: "UPS State Report",
    CANCEL_REQUESTED: "UPS Cancel Requested",
    PROGRESS_REPORT: "UPS Progress Report",
    SCP_STATUS_CHANGE: "SCP Status Change",
    ASSIGNED: "UPS Assigned",
}


def event_payload(*, event_type_id: int, sop_instance_uid: str, info: Dataset) -> dict:
    """The outbox payload of one event report."""
    if event_type_id not in EVENT_TYPES:
        raise ValueError(f"Unknown UPS event type {event_type_id}")
    # Values are Unicode here; the report says the character set they need.
    set_response_character_set(info, Dataset())
    return {
        "event_type_id": event_type_id,
        "sop_instance_uid": str(sop_instance_uid),
        "info": info.to_json_dict(),
    }


class Subscriber(NamedTuple):
    """Who receives events, and over which door (ris.ups.models.Delivery)."""

    ae_title: str
    delivery: str


# The outbox channel of each delivery: N-EVENT-REPORT, or the WebSocket.
CHANNELS = {Delivery.DIMSE: Channel.UPS_EVENT, Delivery.WEBSOCKET: Channel.UPS_WEBSOCKET}


def event_enqueue(
    *, subscribers: list[Subscriber], event_type_id: int, sop_instance_uid: str, info: Dataset
) -> None:
    """Queue the event for each subscriber, on the channel it subscribed
    through; call it inside the change's transaction."""
    payload = event_payload(
        event_type_id=event_type_id, sop_instance_uid=sop_instance_uid, info=info
    )
    outbox_enqueue_all(
        messages=[
            (CHANNELS[subscriber.delivery], subscriber.ae_title, payload)
            for subscriber in subscribers
        ]
    )


def state_report_info(workitem: Dataset) -> Dataset:
    """UPS State Report (Table CC.2.4-1): the state, the input readiness and,
    for a cancelled workitem, why."""
    info = Dataset()
    info.ProcedureStepState = workitem.ProcedureStepState
    info.InputReadinessState = workitem.InputReadinessState
    progress = workitem.get("ProcedureStepProgressInformationSequence")
    if workitem.ProcedureStepState == "CANCELED" and progress:
        for keyword in ("ReasonForCancellation", "ProcedureStepDiscontinuationReasonCodeSequence"):
            if progress[0].get(keyword):
                info[keyword] = progress[0][keyword]
    return info


def progress_report_info(workitem: Dataset) -> Dataset:
    """UPS Progress Report: the Procedure Step Progress Information Sequence."""
    info = Dataset()
    info.ProcedureStepProgressInformationSequence = workitem.get(
        "ProcedureStepProgressInformationSequence", []
    )
    return info


def assigned_info(workitem: Dataset) -> Dataset:
    """UPS Assigned: the station and the human performer, each where the workitem has one."""
    info = Dataset()
    if workitem.get("ScheduledStationNameCodeSequence"):
        info.ScheduledStationNameCodeSequence = workitem.ScheduledStationNameCodeSequence
    performers = workitem.get("ScheduledHumanPerformersSequence")
    if performers:
        for keyword in ("HumanPerformerCodeSequence", "HumanPerformerOrganization"):
            if performers[0].get(keyword):
                info[keyword] = performers[0][keyword]
    return info


def is_assigned(workitem: Dataset) -> bool:
    """Whether the workitem names its station or a performer, so that UPS
    Assigned has something to say (CC.2.4.3)."""
    return len(assigned_info(workitem)) > 0


def cancel_requested_info(*, requesting_ae: str, request: Dataset) -> Dataset:
    """UPS Cancel Requested: who asked, and what they gave of reason and contact."""
    info = Dataset()
    info.RequestingAE = requesting_ae
    for keyword in CANCEL_REQUEST_ARGUMENTS:
        if request.get(keyword):
            info[keyword] = request[keyword]
    return info


def scp_status_info(scp_status: str) -> Dataset:
    """SCP Status Change: subscriptions and workitems live in the database, so
    both lists survive a restart (WARM START)."""
    info = Dataset()
    info.SCPStatus = scp_status
    info.SubscriptionListStatus = "WARM START"
    info.UnifiedProcedureStepListStatus = "WARM START"
    return info


# Action Information of Request UPS Cancel (N-ACTION type 2), PS3.4 Table CC.2.2-1.
CANCEL_REQUEST_ARGUMENTS = (
    "ReasonForCancellation",
    "ProcedureStepDiscontinuationReasonCodeSequence",
    "ContactURI",
    "ContactDisplayName",
)


def event_report_json(payload: dict, *, message_id: int) -> dict:
    """An outbox event payload as the UPS-RS WebSocket sends it (PS3.18 11.13):
    a DICOM JSON object with the N-EVENT-REPORT command fields (Affected SOP
    Class UID, always UPS Push; Message ID; Affected SOP Instance UID; Event
    Type ID) and the Event Information, keys in ascending order."""
    report = {
        "00000002": {"vr": "UI", "Value": [UPS_PUSH_SOP_CLASS_UID]},
        "00000110": {"vr": "US", "Value": [message_id % 0x10000]},
        "00001000": {"vr": "UI", "Value": [payload["sop_instance_uid"]]},
        "00001002": {"vr": "US", "Value": [payload["event_type_id"]]},
        **payload["info"],
    }
    return dict(sorted(report.items()))
