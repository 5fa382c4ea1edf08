"""Importing Modality Worklist files (DCMTK wlmscpfs, Orthanc) into the schedule."""

import copy
import shutil
import subprocess
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pydicom import Dataset
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ris.dicom.uids import uid_root
from ris.dicom.vr import validate_uid
from ris.scheduling.models import (
    IdentifierSequence,
    Order,
    Patient,
    ProcedureCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
)
from ris.scheduling.worklist_import import (
    LOCAL_SCHEME,
    Status,
    import_worklist_dataset,
    import_worklist_paths,
)
from tests.factories import OrderFactory, PatientFactory, ProcedureCodeFactory, StationFactory

pytestmark = pytest.mark.django_db

# Modality Worklist Information Model - FIND (PS3.4 K.6): the SOP class a
# worklist file's meta names.
MWL_FIND = "1.2.840.10008.5.1.4.31"
STUDY_UID = "1.2.826.0.1.3680043.8.498.4711"


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def worklist_dataset(**top) -> Dataset:
    """A complete worklist item, as a RIS answers a C-FIND (PS3.4 Table K.6-1)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "P100"
    ds.IssuerOfPatientID = "HOSPITAL"
    ds.PatientBirthDate = "19800214"
    ds.PatientSex = "M"
    ds.PatientWeight = "82.5"
    ds.PatientSize = "1.81"
    ds.MedicalAlerts = ["Pacemaker", "Claustrophobia"]
    ds.Allergies = "Iodinated contrast media"
    ds.PregnancyStatus = 4
    ds.AccessionNumber = "ACC100"
    issuer = Dataset()
    issuer.LocalNamespaceEntityID = "HIS_A"
    ds.IssuerOfAccessionNumberSequence = [issuer]
    ds.ReferringPhysicianName = "Weber^Thomas^^Dr."
    ds.RequestingPhysician = "Fischer^Sabine^^Dr."
    ds.RequestingService = "Neurology"
    ds.PlacerOrderNumberImagingServiceRequest = "PO-100"
    placer = Dataset()
    placer.LocalNamespaceEntityID = "HIS"
    ds.OrderPlacerIdentifierSequence = [placer]
    ds.FillerOrderNumberImagingServiceRequest = "FO-100"
    ds.ReasonForTheRequestedProcedure = "Headache, rule out bleeding"
    ds.AdmissionID = "ADM-7"
    ds.CurrentPatientLocation = "Ward 3"
    ds.StudyInstanceUID = STUDY_UID
    ds.RequestedProcedureID = "RP100"
    ds.RequestedProcedureDescription = "CT head without contrast"
    ds.RequestedProcedurePriority = "HIGH"
    ds.RequestedProcedureCodeSequence = [code_item("CTHEAD", "99HOSP", "CT head native")]
    step = Dataset()
    step.Modality = "CT"
    step.ScheduledStationAETitle = "CT_NORTH"
    step.ScheduledStationName = "CT North"
    step.ScheduledProcedureStepLocation = "Room 101"
    step.ScheduledProcedureStepStartDate = "20250115"
    step.ScheduledProcedureStepStartTime = "083000"
    step.ScheduledProcedureStepEndDate = "20250115"
    step.ScheduledProcedureStepEndTime = "090000"
    step.ScheduledPerformingPhysicianName = "Kato^Ken"
    step.ScheduledProcedureStepDescription = "CT head, stroke protocol"
    step.ScheduledProtocolCodeSequence = [code_item("CTP-HEAD", "99HOSP", "Head routine")]
    step.PreMedication = "Paracetamol"
    step.RequestedContrastAgent = "None"
    step.ScheduledProcedureStepID = "SPS100"
    step.ScheduledProcedureStepStatus = "ARRIVED"
    ds.ScheduledProcedureStepSequence = [step]
    for keyword, value in top.items():
        setattr(ds, keyword, value)
    return ds


def another_item(number: int, **top) -> Dataset:
    """Another patient's order: every identifier of the item differs from the first's."""
    identifiers = {
        "PatientID": f"P{number}",
        "AccessionNumber": f"ACC{number}",
        "PlacerOrderNumberImagingServiceRequest": f"PO-{number}",
        "FillerOrderNumberImagingServiceRequest": f"FO-{number}",
        "StudyInstanceUID": f"1.2.826.0.1.3680043.8.498.{number}",
    }
    ds = worklist_dataset(**{**identifiers, **top})
    step_of(ds).ScheduledProcedureStepID = f"SPS{number}"
    return ds


def step_of(ds: Dataset) -> Dataset:
    return ds.ScheduledProcedureStepSequence[0]


def set_raw(ds: Dataset, keyword: str, value: str) -> None:
    """Put a value pydicom would refuse into a dataset: as LO, which an implicit
    VR file does not record, so that it is read back in its real VR."""
    ds.add(DataElement(tag_for_keyword(keyword), "LO", value))


def write_worklist(path: Path, ds: Dataset, file_meta: bool = True) -> Path:
    """Write a worklist file: a Part 10 file, or the bare dataset as dump2dcm can."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_meta:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MWL_FIND
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(path, enforce_file_format=True)
    else:
        ds.save_as(path, implicit_vr=True, little_endian=True)
    return path


