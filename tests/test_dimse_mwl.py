"""Modality Worklist C-FIND over real associations on loopback (PS3.4 Annex K)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.sop_class import ModalityWorklistInformationFind

from dimse.handlers.find import LISTEN_EVERY
from ris.scheduling.models import OtherPatientID, ScheduledProcedureStep, Station, StepStatus
from ris.scheduling.worklist.keys import TOP_LEVEL_KEYS, SequenceKey
from tests.dimse_helpers import associate, matches, mwl_find, scu
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    ProtocolCodeFactory,
    RequestedProcedureFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)

BERLIN = ZoneInfo("Europe/Berlin")

# Malformed keys are the point of some tests; pydicom warns as it builds them.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Invalid value for VR:UserWarning", "ignore:Unknown encoding:UserWarning"
)


@pytest.fixture(autouse=True)
def department_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def book(*, start, station="CT1", modality="CT", patient=None, status=StepStatus.SCHEDULED, **kw):
    station = Station.objects.filter(ae_title=station).first() or StationFactory(
        ae_title=station, modality=modality
    )
    procedure = RequestedProcedureFactory(
        order__patient=patient or PatientFactory(), procedure_code=ProcedureCodeFactory()
    )
    return ScheduledProcedureStepFactory(
        requested_procedure=procedure, station=station, start=start, status=status, **kw
    )


def query(**step_keys) -> Dataset:
    """An identifier asking for the usual return keys, with these SPS item keys."""
    identifier = Dataset()
    identifier.PatientName = ""
    identifier.PatientID = ""
    identifier.AccessionNumber = ""
    identifier.StudyInstanceUID = ""
    item = Dataset()
    item.ScheduledStationAETitle = ""
    item.ScheduledProcedureStepStartDate = ""
    item.ScheduledProcedureStepStartTime = ""
    item.Modality = ""
    item.ScheduledProcedureStepID = ""
    for keyword, value in step_keys.items():
        setattr(item, keyword, value)
    identifier.ScheduledProcedureStepSequence = [item]
    return identifier


def offending(status_set) -> list[int]:
    value = status_set.OffendingElement
    return [int(tag) for tag in (value if isinstance(value, list | MultiValue) else [value])]


def sps_ids(responses) -> list[str]:
    return [
        r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in matches(responses)
    ]


def test_echo_answers_success(dicom_service):
    assoc = associate(dicom_service)
    assert int(assoc.send_c_echo().Status) == 0x0000
    assoc.release()


def test_universal_query_returns_every_scheduled_step_in_start_order(dicom_service):
    later = book(start=at(5, 10))
    earlier = book(start=at(5, 9), station="MR1", modality="MR")
    assert sps_ids(mwl_find(dicom_service, query())) == [earlier.sps_id, later.sps_id]


def test_single_value_matching_on_station_and_modality(dicom_service):
    ct = book(start=at(5, 9), station="CT1")
    book(start=at(5, 9), station="CT2")
    book(start=at(5, 9), station="MR1", modality="MR")
    assert sps_ids(mwl_find(dicom_service, query(ScheduledStationAETitle="CT1"))) == [ct.sps_id]
    assert len(sps_ids(mwl_find(dicom_service, query(Modality="CT")))) == 2


def test_wildcards_star_and_question_mark(dicom_service):
    book(start=at(5, 9), station="CT1")
    book(start=at(5, 9), station="CT22")
    book(start=at(5, 9), station="MR1", modality="MR")
    assert len(sps_ids(mwl_find(dicom_service, query(ScheduledStationAETitle="CT*")))) == 2
    assert len(sps_ids(mwl_find(dicom_service, query(ScheduledStationAETitle="CT?")))) == 1
    assert len(sps_ids(mwl_find(dicom_service, query(ScheduledStationAETitle="*")))) == 3


def test_person_name_matching_ignores_case_and_omitted_components(dicom_service):
    """ "müller" finds Müller^Jürgen; "Müller^J*" too; "Müller^Anna" does not."""
    step = book(start=at(5, 9), patient=PatientFactory(family_name="Müller", given_name="Jürgen"))
    book(start=at(5, 9), patient=PatientFactory(family_name="Müllerova", given_name="Jana"))
    for name, expected in [
        ("müller", [step.sps_id]),
        ("MÜLLER^JÜRGEN", [step.sps_id]),
        ("Müller^J*", [step.sps_id]),
        ("mül*", None),
        ("Müller^Anna", []),
        ("Mueller", []),
    ]:
        identifier = query()
        identifier.PatientName = name
        found = sps_ids(mwl_find(dicom_service, identifier))
        if expected is None:
            assert len(found) == 2, name
        else:
            assert found == expected, name


def test_ideographic_name_matches_its_own_group(dicom_service):
    patient = PatientFactory(family_name="Yamada", given_name="Tarou")
    patient.name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    patient.save()
    step = book(start=at(5, 9), patient=patient)
    identifier = query()
    identifier.SpecificCharacterSet = "ISO_IR 192"
    identifier.PatientName = "=山田^太郎"
    assert sps_ids(mwl_find(dicom_service, identifier)) == [step.sps_id]


def test_date_range_and_open_ranges(dicom_service):
    first, second, third = (book(start=at(day, 9)) for day in (4, 5, 6))
    cases = {
        "20260305": [second],
        "20260304-20260305": [first, second],
        "20260305-": [second, third],
        "-20260305": [first, second],
    }
    for value, expected in cases.items():
        found = sps_ids(mwl_find(dicom_service, query(ScheduledProcedureStepStartDate=value)))
        assert found == [step.sps_id for step in expected], value


def test_start_date_and_time_match_as_one_window(dicom_service):
    """PS3.4 K.6-1: 4 March 10:00 to 6 March 18:00 is one window, not 10-18 each day."""
    early_first_day = book(start=at(4, 9))
    in_window = [book(start=at(4, 11)), book(start=at(5, 7)), book(start=at(6, 17))]
    late_last_day = book(start=at(6, 19))
    found = sps_ids(
        mwl_find(
            dicom_service,
            query(
                ScheduledProcedureStepStartDate="20260304-20260306",
                ScheduledProcedureStepStartTime="1000-1800",
            ),
        )
    )
    assert found == [step.sps_id for step in in_window]
    assert early_first_day.sps_id not in found
    assert late_last_day.sps_id not in found


def test_time_without_date_matches_the_time_of_day_on_any_date(dicom_service):
    morning = [book(start=at(4, 8, 30)), book(start=at(6, 11, 59))]
    book(start=at(5, 13))
    found = sps_ids(mwl_find(dicom_service, query(ScheduledProcedureStepStartTime="0800-1159")))
    assert found == [step.sps_id for step in morning]


def test_time_values_compare_by_meaning(dicom_service):
    """ "0930" means the whole minute 09:30, and "09" the whole hour."""
    step = book(start=at(5, 9, 30))
    for time_value, expected in [("0930", 1), ("09", 1), ("093000", 1), ("1000", 0)]:
        found = mwl_find(
            dicom_service,
            query(
                ScheduledProcedureStepStartDate="20260305",
                ScheduledProcedureStepStartTime=time_value,
            ),
        )
        assert len(sps_ids(found)) == expected, time_value
    assert step.start.astimezone(BERLIN).strftime("%H%M") == "0930"


def test_list_of_uids(dicom_service):
    first, second, third = (book(start=at(5, 9)) for _ in range(3))
    identifier = query()
    identifier.StudyInstanceUID = [
        first.requested_procedure.study_instance_uid,
        third.requested_procedure.study_instance_uid,
    ]
    assert sps_ids(mwl_find(dicom_service, identifier)) == [first.sps_id, third.sps_id]
    assert second.sps_id


def test_sequence_matching_on_procedure_and_protocol_codes(dicom_service):
    """One stored item must match all item keys; only matching items come back."""
    head, chest = ProtocolCodeFactory(code_value="HEAD"), ProtocolCodeFactory(code_value="CHEST")
    wanted = book(start=at(5, 9))
    wanted.protocol_codes.set([head, chest])
    other = book(start=at(5, 10))
    other.protocol_codes.set([chest])

    code = Dataset()
    code.CodeValue = "HEAD"
    code.CodingSchemeDesignator = ""
    found = matches(mwl_find(dicom_service, query(ScheduledProtocolCodeSequence=[code])))
    assert [r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in found] == [
        wanted.sps_id
    ]
    items = found[0].ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence
    assert [(item.CodeValue, item.CodingSchemeDesignator) for item in items] == [("HEAD", "99TEST")]

    identifier = query()
    requested_code = Dataset()
    requested_code.CodeValue = wanted.requested_procedure.procedure_code.code_value
    identifier.RequestedProcedureCodeSequence = [requested_code]
    assert sps_ids(mwl_find(dicom_service, identifier)) == [wanted.sps_id]


def test_started_and_finished_steps_leave_the_worklist_unless_asked_for(dicom_service):
    waiting = book(start=at(5, 9))
    arrived = book(start=at(5, 10), status=StepStatus.ARRIVED)
    started = book(start=at(5, 11), status=StepStatus.STARTED)
    book(start=at(5, 12), status=StepStatus.COMPLETED)
    assert sps_ids(mwl_find(dicom_service, query())) == [waiting.sps_id, arrived.sps_id]
    found = mwl_find(dicom_service, query(ScheduledProcedureStepStatus="STARTED"))
    assert sps_ids(found) == [started.sps_id]


def test_status_filter_is_configurable(dicom_service, settings):
    settings.RIS_WORKLIST_STATUSES = ["SCHEDULED", "STARTED"]
    book(start=at(5, 9))
    book(start=at(5, 10), status=StepStatus.STARTED)
    assert len(sps_ids(mwl_find(dicom_service, query()))) == 2


def test_every_requested_key_comes_back_and_nothing_else(dicom_service):
    """Type 2 keys without a value come back empty; unasked keys do not come back."""
    patient = PatientFactory(birth_date=None, sex="")
    step = book(start=at(5, 9, 15), patient=patient, performing_physician_name="Weber^Thomas")
    identifier = Dataset()
    identifier.PatientID = ""
    identifier.PatientBirthDate = ""
    identifier.PatientSex = ""
    identifier.PatientTransportArrangements = ""
    identifier.ReferencedStudySequence = []
    item = Dataset()
    item.ScheduledProcedureStepStartTime = ""
    item.ScheduledPerformingPhysicianName = ""
    identifier.ScheduledProcedureStepSequence = [item]

    [(status, response, _), (final, _, _)] = mwl_find(dicom_service, identifier)

    assert (status, final) == (0xFF00, 0x0000)
    assert response.PatientID == patient.patient_id
    assert response.PatientBirthDate == ""
    assert response.PatientSex == ""
    assert response.PatientTransportArrangements == ""
    assert len(response.ReferencedStudySequence) == 0
    assert "PatientName" not in response
    assert "AccessionNumber" not in response
    sps = response.ScheduledProcedureStepSequence[0]
    assert set(sps.dir()) == {"ScheduledProcedureStepStartTime", "ScheduledPerformingPhysicianName"}
    assert sps.ScheduledProcedureStepStartTime == "091500"
    assert str(sps.ScheduledPerformingPhysicianName) == "Weber^Thomas"
    assert step.sps_id


def test_an_empty_step_sequence_returns_the_whole_item(dicom_service):
    step = book(start=at(5, 9))
    identifier = Dataset()
    identifier.ScheduledProcedureStepSequence = []
    [response] = matches(mwl_find(dicom_service, identifier))
    item = response.ScheduledProcedureStepSequence[0]
    assert item.ScheduledProcedureStepID == step.sps_id
    assert item.ScheduledStationAETitle == "CT1"
    assert item.ScheduledProcedureStepStartDate == "20260305"
    assert item.ScheduledProcedureStepEndTime == (step.start + step.expected_duration).astimezone(
        BERLIN
    ).strftime("%H%M%S")


def test_a_step_sequence_with_one_empty_item_returns_the_whole_item(dicom_service):
    step = book(start=at(5, 9))
    identifier = Dataset()
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    [response] = matches(mwl_find(dicom_service, identifier))
    item = response.ScheduledProcedureStepSequence[0]
    assert item.ScheduledProcedureStepID == step.sps_id
    assert item.Modality == "CT"


def test_other_patient_ids_come_back_as_a_sequence(dicom_service):
    patient = PatientFactory()
    OtherPatientID.objects.create(
        patient=patient, other_patient_id="X-77", issuer_of_patient_id="B"
    )
    book(start=at(5, 9), patient=patient)
    identifier = query()
    identifier.OtherPatientIDsSequence = []
    [response] = matches(mwl_find(dicom_service, identifier))
    [other] = response.OtherPatientIDsSequence
    assert (other.PatientID, other.IssuerOfPatientID, other.TypeOfPatientID) == (
        "X-77",
        "B",
        "TEXT",
    )


def test_unknown_and_private_keys_are_left_out_with_pending_ff01(dicom_service):
    book(start=at(5, 9))
    identifier = query()
    identifier.InstitutionName = ""  # not a key the RIS supports
    identifier.add_new(0x00091001, "LO", "")  # private
    [(status, response, _), _] = mwl_find(dicom_service, identifier)
    assert status == 0xFF01
    assert "InstitutionName" not in response
    assert 0x00091001 not in response


def test_a_value_for_a_key_the_ris_does_not_match_on_gives_ff01(dicom_service):
    """Referring Physician's Name is returned, not matched: the SCU is told."""
    book(start=at(5, 9))
    identifier = query()
    identifier.ReferringPhysicianName = "Weber*"
    [(status, response, _), _] = mwl_find(dicom_service, identifier)
    assert status == 0xFF01
    assert "ReferringPhysicianName" in response
    identifier.ReferringPhysicianName = ""
    [(status, _, _), _] = mwl_find(dicom_service, identifier)
    assert status == 0xFF00


