"""A DICOM-level health check for load balancers: HAProxy's tcp-check lines.

A TCP connect proves only that a port is open; a process whose association
threads are stuck still accepts connections. This check asks for an
association (A-ASSOCIATE-RQ proposing Verification, PS3.8 9.3.2) as
RIS_DIMSE_HEALTH_CHECK_AE_TITLE, expects an A-ASSOCIATE-AC (PDU type 02; a
rejection is 03), releases it (A-RELEASE-RQ 05, expecting A-RELEASE-RP 06),
and so proves the service negotiates associations. The PDUs are encoded by
pynetdicom; `manage.py dimse_echo --haproxy` prints the lines for the AE
titles set (deploy/haproxy.cfg has them for RIS and HEALTHCHECK).
"""

from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID
from pynetdicom.pdu import A_ASSOCIATE_RQ, A_RELEASE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    A_RELEASE,
    ImplementationClassUIDNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import Verification

DICOM_APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"


def association_request(*, called: str, calling: str) -> bytes:
    """The A-ASSOCIATE-RQ PDU of a C-ECHO client."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = DICOM_APPLICATION_CONTEXT
    primitive.called_ae_title, primitive.calling_ae_title = called, calling
    context = build_context(Verification, ImplicitVRLittleEndian)
    context.context_id = 1
    primitive.presentation_context_definition_list = [context]
    maximum_length = MaximumLengthNotification()
    maximum_length.maximum_length_received = 16384
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = PYNETDICOM_IMPLEMENTATION_UID
    primitive.user_information = [maximum_length, implementation]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return pdu.encode()


def release_request() -> bytes:
    pdu = A_RELEASE_RQ()
    pdu.from_primitive(A_RELEASE())
    return pdu.encode()


def haproxy_tcp_check(*, called: str, calling: str) -> list[str]:
    """The lines of an HAProxy backend's check."""
    return [
        "option tcp-check",
        "tcp-check connect",
        f"tcp-check send-binary {association_request(called=called, calling=calling).hex()}",
        "tcp-check expect rbinary ^02",
        f"tcp-check send-binary {release_request().hex()}",
        "tcp-check expect rbinary ^06",
    ]