def nothing_written() -> bool:
    return not (
        Patient.objects.exists()
        or Order.objects.exists()
        or RequestedProcedure.objects.exists()
        or ScheduledProcedureStep.objects.exists()
        or Station.objects.exists()
        or ProcedureCode.objects.exists()
    )


def only_outcome(report):
    [(_, outcome)] = report.outcomes
    return outcome


# --- What is created -------------------------------------------------------------


def test_import_creates_patient_order_procedure_and_step(tmp_path, settings):
    """A Part 10 worklist file becomes the four levels, with every value of the item."""
    settings.TIME_ZONE = "Europe/Berlin"
    path = write_worklist(tmp_path / "item.wl", worklist_dataset())
    assert path.read_bytes()[128:132] == b"DICM"

    report = import_worklist_paths([path])

    outcome = only_outcome(report)
    assert outcome.status == Status.IMPORTED, outcome.reason
    step = ScheduledProcedureStep.objects.select_related(
        "requested_procedure__order__patient", "requested_procedure__procedure_code", "station"
    ).get()
    requested = step.requested_procedure
    order = requested.order
    patient = order.patient
    assert (patient.patient_id, patient.issuer_of_patient_id) == ("P100", "HOSPITAL")
    assert (patient.family_name, patient.given_name) == ("Müller", "Jürgen")
    assert patient.birth_date == date(1980, 2, 14)
    assert patient.sex == "M"
    assert patient.weight_kg == Decimal("82.5")
    assert patient.size_m == Decimal("1.81")
    assert patient.medical_alert_values == ["Pacemaker", "Claustrophobia"]
    assert patient.allergies == "Iodinated contrast media"
    assert patient.pregnancy_status == 4

    assert (order.accession_number, order.issuer_of_accession_number) == ("ACC100", "HIS_A")
    assert order.referring_physician_name == "Weber^Thomas^^Dr."
    assert order.requesting_physician == "Fischer^Sabine^^Dr."
    assert order.requesting_service == "Neurology"
    assert (order.placer_order_number, order.placer_issuer) == ("PO-100", "HIS")
    assert order.filler_order_number == "FO-100"
    assert order.reason_for_request == "Headache, rule out bleeding"
    assert (order.admission_id, order.current_patient_location) == ("ADM-7", "Ward 3")
    assert order.priority == "HIGH"

    assert requested.study_instance_uid == STUDY_UID
    assert requested.requested_procedure_id == "RP100"
    assert requested.description == "CT head without contrast"
    assert requested.priority == "HIGH"
    code = requested.procedure_code
    assert (code.code_value, code.coding_scheme_designator) == ("CTHEAD", "99HOSP")
    assert code.code_meaning == "CT head native"
    assert code.default_modality == "CT"
    assert code.default_duration == timedelta(minutes=30)  # end less start

    assert step.sps_id == "SPS100"
    assert step.modality == "CT"
    # 08:30 in Berlin in January (CET, UTC+1).
    assert step.start == datetime(2025, 1, 15, 7, 30, tzinfo=UTC)
    assert step.expected_duration == timedelta(minutes=30)
    assert step.scheduled_station_ae_title == "CT_NORTH"
    assert (step.scheduled_station_name, step.location) == ("CT North", "Room 101")
    assert (step.station.ae_title, step.station.name) == ("CT_NORTH", "CT North")
    assert (step.station.modality, step.station.location) == ("CT", "Room 101")
    assert step.performing_physician_name == "Kato^Ken"
    assert step.description == "CT head, stroke protocol"
    assert [p.code_value for p in step.protocol_codes.all()] == ["CTP-HEAD"]
    assert (step.pre_medication, step.requested_contrast_agent) == ("Paracetamol", "None")
    assert step.status == "ARRIVED"

    for level in ("patient", "order", "procedure", "station", "procedure_code", "protocol_code"):
        assert (report.created(level), report.matched(level)) == (1, 0), level
    assert not report.failed


