"""The database away: the DICOM service refuses what it cannot check or do,
with a status that says so, and serves again once the database is back."""

from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS
from pynetdicom.sop_class import ModalityWorklistInformationFind

from ris.dicom.statuses import OUT_OF_RESOURCES, RESOURCE_LIMITATION
from ris.mpps.models import PerformedProcedureStep
from ris.nodes.services import remote_ae_add
from tests.db_helpers import database_unreachable
from tests.dimse_helpers import RIS_AE_TITLE, associate
from tests.factories import ScheduledProcedureStepFactory
from tests.test_dimse_mpps import in_progress

REJECTED_TRANSIENT, SERVICE_PROVIDER_PRESENTATION, TEMPORARY_CONGESTION = 2, 3, 1


def modality(address):
    ae = AE(ae_title="CT1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.add_requested_context(MPPS)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    assoc = ae.associate(*address, ae_title=RIS_AE_TITLE)
    assert assoc.is_established
    return assoc


def worklist_statuses(assoc) -> list[int]:
    query = Dataset()
    query.PatientID = ""
    query.ScheduledProcedureStepSequence = [Dataset()]
    return [int(s.Status) for s, _ in assoc.send_c_find(query, ModalityWorklistInformationFind)]


def test_an_association_is_refused_for_now_while_the_caller_cannot_be_checked(
    dicom_service, settings
):
    """Not accepted unchecked: rejected-transient, temporary congestion (PS3.8
    Table 9-21), which a modality retries."""
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    remote_ae_add(ae_title="CT1", host="127.0.0.1", port=104)
    with database_unreachable():
        refused = associate(dicom_service, calling_ae_title="CT1")
    assert refused.is_rejected
    answer = refused.acceptor.primitive
    assert (answer.result, answer.result_source, answer.diagnostic) == (
        REJECTED_TRANSIENT,
        SERVICE_PROVIDER_PRESENTATION,
        TEMPORARY_CONGESTION,
    )
    accepted = associate(dicom_service, calling_ae_title="CT1")
    assert accepted.is_established
    accepted.release()


def test_queries_and_changes_in_an_outage_fail_with_a_status_and_work_after(dicom_service):
    step = ScheduledProcedureStepFactory()
    assoc = modality(dicom_service)
    try:
        with database_unreachable():
            assert worklist_statuses(assoc) == [OUT_OF_RESOURCES]
            uid = generate_uid()
            status, _ = assoc.send_n_create(in_progress(step), MPPS, uid)
            assert status.Status == RESOURCE_LIMITATION
        assert assoc.is_established  # the same association goes on
        assert not PerformedProcedureStep.objects.filter(sop_instance_uid=uid).exists()
        assert worklist_statuses(assoc) == [0xFF00, 0x0000]
        status, _ = assoc.send_n_create(in_progress(step), MPPS, uid)
        assert status.Status == 0x0000
    finally:
        assoc.release()
