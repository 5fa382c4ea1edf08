"""MPPS N-CREATE and N-SET (PS3.4 F.7), translated to and from ris.mpps.services."""

from pydicom import Dataset

from dimse.handlers.nservice import perform
from ris.dicom.statuses import SUCCESS
from ris.mpps.services import mpps_create, mpps_set
from ris.nodes.models import Service


def handle_n_create(event):
    # N-CREATE responses have no Attribute Identifier List (PS3.7 10.3.5).
    return perform(event, operation="MPPS N-CREATE", service=Service.MPPS, perform=_create)


def handle_n_set(event):
    return perform(
        event,
        operation="MPPS N-SET",
        service=Service.MPPS,
        perform=_set,
        elements_field="AttributeIdentifierList",
    )


def _create(event):
    requested_uid = event.request.AffectedSOPInstanceUID
    performed = mpps_create(
        sop_instance_uid=str(requested_uid) if requested_uid else None,
        attributes=event.attribute_list,
        calling_ae_title=event.assoc.requestor.ae_title.strip(),
    )
    if requested_uid:
        return SUCCESS, None, performed.sop_instance_uid
    # PS3.7 10.1.5.1.4: the RIS made the UID, so the response carries it.
    made = Dataset()
    made.AffectedSOPInstanceUID = performed.sop_instance_uid
    return SUCCESS, made, performed.sop_instance_uid


def _set(event):
    uid = str(event.request.RequestedSOPInstanceUID)
    mpps_set(sop_instance_uid=uid, modifications=event.modification_list)
    return SUCCESS, None, uid