def every_key() -> Dataset:
    """An identifier with every top-level key the RIS answers, and an empty step item."""
    identifier = Dataset()
    for keyword, key in TOP_LEVEL_KEYS.items():
        setattr(identifier, keyword, [] if isinstance(key, SequenceKey) else None)
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    return identifier


@pytest.mark.parametrize(
    "transfer_syntax",
    [ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian],
)
def test_every_transfer_syntax_gets_the_same_answer(dicom_service, transfer_syntax):
    """Responses are encoded for the negotiated transfer syntax (ris.dicom.wire):
    each decodes to what Implicit VR Little Endian, the default, carries."""
    patient = PatientFactory(
        family_name="Größer",
        given_name="Björn",
        medical_alerts="Latex allergy\nPacemaker",
        pregnancy_status=4,
        weight_kg="72.5",
    )
    OtherPatientID.objects.create(
        patient=patient, other_patient_id="X-77", issuer_of_patient_id="B"
    )
    step = book(start=at(5, 9), patient=patient, comments="Bitte nüchtern")
    step.protocol_codes.set([ProtocolCodeFactory(code_value="HEAD")])

    def answer(syntax):
        ae = scu()
        ae.requested_contexts = []
        ae.add_requested_context(ModalityWorklistInformationFind, [syntax])
        assoc = ae.associate(*dicom_service, ae_title="RIS")
        assert assoc.accepted_contexts[0].transfer_syntax[0] == syntax
        try:
            responses = list(assoc.send_c_find(every_key(), ModalityWorklistInformationFind))
        finally:
            assoc.release()
        [response] = matches([(int(status.Status), ds, status) for status, ds in responses])
        return response

    expected, response = answer(ImplicitVRLittleEndian), answer(transfer_syntax)
    assert response == expected
    assert response.PatientName == "Größer^Björn"
    assert response.SpecificCharacterSet == "ISO_IR 192"
    assert response.MedicalAlerts == ["Latex allergy", "Pacemaker"]
    assert response.PregnancyStatus == 4
    assert response.PatientWeight == "72.5"
    assert response.OtherPatientIDsSequence[0].PatientID == "X-77"
    item = response.ScheduledProcedureStepSequence[0]
    assert item.CommentsOnTheScheduledProcedureStep == "Bitte nüchtern"
    assert item.ScheduledProtocolCodeSequence[0].CodeValue == "HEAD"
    assert response.StudyInstanceUID == step.requested_procedure.study_instance_uid


