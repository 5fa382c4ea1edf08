"""MPPS N-CREATE and N-SET (PS3.4 F.7), translated to and from ris.mpps.services."""

from dimse.handlers.nservice import created, perform, requested_instance_uid
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
    performed = mpps_create(
        sop_instance_uid=requested_instance_uid(event),
        attributes=event.attribute_list,
        calling_ae_title=event.assoc.requestor.ae_title.strip(),
    )
    return created(event, performed.sop_instance_uid)


def _set(event):
    uid = str(event.request.RequestedSOPInstanceUID)
    mpps_set(sop_instance_uid=uid, modifications=event.modification_list)
    return SUCCESS, None, uid
