"""MPPS N-CREATE and N-SET over real associations on loopback (PS3.4 F.7)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS

from ris.mpps.models import PerformedProcedureStep
from ris.mpps.services import mpps_link
from ris.nodes.services import remote_ae_add
from ris.outbox.models import OutboundMessage
from ris.outbox.payloads import N_CREATE, N_SET
from ris.scheduling.models import Order, OrderStatus, ScheduledProcedureStep, StepStatus
from tests.dimse_helpers import dicom_dispatcher, wait_until
from tests.factories import RequestedProcedureFactory, ScheduledProcedureStepFactory


class Modality:
    """A modality's MPPS SCU on one association."""

    def __init__(self, address, ae_title="CT1"):
        ae = AE(ae_title=ae_title)
        ae.add_requested_context(MPPS)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
        self.assoc = ae.associate(*address, ae_title="RIS")
        assert self.assoc.is_established

    def create(self, attributes, uid="new"):
        uid = str(generate_uid()) if uid == "new" else uid
        status, _ = self.assoc.send_n_create(attributes, MPPS, uid)
        return status, uid

    def set(self, uid, modifications):
        status, _ = self.assoc.send_n_set(modifications, MPPS, uid)
        return status

    def release(self):
        self.assoc.release()


@pytest.fixture
def modality(dicom_service):
    client = Modality(dicom_service)
    yield client
    client.release()


def scheduled_item(step=None, study_uid=None) -> Dataset:
    item = Dataset()
    procedure = step.requested_procedure if step else None
    item.StudyInstanceUID = procedure.study_instance_uid if step else (study_uid or generate_uid())
    item.ReferencedStudySequence = []
    item.AccessionNumber = procedure.order.accession_number if step else ""
    item.RequestedProcedureID = procedure.requested_procedure_id if step else ""
    item.RequestedProcedureDescription = procedure.description if step else ""
    item.ScheduledProcedureStepID = step.sps_id if step else ""
    item.ScheduledProcedureStepDescription = step.description if step else ""
    item.ScheduledProtocolCodeSequence = []
    return item


def in_progress(*steps, study_uid=None) -> Dataset:
    """A complete N-CREATE Attribute List, as a modality sends it (F.7.2.1)."""
    ds = Dataset()
    ds.ScheduledStepAttributesSequence = [scheduled_item(step) for step in steps] or [
        scheduled_item(study_uid=study_uid)
    ]
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = steps[0].requested_procedure.order.patient.patient_id if steps else "EMERG1"
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "CT1"
    ds.PerformedStationName = "CT ONE"
    ds.PerformedLocation = ""
    ds.PerformedProcedureStepStartDate = "20260305"
    ds.PerformedProcedureStepStartTime = "091500"
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = ""
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = "CT"
    ds.StudyID = ""
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    ds.SpecificCharacterSet = "ISO_IR 192"
    return ds


def completed() -> Dataset:
    """The final N-SET: end date and time, and the series made (F.7.2.2.2)."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.PerformedProcedureStepEndDate = "20260305"
    ds.PerformedProcedureStepEndTime = "094000"
    series = Dataset()
    series.PerformingPhysicianName = ""
    series.ProtocolName = "Head routine"
    series.OperatorsName = ""
    series.SeriesInstanceUID = generate_uid()
    series.SeriesDescription = "Axial"
    series.RetrieveAETitle = ""
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image.ReferencedSOPInstanceUID = generate_uid()
    series.ReferencedImageSequence = [image]
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    ds.PerformedSeriesSequence = [series]
    return ds


def discontinued(with_reason=True) -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "DISCONTINUED"
    ds.PerformedProcedureStepEndDate = "20260305"
    ds.PerformedProcedureStepEndTime = "092000"
    if with_reason:
        reason = Dataset()
        reason.CodeValue = "110514"
        reason.CodingSchemeDesignator = "DCM"
        reason.CodeMeaning = "Incorrect worklist entry selected"
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [reason]
    return ds


def tags(value) -> list[int]:
    """An AT value as a list, whether it holds one tag or several."""
    return [int(tag) for tag in (value if isinstance(value, list | MultiValue) else [value])]


def status_of(step) -> str:
    return ScheduledProcedureStep.objects.get(pk=step.pk).status


def order_status(step) -> str:
    return Order.objects.get(pk=step.requested_procedure.order_id).status


def test_n_create_stores_everything_and_starts_the_step(modality):
    """IN PROGRESS marks the step STARTED and the order in progress (IHE SWF)."""
    step = ScheduledProcedureStepFactory()
    attributes = in_progress(step)
    attributes.InstitutionName = "St. Elsewhere"  # not in the MPPS table: kept all the same

    status, uid = modality.create(attributes)

    assert status.Status == 0x0000
    performed = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert performed.status == "IN PROGRESS"
    assert list(performed.scheduled_steps.all()) == [step]
    assert performed.accession_number == step.requested_procedure.order.accession_number
    assert performed.patient_name == "Müller^Jürgen"
    assert performed.dataset["00080080"]["Value"] == ["St. Elsewhere"]
    assert status_of(step) == StepStatus.STARTED
    assert order_status(step) == OrderStatus.IN_PROGRESS


def test_n_create_without_a_uid_gets_one_made_and_returned(modality):
    """PS3.7 10.1.5.1.4: the response's Affected SOP Instance UID says which it is."""
    responses = []
    modality.assoc.bind(evt.EVT_DIMSE_RECV, lambda event: responses.append(event.message))
    attributes = in_progress(ScheduledProcedureStepFactory())
    status, _ = modality.assoc.send_n_create(attributes, MPPS)
    assert status.Status == 0x0000
    uid = responses[-1].command_set.AffectedSOPInstanceUID
    assert PerformedProcedureStep.objects.filter(sop_instance_uid=uid).exists()