def test_latin1_query_gets_a_latin1_answer(dicom_service):
    book(start=at(5, 9), patient=PatientFactory(family_name="Größer", given_name="Björn"))
    identifier = query()
    identifier.SpecificCharacterSet = "ISO_IR 100"
    [response] = matches(mwl_find(dicom_service, identifier))
    assert response.SpecificCharacterSet == "ISO_IR 100"
    assert str(response.PatientName) == "Größer^Björn"


def test_names_latin1_cannot_carry_come_back_in_utf8(dicom_service):
    patient = PatientFactory()
    patient.name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    patient.save()
    book(start=at(5, 9), patient=patient)
    identifier = query()
    identifier.SpecificCharacterSet = "ISO_IR 100"
    [response] = matches(mwl_find(dicom_service, identifier))
    assert response.SpecificCharacterSet == "ISO_IR 192"
    assert str(response.PatientName) == "Yamada^Tarou=山田^太郎=やまだ^たろう"


def test_ascii_answers_carry_no_character_set(dicom_service):
    book(start=at(5, 9), patient=PatientFactory(family_name="Smith", given_name="John"))
    [response] = matches(mwl_find(dicom_service, query()))
    assert "SpecificCharacterSet" not in response


@pytest.mark.parametrize(
    ("step_keys", "comment"),
    [
        ({"ScheduledProcedureStepStartDate": "20261345"}, "not a date"),
        ({"ScheduledProcedureStepStartDate": "2026*"}, "wildcards"),
        ({"ScheduledProcedureStepStartDate": "20260306-20260304"}, "ends before"),
        ({"ScheduledProcedureStepStartTime": "2200-0200"}, "crosses midnight"),
        ({"ScheduledProcedureStepStartTime": "25"}, "not a time"),
        ({"ScheduledProcedureStepStartDate": "1-2-3"}, "not a value or a range"),
    ],
)
def test_malformed_keys_fail_with_a900_and_a_comment(dicom_service, step_keys, comment):
    [(status, _, status_set)] = mwl_find(dicom_service, query(**step_keys))
    assert status == 0xA900
    assert comment in status_set.ErrorComment
    assert offending(status_set)