def test_file_without_preamble_or_file_meta_is_read(tmp_path):
    """wlmscpfs files written by dump2dcm may be a bare dataset: no preamble, no "DICM"."""
    path = write_worklist(tmp_path / "bare.wl", worklist_dataset(), file_meta=False)
    assert b"DICM" not in path.read_bytes()[:132]

    outcome = only_outcome(import_worklist_paths([path]))

    assert outcome.status == Status.IMPORTED, outcome.reason
    assert ScheduledProcedureStep.objects.get().sps_id == "SPS100"


def test_latin1_name_is_decoded_with_the_files_character_set(tmp_path):
    """Specific Character Set ISO_IR 100: "ü" is the single byte 0xFC (PS3.5 6.1)."""
    ds = worklist_dataset(SpecificCharacterSet="ISO_IR 100", PatientName="Müller^Jürgen")
    path = write_worklist(tmp_path / "latin1.wl", ds, file_meta=False)
    assert b"M\xfcller^J\xfcrgen" in path.read_bytes()

    import_worklist_paths([path])

    patient = Patient.objects.get()
    assert (patient.family_name, patient.given_name) == ("Müller", "Jürgen")


def test_utf8_japanese_name_keeps_all_three_forms(tmp_path):
    """ISO_IR 192 (UTF-8): the alphabetic, ideographic and phonetic groups all arrive."""
    name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    path = write_worklist(tmp_path / "utf8.wl", worklist_dataset(PatientName=name))
    assert "山田".encode() in path.read_bytes()

    import_worklist_paths([path])

    patient = Patient.objects.get()
    assert (patient.family_name, patient.given_name) == ("Yamada", "Tarou")
    assert patient.name_ideographic == "山田^太郎"
    assert patient.name_phonetic == "やまだ^たろう"
    assert str(patient.name) == name


def test_timezone_offset_in_the_file_wins_over_time_zone(settings):
    """Timezone Offset From UTC (0008,0201) says in which zone the file's times are."""
    settings.TIME_ZONE = "Europe/Berlin"
    outcome = import_worklist_dataset(worklist_dataset(TimezoneOffsetFromUTC="-0500"))
    assert outcome.step.start == datetime(2025, 1, 15, 13, 30, tzinfo=UTC)


def test_empty_accession_number_gets_one_assigned(settings):
    """The RIS assigns the accession number, under its own issuer (IHE: the Order Filler)."""
    settings.RIS_ACCESSION_PREFIX = "IMP"
    outcome = import_worklist_dataset(worklist_dataset(AccessionNumber=""))
    order = Order.objects.get()
    assert outcome.status == Status.IMPORTED
    assert order.accession_number.startswith("IMP")
    assert order.issuer_of_accession_number == settings.RIS_ACCESSION_ISSUER


