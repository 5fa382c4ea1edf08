"""The audit trail of DICOM operations: reads, refusals and rejected
associations, recorded by the DICOM door in batches; changes by the domain."""

import json

import pytest
from django.utils import timezone
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS

from dimse.handlers.audit import _keys_of
from ris.audit.batches import WRITER, BatchWriter
from ris.audit.context import Actor
from ris.audit.models import ActorKind, AuditEvent
from ris.dicom.uids import new_uid
from ris.nodes.services import remote_ae_add
from tests.db_helpers import database_unreachable
from tests.dimse_helpers import associate, matches, mwl_find
from tests.factories import ScheduledProcedureStepFactory
from tests.ups_helpers import PUSH, create, ups_associate

pytestmark = pytest.mark.django_db(transaction=True)


def dicom_events() -> list[AuditEvent]:
    """The door's rows, once what the service has queued is written."""
    assert WRITER.write()
    return list(AuditEvent.objects.filter(action__startswith="dicom.").order_by("pk"))


def station_query(station: str, patient_name: str = "") -> Dataset:
    step = Dataset()
    step.ScheduledStationAETitle = station
    step.ScheduledProcedureStepStartDate = timezone.localdate().strftime("%Y%m%d")
    step.Modality = ""
    identifier = Dataset()
    identifier.SpecificCharacterSet = "ISO_IR 192"
    identifier.PatientName = patient_name
    identifier.PatientID = ""
    identifier.ScheduledProcedureStepSequence = [step]
    return identifier


def test_a_worklist_query_is_recorded_with_its_keys_but_no_patient_data(dicom_service):
    step = ScheduledProcedureStepFactory(station__ae_title="CT1")
    found = matches(mwl_find(dicom_service, station_query("CT1", "Müller^Jürgen"), "CT1"))
    assert len(found) == 1

    [event] = dicom_events()
    assert (event.action, event.object_type, event.object_id) == (
        "dicom.mwl.c-find",
        "worklist",
        "MWL",
    )
    assert (event.actor_kind, event.actor, event.address) == (ActorKind.AE, "CT1", "127.0.0.1")
    assert event.outcome == "success"
    assert event.detail["status"] == "0x0000"
    assert event.detail["matches"] == 1
    assert event.detail["keys"]["ScheduledStationAETitle"] == "CT1"
    assert event.detail["other_keys"] == ["PatientName"]
    assert "Müller" not in json.dumps(event.detail, ensure_ascii=False)
    assert step.requested_procedure.order.patient.patient_id not in json.dumps(event.detail)


def test_a_query_asked_again_is_recorded_alike_from_the_keys_kept(dicom_service):
    """The keys are read once per identifier (dimse.handlers.audit._keys_of)."""
    ScheduledProcedureStepFactory(station__ae_title="CT1")
    query = station_query("CT7")  # a station no other test asks for: not kept yet
    for _ in range(2):
        mwl_find(dicom_service, query, "CT7")
    hits_before = _keys_of.cache_info().hits
    mwl_find(dicom_service, query, "CT7")

    assert _keys_of.cache_info().hits == hits_before + 1
    first, _, third = dicom_events()
    assert first.detail["keys"] == third.detail["keys"]
    assert first.detail["keys"]["ScheduledStationAETitle"] == "CT7"
    assert first.detail["other_keys"] == third.detail["other_keys"] == []


def test_a_refused_query_is_recorded_as_a_failure(dicom_service, settings):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    remote_ae_add(ae_title="PACS", host="127.0.0.1", port=104, services=["mpps"])
    [(status, _, _)] = mwl_find(dicom_service, station_query("CT1"), calling_ae_title="PACS")
    assert status == 0xC124

    [event] = dicom_events()
    assert (event.action, event.actor, event.outcome) == ("dicom.mwl.c-find", "PACS", "failure")
    assert event.detail["status"] == "0xC124"


@pytest.mark.parametrize(
    ("calling", "called", "reason"),
    [("STRANGER", "RIS", "is not a registered"), ("CT1", "NOT_THE_RIS", "is not ours")],
)
def test_a_rejected_association_is_recorded_with_why(
    dicom_service, settings, calling, called, reason
):
    settings.RIS_DIMSE_ACCEPT_ANY_AE = False
    remote_ae_add(ae_title="CT1", host="127.0.0.1", port=104)
    assert associate(dicom_service, calling_ae_title=calling, called_ae_title=called).is_rejected

    [event] = dicom_events()
    assert (event.action, event.actor, event.object_id) == (
        "dicom.association.reject",
        calling,
        called,
    )
    assert event.outcome == "rejected"
    assert reason in event.detail["reason"]


def test_an_mpps_change_is_recorded_once_by_the_domain_and_a_refused_one_by_the_door(
    dicom_service,
):
    ae = AE(ae_title="CT1")
    ae.add_requested_context(MPPS)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate(*dicom_service, ae_title="RIS")
    try:
        uid = str(generate_uid())
        incomplete = Dataset()  # lacks most of what PS3.4 Table F.7.2-1 requires
        incomplete.PerformedProcedureStepStatus = "IN PROGRESS"
        status, _ = assoc.send_n_create(incomplete, MPPS, uid)
        assert status.Status == 0x0120
        unknown = str(generate_uid())
        modification = Dataset()
        modification.PerformedProcedureStepStatus = "COMPLETED"
        status, _ = assoc.send_n_set(modification, MPPS, unknown)
        assert status.Status == 0x0112
    finally:
        assoc.release()

    refused_create, refused_set = dicom_events()
    assert (refused_create.action, refused_create.object_id) == ("dicom.mpps.n-create", uid)
    assert refused_create.outcome == "failure"
    assert refused_create.detail["comment"]
    assert (refused_set.action, refused_set.object_id) == ("dicom.mpps.n-set", unknown)
    assert refused_set.detail["status"] == "0x0112"
    assert not AuditEvent.objects.filter(action__startswith="mpps.").exists()


def test_ups_reads_are_recorded_and_changes_only_by_the_domain(dicom_service):
    assoc = ups_associate(dicom_service)
    try:
        uid = new_uid()
        assert create(assoc, uid) == 0x0000
        status, _ = assoc.send_n_get([], PUSH, uid)
        assert status.Status == 0x0000
    finally:
        assoc.release()

    [read] = dicom_events()
    assert (read.action, read.object_type, read.object_id) == ("dicom.ups.n-get", "ups", uid)
    assert (read.actor, read.outcome) == ("PERFORMER", "success")
    [created] = AuditEvent.objects.filter(action="ups.create")
    assert (created.actor, created.object_id) == ("PERFORMER", uid)


def test_events_wait_while_the_database_is_away_and_are_written_when_it_is_back():
    writer = BatchWriter()
    actor = Actor(kind=ActorKind.AE, name="CT1", address="10.0.0.7")
    event = AuditEvent(
        actor_kind=actor.kind,
        actor=actor.name,
        address=actor.address,
        action="dicom.mwl.c-find",
        object_type="worklist",
        object_id="MWL",
        outcome="failure",
    )
    writer.add(event)
    with database_unreachable():
        assert not writer.write()
    assert writer.write()
    assert AuditEvent.objects.get().actor == "CT1"