def test_two_step_items_and_unknown_character_sets_are_refused(dicom_service):
    identifier = query()
    identifier.ScheduledProcedureStepSequence.append(Dataset())
    [(status, _, status_set)] = mwl_find(dicom_service, identifier)
    assert status == 0xA900
    assert 0x00400100 in offending(status_set)

    identifier = query()
    identifier.SpecificCharacterSet = "ISO_IR 999"
    [(status, _, status_set)] = mwl_find(dicom_service, identifier)
    assert status == 0xA900
    assert "ISO_IR 999" in status_set.ErrorComment


def test_the_service_keeps_serving_after_a_bad_query(dicom_service):
    step = book(start=at(5, 9))
    assoc = associate(dicom_service)
    bad = list(
        assoc.send_c_find(
            query(ScheduledProcedureStepStartDate="x"), ModalityWorklistInformationFind
        )
    )
    good = list(assoc.send_c_find(query(), ModalityWorklistInformationFind))
    assoc.release()
    assert int(bad[-1][0].Status) == 0xA900
    assert [int(s.Status) for s, _ in good] == [0xFF00, 0x0000]
    assert good[0][1].ScheduledProcedureStepSequence[0].ScheduledProcedureStepID == step.sps_id


def test_c_cancel_stops_the_stream(dicom_service):
    step = book(start=at(5, 8))
    ScheduledProcedureStep.objects.bulk_create(
        ScheduledProcedureStep(
            requested_procedure=step.requested_procedure,
            sps_id=f"MANY{n}",
            modality="CT",
            scheduled_station_ae_title="CT1",
            start=at(5, 8) + timedelta(seconds=n),
            expected_duration=timedelta(minutes=5),
        )
        for n in range(5000)
    )
    assoc = associate(dicom_service)
    statuses = []
    for status, _ in assoc.send_c_find(query(), ModalityWorklistInformationFind, msg_id=7):
        statuses.append(int(status.Status))
        if len(statuses) == 1:
            assoc.send_c_cancel(7, query_model=ModalityWorklistInformationFind)
    assoc.release()
    assert statuses[-1] == 0xFE00
    # The service listens for a C-CANCEL every LISTEN_EVERY (50) responses: it
    # stops within a few of those, not after thousands.
    assert len(statuses) <= 10 * LISTEN_EVERY, len(statuses)