def test_missing_study_instance_uid_is_generated_and_reported(tmp_path):
    """A new UID under the site's root, reported; a second run finds the same procedure."""
    ds = worklist_dataset()
    del ds.StudyInstanceUID
    path = write_worklist(tmp_path / "no-uid.wl", ds)

    report = import_worklist_paths([path])

    uid = RequestedProcedure.objects.get().study_instance_uid
    validate_uid(uid)
    assert uid.startswith(uid_root())
    assert only_outcome(report).study_uid_generated
    assert "Study Instance UIDs generated (none in the file): 1" in report.lines()
    again = only_outcome(import_worklist_paths([path]))
    assert (again.status, again.study_uid_generated) == (Status.ALREADY_IMPORTED, False)
    assert RequestedProcedure.objects.count() == 1
    other = another_item(101)
    del other.StudyInstanceUID
    assert import_worklist_dataset(other).step.requested_procedure.study_instance_uid != uid


def test_procedure_without_code_gets_a_local_code_named_after_its_description():
    """No Requested Procedure Code Sequence: one local code per description, at most SH."""
    first = worklist_dataset()
    del first.RequestedProcedureCodeSequence
    second = another_item(101)
    del second.RequestedProcedureCodeSequence
    second.RequestedProcedureDescription = "CT  HEAD without contrast"  # case, spacing
    import_worklist_dataset(first)
    import_worklist_dataset(second)

    code = ProcedureCode.objects.get()
    assert code.coding_scheme_designator == LOCAL_SCHEME
    assert 0 < len(code.code_value) <= 16
    assert code.code_meaning == "CT head without contrast"
    assert code.default_modality == "CT"
    assert RequestedProcedure.objects.filter(procedure_code=code).count() == 2


def test_procedure_without_code_or_description_is_an_imported_procedure():
    ds = worklist_dataset()
    del ds.RequestedProcedureCodeSequence
    del ds.RequestedProcedureDescription
    step = step_of(ds)
    del step.ScheduledProcedureStepEndDate
    del step.ScheduledProcedureStepEndTime

    import_worklist_dataset(ds)

    code = ProcedureCode.objects.get()
    assert code.code_meaning == "Imported procedure"
    assert code.default_duration == timedelta(minutes=15)
    assert ScheduledProcedureStep.objects.get().expected_duration == timedelta(minutes=15)


def test_unknown_step_status_becomes_scheduled():
    ds = worklist_dataset()
    step_of(ds).ScheduledProcedureStepStatus = "WAITING"
    outcome = import_worklist_dataset(ds)
    assert outcome.step.status == "SCHEDULED"
    assert any("WAITING" in warning for warning in outcome.warnings)


def test_invalid_optional_patient_values_are_left_out_with_a_warning(tmp_path):
    """A bad birth date, sex, weight or pregnancy status does not cost the whole item."""
    ds = worklist_dataset(PatientSex="X", PregnancyStatus=7)
    set_raw(ds, "PatientBirthDate", "19801345")
    set_raw(ds, "PatientWeight", "heavy")
    path = write_worklist(tmp_path / "odd.wl", ds, file_meta=False)

    outcome = only_outcome(import_worklist_paths([path]))

    assert outcome.status == Status.IMPORTED, outcome.reason
    patient = Patient.objects.get()
    assert (patient.birth_date, patient.sex, patient.weight_kg) == (None, "", None)
    assert patient.pregnancy_status is None
    warnings = " ".join(outcome.warnings)
    for name in ("Birth Date", "Sex", "Weight", "Pregnancy Status"):
        assert name in warnings