def test_duplicate_instance_is_refused(modality):
    step = ScheduledProcedureStepFactory()
    _, uid = modality.create(in_progress(step))
    status, _ = modality.create(in_progress(step), uid=uid)
    assert status.Status == 0x0111


@pytest.mark.parametrize(
    ("change", "expected_status", "tag"),
    [
        (lambda ds: delattr(ds, "PerformedStationAETitle"), 0x0120, "(0040,0241)"),
        (lambda ds: delattr(ds, "PatientName"), 0x0120, "(0010,0010)"),
        (lambda ds: setattr(ds, "PerformedProcedureStepID", ""), 0x0121, "(0040,0253)"),
        (
            lambda ds: setattr(ds, "PerformedProcedureStepStatus", "COMPLETED"),
            0x0106,
            "(0040,0252)",
        ),
        (lambda ds: setattr(ds, "PerformedProcedureStepStartDate", "2026-3-5"), 0x0106, ""),
        (
            lambda ds: delattr(ds.ScheduledStepAttributesSequence[0], "StudyInstanceUID"),
            0x0120,
            "(0020,000D)",
        ),
    ],
)
def test_n_create_failures_say_what_is_wrong(modality, change, expected_status, tag):
    attributes = in_progress(ScheduledProcedureStepFactory())
    change(attributes)
    status, uid = modality.create(attributes)
    assert status.Status == expected_status
    assert tag in status.ErrorComment
    assert not PerformedProcedureStep.objects.filter(sop_instance_uid=uid).exists()


def test_completed_moves_the_step_and_the_order_and_is_final(modality):
    step = ScheduledProcedureStepFactory()
    _, uid = modality.create(in_progress(step))

    assert modality.set(uid, completed()).Status == 0x0000
    assert status_of(step) == StepStatus.COMPLETED
    assert order_status(step) == OrderStatus.COMPLETED
    performed = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert performed.end is not None
    assert len(performed.dataset["00400340"]["Value"]) == 1  # the series list was merged in

    late = Dataset()
    late.CommentsOnThePerformedProcedureStep = "too late"
    status = modality.set(uid, late)
    assert status.Status == 0x0110
    assert status.ErrorID == 0xA710


def test_completed_needs_end_time_and_series(modality):
    _, uid = modality.create(in_progress(ScheduledProcedureStepFactory()))
    incomplete = Dataset()
    incomplete.PerformedProcedureStepStatus = "COMPLETED"
    status = modality.set(uid, incomplete)
    assert status.Status == 0x0121
    assert 0x00400250 in tags(status.AttributeIdentifierList)
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "IN PROGRESS"


def test_discontinued_needs_its_reason(modality):
    step = ScheduledProcedureStepFactory()
    _, uid = modality.create(in_progress(step))
    assert modality.set(uid, discontinued(with_reason=False)).Status == 0x0120
    assert modality.set(uid, discontinued()).Status == 0x0000
    assert status_of(step) == StepStatus.DISCONTINUED
    assert order_status(step) == OrderStatus.DISCONTINUED


def test_a_site_may_waive_the_discontinuation_reason(modality, settings):
    settings.RIS_MPPS_REQUIRE_DISCONTINUATION_REASON = False
    step = ScheduledProcedureStepFactory()
    _, uid = modality.create(in_progress(step))
    assert modality.set(uid, discontinued(with_reason=False)).Status == 0x0000
    assert status_of(step) == StepStatus.DISCONTINUED


def test_n_set_may_not_change_what_the_standard_fixes(modality):
    _, uid = modality.create(in_progress(ScheduledProcedureStepFactory()))
    change = Dataset()
    change.PatientName = "Other^Patient"
    status = modality.set(uid, change)
    assert status.Status == 0x0106
    assert tags(status.AttributeIdentifierList) == [0x00100010]


def test_n_set_of_an_unknown_instance(modality):
    assert modality.set(str(generate_uid()), completed()).Status == 0x0112


def test_group_case_one_mpps_performs_two_steps(modality):
    procedure = RequestedProcedureFactory()
    first = ScheduledProcedureStepFactory(requested_procedure=procedure)
    second = ScheduledProcedureStepFactory(
        requested_procedure=RequestedProcedureFactory(order=procedure.order)
    )
    _, uid = modality.create(in_progress(first, second))
    assert {status_of(first), status_of(second)} == {StepStatus.STARTED}
    modality.set(uid, completed())
    assert {status_of(first), status_of(second)} == {StepStatus.COMPLETED}
    assert order_status(first) == OrderStatus.COMPLETED


