"""DCMTK's findscu, an independent worklist client, against the service."""

import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ris.scheduling.models import Station
from tests.dimse_helpers import FINDSCU, RIS_AE_TITLE, findscu
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    RequestedProcedureFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)

# .ci/run installs DCMTK; elsewhere these tests say why they did not run.
pytestmark = pytest.mark.skipif(FINDSCU is None, reason="DCMTK findscu is not installed")

UTC = ZoneInfo("UTC")
MODALITY_QUERY = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=CT1",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20260305",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
    "ScheduledProcedureStepSequence[0].Modality",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription",
]


def book(patient, station="CT1", hour=9):
    station = Station.objects.filter(ae_title=station).first() or StationFactory(ae_title=station)
    return ScheduledProcedureStepFactory(
        requested_procedure=RequestedProcedureFactory(
            order__patient=patient, procedure_code=ProcedureCodeFactory()
        ),
        station=station,
        start=datetime(2026, 3, 5, hour, tzinfo=UTC),
    )


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def test_a_typical_modality_query(dicom_service, tmp_path):
    """One station, one day, the usual return keys, as a scanner asks."""
    patient = PatientFactory(family_name="Müller", given_name="Jürgen", birth_date=None)
    step = book(patient)
    book(PatientFactory(), station="CT2")

    [response] = findscu(dicom_service, MODALITY_QUERY, tmp_path)

    procedure = step.requested_procedure
    assert response.SpecificCharacterSet == "ISO_IR 192"
    assert str(response.PatientName) == "Müller^Jürgen"
    assert response.PatientID == patient.patient_id
    assert response.PatientBirthDate == ""
    assert response.AccessionNumber == procedure.order.accession_number
    assert response.StudyInstanceUID == procedure.study_instance_uid
    assert response.RequestedProcedureID == procedure.requested_procedure_id
    item = response.ScheduledProcedureStepSequence[0]
    assert item.ScheduledStationAETitle == "CT1"
    assert item.ScheduledProcedureStepStartDate == "20260305"
    assert item.ScheduledProcedureStepStartTime == "090000"
    assert item.ScheduledProcedureStepID == step.sps_id
    assert "PatientWeight" not in response


def test_a_utf8_wildcard_name_query(dicom_service, tmp_path):
    book(PatientFactory(family_name="Müller", given_name="Jürgen"))
    book(PatientFactory(family_name="Muller", given_name="Ann"))
    responses = findscu(
        dicom_service,
        ["SpecificCharacterSet=ISO_IR 192", "PatientName=mül*", "PatientID"],
        tmp_path,
    )
    assert [str(response.PatientName) for response in responses] == ["Müller^Jürgen"]


def test_a_latin1_client_gets_latin1(dicom_service, tmp_path):
    book(PatientFactory(family_name="Größer", given_name="Björn"))
    [response] = findscu(
        dicom_service, ["SpecificCharacterSet=ISO_IR 100", "PatientName", "PatientID"], tmp_path
    )
    assert response.SpecificCharacterSet == "ISO_IR 100"
    assert str(response.PatientName) == "Größer^Björn"


def test_a_bad_identifier_is_answered_with_an_error_status(dicom_service):
    host, port = dicom_service
    result = subprocess.run(
        [
            FINDSCU,
            "-v",
            "-W",
            "-aec",
            RIS_AE_TITLE,
            "-k",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=2026-13-01",
            host,
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # findscu exits 0 whatever the final status is; its log says the status.
    assert "DataSetDoesNotMatchSOPClass" in result.stdout + result.stderr