def test_pydicom_warnings_are_kept_with_the_file(tmp_path):
    """What pydicom says of a file (here an unknown character set) is reported with it."""
    ds = worklist_dataset(PatientName="Smith^John")
    set_raw(ds, "SpecificCharacterSet", "ISO_IR 999")
    with warnings.catch_warnings():  # pydicom warns when writing it, too
        warnings.simplefilter("ignore")
        path = write_worklist(tmp_path / "odd-charset.wl", ds, file_meta=False)

    outcome = only_outcome(import_worklist_paths([path]))

    assert outcome.status == Status.IMPORTED, outcome.reason
    assert any(w.startswith("pydicom:") and "ISO_IR 999" in w for w in outcome.warnings)
    assert Patient.objects.get().family_name == "Smith"


def test_more_than_one_step_item_imports_the_first_with_a_warning():
    """A worklist item has exactly one Scheduled Procedure Step (PS3.4 K.6.1.2.2)."""
    ds = worklist_dataset()
    second = copy.deepcopy(step_of(ds))
    second.ScheduledProcedureStepID = "SPS101"
    ds.ScheduledProcedureStepSequence.append(second)

    outcome = import_worklist_dataset(ds)

    assert ScheduledProcedureStep.objects.get().sps_id == "SPS100"
    assert any("2 items" in warning for warning in outcome.warnings)


# --- What is matched ---------------------------------------------------------------


def test_existing_patient_is_matched_and_not_overwritten():
    """The RIS's own registration wins; the file's different name is only reported."""
    patient = PatientFactory(
        patient_id="P100", issuer_of_patient_id="HOSPITAL", family_name="Schmidt"
    )

    outcome = import_worklist_dataset(worklist_dataset())

    patient.refresh_from_db()
    assert (patient.family_name, patient.birth_date) == ("Schmidt", None)
    assert Order.objects.get().patient == patient
    assert (outcome.matched["patient"], outcome.created["patient"]) == (1, 0)
    assert any("not applied" in warning for warning in outcome.warnings)


def test_existing_order_is_matched_and_gets_the_procedure():
    """An order known by its accession number and issuer receives the procedure."""
    patient = PatientFactory(patient_id="P100", issuer_of_patient_id="HOSPITAL")
    order = OrderFactory(
        patient=patient, accession_number="ACC100", issuer_of_accession_number="HIS_A"
    )

    outcome = import_worklist_dataset(worklist_dataset())

    assert Order.objects.get() == order
    assert order.requested_procedures.get().study_instance_uid == STUDY_UID
    assert order.referring_physician_name == ""  # the order is not rewritten
    assert (outcome.matched["order"], outcome.created["procedure"]) == (1, 1)


def test_existing_station_is_matched_and_fills_the_name_and_room_the_file_lacks():
    StationFactory(ae_title="CT_NORTH", name="CT1_SOMATOM", location="Room 9")
    ds = worklist_dataset()
    del step_of(ds).ScheduledStationName
    del step_of(ds).ScheduledProcedureStepLocation

    outcome = import_worklist_dataset(ds)

    step = outcome.step
    assert (step.scheduled_station_name, step.location) == ("CT1_SOMATOM", "Room 9")
    assert Station.objects.count() == 1
    assert outcome.matched["station"] == 1


def test_existing_procedure_code_keeps_its_meaning_and_duration():
    code = ProcedureCodeFactory(
        code_value="CTHEAD", coding_scheme_designator="99HOSP", code_meaning="Head CT"
    )
    ds = worklist_dataset()
    del step_of(ds).ScheduledProcedureStepEndTime

    outcome = import_worklist_dataset(ds)

    code.refresh_from_db()
    assert code.code_meaning == "Head CT"
    assert outcome.step.expected_duration == code.default_duration


def test_second_step_of_a_known_study_joins_its_procedure():
    """Two steps of one requested procedure come as two items with one Study Instance UID."""
    second = worklist_dataset()
    step_of(second).ScheduledProcedureStepID = "SPS101"
    import_worklist_dataset(worklist_dataset())

    outcome = import_worklist_dataset(second)

    assert outcome.status == Status.IMPORTED
    assert RequestedProcedure.objects.get().scheduled_steps.count() == 2
    assert outcome.matched["procedure"] == 1