def test_a_retake_several_mpps_for_one_step(modality):
    """A discontinued attempt and a completed retake: the step is completed."""
    step = ScheduledProcedureStepFactory()
    _, first = modality.create(in_progress(step))
    modality.set(first, discontinued())
    _, second = modality.create(in_progress(step))
    assert status_of(step) == StepStatus.STARTED
    modality.set(second, completed())
    assert status_of(step) == StepStatus.COMPLETED


def test_one_of_two_steps_done_keeps_the_order_in_progress(modality):
    first = ScheduledProcedureStepFactory()
    ScheduledProcedureStepFactory(
        requested_procedure=RequestedProcedureFactory(order=first.requested_procedure.order)
    )
    _, uid = modality.create(in_progress(first))
    modality.set(uid, completed())
    assert order_status(first) == OrderStatus.IN_PROGRESS


def test_unscheduled_exam_is_kept_unmatched_and_linked_later(modality):
    """An emergency exam without a worklist entry: stored, then reconciled."""
    status, uid = modality.create(in_progress())
    assert status.Status == 0x0000
    performed = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert not performed.scheduled_steps.exists()

    step = ScheduledProcedureStepFactory()
    mpps_link(performed=performed, steps=[step])
    assert status_of(step) == StepStatus.STARTED


def test_an_ae_not_allowed_mpps_is_refused(dicom_service, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    remote_ae_add(ae_title="CT1", host="127.0.0.1", port=104, services=["worklist"])
    client = Modality(dicom_service, ae_title="CT1")
    status, _ = client.create(in_progress(ScheduledProcedureStepFactory()))
    client.release()
    assert status.Status == 0x0124


def test_mpps_is_forwarded_in_order_to_a_pacs_that_was_down(
    modality, pacs, pacs_ae, settings, caplog
):
    """IHE PPS Manager: what the modality reports reaches the PACS, late but whole."""
    settings.RIS_OUTBOX_BACKOFF_BASE, settings.RIS_OUTBOX_BACKOFF_CAP = 0.02, 0.1
    step = ScheduledProcedureStepFactory()
    _, uid = modality.create(in_progress(step))
    modality.set(uid, completed())

    with dicom_dispatcher():  # the PACS is down
        wait_until(lambda: caplog.text.count("failed, next in") >= 2)
    assert pacs.received == []

    pacs.start()
    with dicom_dispatcher():
        wait_until(lambda: len(pacs.received) == 2)
    assert [(r.operation, str(r.sop_instance_uid)) for r in pacs.received] == [
        (N_CREATE, uid),
        (N_SET, uid),
    ]
    assert str(pacs.received[0].dataset.PatientName) == "Müller^Jürgen"
    assert pacs.received[1].dataset.PerformedProcedureStepStatus == "COMPLETED"


def test_a_refused_mpps_is_not_forwarded(modality, pacs_ae):
    """Only what the RIS accepted goes on: the queue is written in its transaction."""
    attributes = in_progress(ScheduledProcedureStepFactory())
    del attributes.PerformedStationAETitle
    status, _ = modality.create(attributes)
    assert status.Status == 0x0120
    assert not OutboundMessage.objects.exists()


def test_text_in_latin1_is_kept_as_sent(modality):
    """Values are decoded with the request's character set before they are stored."""
    attributes = in_progress(ScheduledProcedureStepFactory())
    attributes.SpecificCharacterSet = "ISO_IR 100"
    attributes.PatientName = "Größer^Björn"
    _, uid = modality.create(attributes)
    comment = Dataset()
    comment.SpecificCharacterSet = "ISO_IR 100"
    comment.CommentsOnThePerformedProcedureStep = "Patientin bewegte sich, Wiederholung nötig"
    assert modality.set(uid, comment).Status == 0x0000

    performed = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert performed.patient_name == "Größer^Björn"
    assert performed.dataset["00400280"]["Value"] == ["Patientin bewegte sich, Wiederholung nötig"]
    assert "00080005" not in performed.dataset


def test_two_modalities_creating_one_mpps_at_once_get_one_success(dicom_service):
    """The unique SOP Instance UID decides: one 0x0000, one 0x0111, one row,
    and the step started once. Ten rounds, each started together."""
    modalities = [Modality(dicom_service, ae_title=f"CT{n}") for n in (1, 2)]
    try:
        for _ in range(10):
            step = ScheduledProcedureStepFactory()
            uid = str(generate_uid())
            start = threading.Barrier(len(modalities))

            def create(client, step=step, uid=uid, start=start):
                start.wait()
                status, _ = client.create(in_progress(step), uid=uid)
                return int(status.Status)

            with ThreadPoolExecutor(len(modalities)) as pool:
                statuses = sorted(pool.map(create, modalities))
            assert statuses == [0x0000, 0x0111]
            assert PerformedProcedureStep.objects.filter(sop_instance_uid=uid).count() == 1
            assert status_of(step) == StepStatus.STARTED
    finally:
        for client in modalities:
            client.release()