def test_second_run_imports_nothing(tmp_path):
    """Running the import again finds every step: nothing is added, nothing fails."""
    write_worklist(tmp_path / "CT1" / "a.wl", worklist_dataset())
    write_worklist(tmp_path / "CT1" / "b.wl", another_item(101))
    import_worklist_paths([tmp_path])

    report = import_worklist_paths([tmp_path])

    assert (report.count(Status.IMPORTED), report.count(Status.ALREADY_IMPORTED)) == (0, 2)
    assert report.created("patient") == report.created("order") == 0
    assert ScheduledProcedureStep.objects.count() == 2
    assert not report.failed


# --- What is skipped, and why ---------------------------------------------------------


def test_same_accession_number_of_another_patient_is_a_conflict():
    """An accession number names one order of one patient: the file is skipped, not merged."""
    OrderFactory(accession_number="ACC100", issuer_of_accession_number="HIS_A")

    outcome = import_worklist_dataset(worklist_dataset())

    assert outcome.status == Status.SKIPPED
    assert outcome.reason.startswith("conflict: accession number ACC100")
    assert not Patient.objects.filter(patient_id="P100").exists()  # rolled back
    assert not RequestedProcedure.objects.exists()


def test_known_study_uid_of_another_patient_is_a_conflict():
    import_worklist_dataset(worklist_dataset())
    other = another_item(200, StudyInstanceUID=STUDY_UID)

    outcome = import_worklist_dataset(other)

    assert outcome.status == Status.SKIPPED
    assert outcome.reason.startswith(f"conflict: Study Instance UID {STUDY_UID}")
    assert not Patient.objects.filter(patient_id="P200").exists()


def _without(keyword, step=False):
    def change(ds):
        delattr(step_of(ds) if step else ds, keyword)

    return change


def _raw(keyword, value, step=False):
    def change(ds):
        set_raw(step_of(ds) if step else ds, keyword, value)

    return change


def _set(keyword, value, step=False):
    def change(ds):
        setattr(step_of(ds) if step else ds, keyword, value)

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(
            _without("ScheduledProcedureStepSequence"),
            "not a worklist item: no Scheduled Procedure Step Sequence (0040,0100)",
            id="no-step-sequence",
        ),
        pytest.param(
            _set("ScheduledProcedureStepSequence", []),
            "not a worklist item: Scheduled Procedure Step Sequence (0040,0100) is empty",
            id="empty-step-sequence",
        ),
        pytest.param(_without("PatientID"), "no Patient ID (0010,0020)", id="no-patient-id"),
        pytest.param(
            _without("ScheduledProcedureStepStartDate", step=True),
            "no Scheduled Procedure Step Start Date (0040,0002)",
            id="no-start-date",
        ),
        pytest.param(
            _raw("ScheduledProcedureStepStartDate", "20251345", step=True),
            "malformed Scheduled Procedure Step Start Date (0040,0002): '20251345'",
            id="malformed-start-date",
        ),
        pytest.param(
            _raw("ScheduledProcedureStepStartTime", "25:99", step=True),
            "malformed Scheduled Procedure Step Start Time (0040,0003): '25:99'",
            id="malformed-start-time",
        ),
        pytest.param(
            _set("Modality", "ZZ", step=True),
            "Modality (0008,0060) 'ZZ' is not one the RIS schedules",
            id="unknown-modality",
        ),
        pytest.param(
            _raw("AccessionNumber", "ACC-0123456789-TOO-LONG"),
            "refused: accession_number: Ensure this value has at most 16 characters",
            id="accession-too-long",
        ),
        pytest.param(
            _set("PatientName", ""),
            "refused: family_name: A patient needs at least a family name.",
            id="no-patient-name",
        ),
    ],
)
def test_item_that_cannot_be_booked_is_skipped_with_its_reason(tmp_path, change, reason):
    """Each refusal names its cause, and nothing of the item is left in the database."""
    ds = worklist_dataset()
    change(ds)
    path = write_worklist(tmp_path / "bad.wl", ds, file_meta=False)

    report = import_worklist_paths([path])

    outcome = only_outcome(report)
    assert outcome.status == Status.SKIPPED
    assert outcome.reason.startswith(reason)
    assert report.failed
    assert nothing_written()


def test_step_on_a_station_out_of_service_is_refused():
    """The import books through the services: their rules apply to imported steps too."""
    StationFactory(ae_title="CT_NORTH", active=False)
    outcome = import_worklist_dataset(worklist_dataset())
    assert outcome.status == Status.SKIPPED
    assert outcome.reason.startswith("refused: station: The station")
    assert "not in service" in outcome.reason
    assert not Patient.objects.exists()


def test_unreadable_files_are_skipped_with_their_reason(tmp_path):
    """A text file, an empty file or a missing path is reported; the others still import."""
    (tmp_path / "notes.wl").write_text("Worklist files for CT1, do not delete\n" * 20)
    (tmp_path / "empty.wl").write_bytes(b"")
    good = write_worklist(tmp_path / "good.wl", worklist_dataset())
    paths = [tmp_path / "notes.wl", tmp_path / "empty.wl", tmp_path / "gone.wl", good]

    report = import_worklist_paths(paths)

    reasons = {path.name: outcome.reason for path, outcome in report.outcomes}
    assert reasons["notes.wl"].startswith("not a DICOM file")
    assert reasons["empty.wl"].startswith("not a DICOM file")
    assert reasons["gone.wl"] == "no such file or directory"
    assert reasons["good.wl"] == ""
    assert report.count(Status.SKIPPED) == 3
    assert ScheduledProcedureStep.objects.count() == 1


# --- Files, folders and the command ---------------------------------------------------


def test_directory_walk_reads_the_wl_files_of_every_ae_title_folder(tmp_path):
    """wlmscpfs keeps a folder per AE title, with a lockfile beside the .wl files."""
    root = tmp_path / "wlistdb"
    write_worklist(root / "CT_AE" / "item1.wl", worklist_dataset())
    mr = another_item(200)
    step_of(mr).Modality = "MR"
    step_of(mr).ScheduledStationAETitle = "MR_SOUTH"
    write_worklist(root / "MR_AE" / "deep" / "ITEM2.WL", mr, file_meta=False)
    (root / "CT_AE" / "lockfile").write_bytes(b"")
    (root / "MR_AE" / "README.txt").write_text("not a worklist")

    report = import_worklist_paths([root])

    assert sorted(path.name for path, _ in report.outcomes) == ["ITEM2.WL", "item1.wl"]
    assert report.count(Status.IMPORTED) == 2
    assert set(Station.objects.values_list("ae_title", flat=True)) == {"CT_NORTH", "MR_SOUTH"}

    everything = import_worklist_paths([root], all_files=True)
    assert len(everything.outcomes) == 4
    assert {path.name for path, _ in everything.skipped} == {"lockfile", "README.txt"}


def test_command_prints_the_report_and_fails_when_a_file_is_skipped(tmp_path):
    good = write_worklist(tmp_path / "good.wl", worklist_dataset())
    bad = worklist_dataset()
    del bad.PatientID
    bad_path = write_worklist(tmp_path / "bad.wl", bad)
    out = StringIO()

    with pytest.raises(CommandError, match="1 file"):
        call_command("import_worklist", str(good), str(bad_path), stdout=out)

    output = out.getvalue()
    assert "Files read: 2" in output
    assert "Steps imported: 1, already present: 0, skipped: 1" in output
    assert "Patients: 1 created, 0 matched" in output
    assert "Stations: 1 created, 0 matched" in output
    assert f"  {bad_path}: no Patient ID (0010,0020)" in output


def test_command_succeeds_when_everything_is_already_imported(tmp_path):
    """ "Already imported" is no failure: the second run exits with status 0."""
    write_worklist(tmp_path / "a.wl", worklist_dataset())
    call_command("import_worklist", str(tmp_path), stdout=StringIO())
    out = StringIO()

    call_command("import_worklist", str(tmp_path), stdout=out)

    assert "Steps imported: 0, already present: 1, skipped: 0" in out.getvalue()


def test_dry_run_writes_nothing(tmp_path):
    """The dry run reports what an import would do and rolls all of it back."""
    write_worklist(tmp_path / "a.wl", worklist_dataset(AccessionNumber=""))
    out = StringIO()

    call_command("import_worklist", str(tmp_path), "--dry-run", stdout=out)

    output = out.getvalue()
    assert output.startswith("Dry run: nothing was written.")
    assert "Steps imported: 1" in output
    assert nothing_written()
    assert not IdentifierSequence.objects.filter(last_value__gt=0).exists()


DCMTK_DUMP = """\
# A worklist item in the text form of DCMTK's wlistdb examples, for dump2dcm.
(0008,0005) CS  [ISO_IR 100]
(0008,0050) SH  [DCM0042]
(0010,0010) PN  [Müller^Jürgen]
(0010,0020) LO  [PID4242]
(0010,0030) DA  [19650312]
(0010,0040) CS  [M]
(0010,2000) LO  [Diabetes]
(0020,000d) UI  [1.2.276.0.7230010.3.2.4242]
(0032,1032) PN  [Weber^Thomas]
(0032,1060) LO  [MR Knie links]
(0040,0100) SQ  (Sequence with undefined length)
  (fffe,e000) na  (Item with undefined length)
    (0008,0060) CS  [MR]
    (0040,0001) AE  [MR_WEST]
    (0040,0002) DA  [20250704]
    (0040,0003) TM  [143000]
    (0040,0006) PN  [Kato^Ken]
    (0040,0007) LO  [Knie nativ]
    (0040,0009) SH  [SPS4242]
    (0040,0010) SH  [MR West]
    (0040,0011) SH  [Raum 12]
  (fffe,e00d) na  (ItemDelimitationItem)
(fffe,e0dd) na  (SequenceDelimitationItem)
(0040,1001) SH  [RP4242]
(0040,1003) SH  [ROUTINE]
"""


@pytest.mark.skipif(shutil.which("dump2dcm") is None, reason="DCMTK's dump2dcm is not installed")
def test_dcmtk_dump2dcm_worklist_file_is_imported(tmp_path, settings):
    """A .wl file made as wlmscpfs sites make them: a dump converted by dump2dcm."""
    settings.TIME_ZONE = "Europe/Berlin"
    dump = tmp_path / "item.dump"
    dump.write_text(DCMTK_DUMP, encoding="latin-1")  # the bytes of ISO_IR 100
    path = tmp_path / "MR_WEST" / "item.wl"
    path.parent.mkdir()
    subprocess.run(["dump2dcm", "-q", str(dump), str(path)], check=True)

    outcome = only_outcome(import_worklist_paths([tmp_path]))

    assert outcome.status == Status.IMPORTED, outcome.reason
    step = outcome.step
    requested = step.requested_procedure
    patient = requested.order.patient
    assert (patient.patient_id, patient.family_name, patient.given_name) == (
        "PID4242",
        "Müller",
        "Jürgen",
    )
    assert patient.medical_alerts == "Diabetes"
    assert requested.order.accession_number == "DCM0042"
    assert requested.study_instance_uid == "1.2.276.0.7230010.3.2.4242"
    assert requested.procedure_code.coding_scheme_designator == LOCAL_SCHEME
    assert (step.sps_id, step.modality, step.scheduled_station_ae_title) == (
        "SPS4242",
        "MR",
        "MR_WEST",
    )
    # 14:30 in Berlin in July (CEST, UTC+2).
    assert step.start == datetime(2025, 7, 4, 12, 30, tzinfo=UTC)
    assert (step.scheduled_station_name, step.location) == ("MR West", "Raum 12")
