"""UPS C-FIND at the domain level: matching, return keys, refusals; no network."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q
from django.utils import timezone as django_timezone
from pydicom import Dataset

from ris.dicom.datetimes import format_datetime, parse_datetime, utc_offset
from ris.dicom.errors import IdentifierError
from ris.dicom.matching import datetime_bounds, match_datetime_range
from ris.ups.columns import workitem_child_rows, workitem_columns, workitem_replace_child_rows
from ris.ups.models import Subscription, Workitem, WorkitemCode
from ris.ups.query import UPS_PUSH_SOP_CLASS_UID, workitem_conditions, workitem_find

BERLIN = ZoneInfo("Europe/Berlin")


def code(value: str, scheme: str = "99RIS", meaning: str = "") -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning or value
    return item


def request_item(accession: str, procedure_id: str = "RP1", issuer: str = "") -> Dataset:
    item = Dataset()
    item.AccessionNumber = accession
    item.RequestedProcedureID = procedure_id
    item.StudyInstanceUID = f"1.2.3.{accession[-1:] or 0}"
    item.RequestingService = "RADIOLOGY"
    item.IssuerOfAccessionNumberSequence = [issuer_item(issuer)] if issuer else []
    return item


def issuer_item(namespace: str) -> Dataset:
    item = Dataset()
    item.LocalNamespaceEntityID = namespace
    return item


def performer(code_value: str, name: str = "Smith^Ann") -> Dataset:
    item = Dataset()
    item.HumanPerformerCodeSequence = [code(code_value)]
    item.HumanPerformerName = name
    item.HumanPerformerOrganization = "RAD"
    return item


def ups_dataset(**values) -> Dataset:
    """A whole UPS data set as the services keep it; keyword arguments replace attributes."""
    ds = Dataset()
    ds.SOPClassUID = UPS_PUSH_SOP_CLASS_UID
    ds.ScheduledProcedureStepPriority = "MEDIUM"
    ds.ProcedureStepLabel = "Lung CAD"
    ds.WorklistLabel = "CAD"
    ds.ScheduledProcedureStepStartDateTime = "20260305093000+0100"
    ds.ExpectedCompletionDateTime = "20260305100000+0100"
    ds.ScheduledProcedureStepModificationDateTime = "20260301120000+0100"
    ds.InputReadinessState = "READY"
    ds.ProcedureStepState = "SCHEDULED"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P1"
    ds.IssuerOfPatientID = "HOSP"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.AdmissionID = "ADM1"
    ds.IssuerOfAdmissionIDSequence = [issuer_item("WARD")]
    ds.ScheduledWorkitemCodeSequence = [code("CAD-LUNG", meaning="Lung CAD")]
    ds.ScheduledStationNameCodeSequence = [code("CAD1")]
    ds.ScheduledStationClassCodeSequence = [code("CADCLASS")]
    ds.ScheduledStationGeographicLocationCodeSequence = [code("BLDG1")]
    ds.ScheduledHumanPerformersSequence = [performer("RAD1")]
    ds.ReferencedRequestSequence = [request_item("ACC1", issuer="HOSP")]
    ds.ReplacedProcedureStepSequence = []
    ds.CommentsOnTheScheduledProcedureStep = "Prior CT attached"
    ds.ProcedureStepProgressInformationSequence = []
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def make_workitem(uid: str = "1.2.826.0.1.1", transaction_uid: str = "", **values) -> Workitem:
    """A workitem stored as the services store one: data set, columns and child rows."""
    ds = ups_dataset(SOPInstanceUID=uid, **values)
    workitem = Workitem.objects.create(
        sop_instance_uid=uid,
        transaction_uid=transaction_uid,
        dataset=ds.to_json_dict(),
        modified_at=parse_datetime(ds.ScheduledProcedureStepModificationDateTime, UTC)[0],
        **workitem_columns(ds),
    )
    workitem_replace_child_rows(workitem, ds)
    return workitem


def identifier(**keys) -> Dataset:
    ds = Dataset()
    ds.SOPInstanceUID = ""
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def found(query: Dataset, workitems=None) -> list[str]:
    return [response.SOPInstanceUID for response, _ in workitem_find(query, workitems)]


# The date-time helpers, without a database.


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024", datetime(2024, 1, 1), datetime(2025, 1, 1)),
        ("202412", datetime(2024, 12, 1), datetime(2025, 1, 1)),
        ("20240229", datetime(2024, 2, 29), datetime(2024, 3, 1)),
        ("2024070510", datetime(2024, 7, 5, 10), datetime(2024, 7, 5, 11)),
        ("202407051030", datetime(2024, 7, 5, 10, 30), datetime(2024, 7, 5, 10, 31)),
        ("20240705103015", datetime(2024, 7, 5, 10, 30, 15), datetime(2024, 7, 5, 10, 30, 16)),
        (
            "20240705103015.25",
            datetime(2024, 7, 5, 10, 30, 15, 250000),
            datetime(2024, 7, 5, 10, 30, 15, 260000),
        ),
    ],
)
def test_a_dt_value_means_its_whole_unit(value, start, end):
    """ "2024" is the whole year, "202407051030" the whole minute (C.2.2.2.5)."""
    assert parse_datetime(value, BERLIN) == (
        start.replace(tzinfo=BERLIN),
        end.replace(tzinfo=BERLIN),
    )


def test_a_dt_value_with_a_utc_offset_is_at_that_offset():
    """The value's own offset wins over the zone it is read in."""
    start, end = parse_datetime("202407051030-0500", BERLIN)
    assert start == datetime(2024, 7, 5, 15, 30, tzinfo=UTC)
    assert end - start == timedelta(minutes=1)


def test_the_year_9999_ends_at_the_end_of_time():
    assert parse_datetime("9999", UTC)[1] == datetime.max.replace(tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "24", "2024070", "20241301", "2024-07-05", "20240705+1500"])
def test_what_is_not_a_dt_value_is_refused(value):
    with pytest.raises(ValueError, match="not a DICOM date-time"):
        parse_datetime(value, UTC)


def test_a_utc_offset_is_a_fixed_zone():
    assert utc_offset("+0530") == timezone(timedelta(hours=5, minutes=30))
    assert utc_offset("-1000") == timezone(-timedelta(hours=10))
    with pytest.raises(ValueError, match="not a UTC offset"):
        utc_offset("0100")


def test_a_moment_is_formatted_as_dt_with_its_offset():
    moment = datetime(2024, 7, 5, 8, 30, tzinfo=UTC)
    assert format_datetime(moment, BERLIN) == "20240705103000.000000+0200"


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        (
            "2024070510-2024070512",
            datetime(2024, 7, 5, 10, tzinfo=BERLIN),
            datetime(2024, 7, 5, 13, tzinfo=BERLIN),
        ),
        ("2024-", datetime(2024, 1, 1, tzinfo=BERLIN), None),
        ("-2024", None, datetime(2025, 1, 1, tzinfo=BERLIN)),
        (
            "20240705-0500-20240706-0500",
            datetime(2024, 7, 5, 5, tzinfo=UTC),
            datetime(2024, 7, 7, 5, tzinfo=UTC),
        ),
        ("20240705+0000", datetime(2024, 7, 5, tzinfo=UTC), datetime(2024, 7, 6, tzinfo=UTC)),
    ],
)
def test_a_dt_key_is_a_range_of_moments(value, start, end):
    """Single values and ranges, open ends, and ends with negative offsets."""
    assert datetime_bounds(value, BERLIN, "K") == (start, end)


@pytest.mark.parametrize("value", ["-", "2024*", "2025-2024", "20240705-0500", "2024-2025-2026"])
def test_a_malformed_dt_key_is_refused(value):
    """A "-" always makes a range, so a lone negative offset reads as an empty range."""
    with pytest.raises(IdentifierError):
        datetime_bounds(value, BERLIN, "K")


def test_dt_range_matching_compares_moments_in_utc():
    condition = match_datetime_range("start", "202407051030-", BERLIN, "K")
    assert condition == Q(start__gte=datetime(2024, 7, 5, 8, 30, tzinfo=UTC))
    assert match_datetime_range("start", "", BERLIN, "K") == Q()


# Columns and child rows.


def test_columns_are_read_from_the_data_set(settings):
    """Moments honour an offset in the value, and the department's zone without one."""
    settings.TIME_ZONE = "Europe/Berlin"
    progress = Dataset()
    progress.ProcedureStepProgress = "42.5"
    ds = ups_dataset(
        ScheduledProcedureStepStartDateTime="20260305093000",
        ExpectedCompletionDateTime="20260305100000-0500",
        PatientName="Müller^Jürgen",
        ProcedureStepProgressInformationSequence=[progress],
    )
    columns = workitem_columns(ds)
    assert columns["scheduled_start"] == datetime(2026, 3, 5, 8, 30, tzinfo=UTC)
    assert columns["expected_completion"] == datetime(2026, 3, 5, 15, tzinfo=UTC)
    assert columns["patient_name"] == "Müller^Jürgen"
    assert columns["patient_name_search"].startswith("MÜLLER^JÜRGEN^")
    assert columns["patient_birth_date"] == date(1970, 1, 1)
    assert columns["progress"] == Decimal("42.5")
    assert (columns["state"], columns["priority"], columns["admission_id"]) == (
        "SCHEDULED",
        "MEDIUM",
        "ADM1",
    )


def test_timezone_offset_from_utc_places_values_without_their_own(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    ds = ups_dataset(
        TimezoneOffsetFromUTC="-0300", ScheduledProcedureStepStartDateTime="20260305093000"
    )
    assert workitem_columns(ds)["scheduled_start"] == datetime(2026, 3, 5, 12, 30, tzinfo=UTC)


def test_missing_optional_values_give_empty_columns():
    ds = ups_dataset()
    del ds.ExpectedCompletionDateTime, ds.PatientBirthDate, ds.PatientName
    columns = workitem_columns(ds)
    assert columns["expected_completion"] is None
    assert columns["patient_birth_date"] is None
    assert columns["patient_name"] == ""
    assert columns["progress"] is None


def test_child_rows_hold_the_coded_sequences_and_the_requests():
    ds = ups_dataset(ReferencedRequestSequence=[request_item("ACC1"), request_item("ACC2", "RP2")])
    workitem = Workitem(sop_instance_uid="1.2")
    codes, requests = workitem_child_rows(workitem, ds)
    assert sorted((row.sequence, row.code_value) for row in codes) == [
        ("ScheduledHumanPerformersSequence.HumanPerformerCodeSequence", "RAD1"),
        ("ScheduledStationClassCodeSequence", "CADCLASS"),
        ("ScheduledStationGeographicLocationCodeSequence", "BLDG1"),
        ("ScheduledStationNameCodeSequence", "CAD1"),
        ("ScheduledWorkitemCodeSequence", "CAD-LUNG"),
    ]
    assert all(row.pk is None and row.workitem is workitem for row in codes + requests)
    assert [(r.accession_number, r.requested_procedure_id) for r in requests] == [
        ("ACC1", "RP1"),
        ("ACC2", "RP2"),
    ]
    assert requests[0].study_instance_uid == "1.2.3.1"
    assert requests[0].requesting_service == "RADIOLOGY"


@pytest.mark.django_db
def test_replacing_child_rows_drops_the_old_ones():
    workitem = make_workitem()
    workitem_replace_child_rows(workitem, ups_dataset(ScheduledWorkitemCodeSequence=[code("X")]))
    assert workitem.codes.filter(sequence="ScheduledWorkitemCodeSequence").get().code_value == "X"
    assert workitem.codes.count() == 5
    assert workitem.requests.count() == 1


# Matching.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keyword", "stored", "matching", "not_matching"),
    [
        ("ScheduledProcedureStepPriority", "HIGH", "HIGH", "LOW"),
        ("ProcedureStepLabel", "Knee MR", "Knee*", "knee*"),
        ("WorklistLabel", "MRI", "M?I", "MR"),
        ("InputReadinessState", "INCOMPLETE", "INCOMPLETE", "UNAVAILABLE"),
        ("ProcedureStepState", "IN PROGRESS", "IN PROGRESS", "CANCELED"),
        ("PatientID", "P77", "P7?", "P7"),
        ("IssuerOfPatientID", "CLINIC", "CLIN*", "clinic"),
        ("PatientSex", "M", "M", "O"),
        ("AdmissionID", "ADM9", "*9", "ADM"),
    ],
)
def test_string_keys_match_by_single_value_and_wildcard(keyword, stored, matching, not_matching):
    """Case-sensitive, "*" and "?" as wildcards (C.2.2.2.1, C.2.2.2.4)."""
    make_workitem("1.1", **{keyword: stored})
    make_workitem("1.2")
    assert found(identifier(**{keyword: matching})) == ["1.1"]
    assert found(identifier(**{keyword: not_matching})) == []
    assert found(identifier(**{keyword: "*"})) == ["1.1", "1.2"]


@pytest.mark.django_db
def test_an_empty_stored_value_never_matches_a_wildcard():
    make_workitem("1.1", AdmissionID="")
    assert found(identifier(AdmissionID="*?*")) == []
    assert found(identifier(AdmissionID="")) == ["1.1"]


@pytest.mark.django_db
def test_sop_instance_uid_matches_a_list_of_uids():
    for uid in ("1.1", "1.2", "1.3"):
        make_workitem(uid)
    assert found(identifier(SOPInstanceUID="1.2")) == ["1.2"]
    assert found(identifier(SOPInstanceUID=["1.1", "1.3", "9.9"])) == ["1.1", "1.3"]


@pytest.mark.django_db
def test_sop_class_uid_matches_ups_push_only():
    make_workitem("1.1")
    assert found(identifier(SOPClassUID=UPS_PUSH_SOP_CLASS_UID)) == ["1.1"]
    assert found(identifier(SOPClassUID="1.2.840.10008.5.1.4.34.6.2")) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keyword", "column_value"),
    [
        ("ScheduledProcedureStepStartDateTime", "20260305093000+0100"),
        ("ExpectedCompletionDateTime", "20260305093000+0100"),
        ("ScheduledProcedureStepModificationDateTime", "20260305093000+0100"),
    ],
)
@pytest.mark.parametrize(
    ("key", "matches"),
    [
        ("20260305", True),
        ("2026030509", True),
        ("20260305093000.000+0100", True),
        ("202603050830+0000", True),
        ("20260304", False),
        ("20260305-", True),
        ("-20260304", False),
        ("2026030509-2026030510", True),
        ("2026030510-", False),
        ("20260305093001-", False),
        ("2026030505-0500-", False),  # 05:00 at -0500 is 10:00 UTC, after 08:30 UTC
    ],
)
def test_date_time_keys_match_by_single_value_and_range(
    settings, keyword, column_value, key, matches
):
    """Single value and range matching of DT keys, compared as moments (C.2.2.2.5)."""
    settings.TIME_ZONE = "Europe/Berlin"
    make_workitem("1.1", **{keyword: column_value})
    assert found(identifier(**{keyword: key})) == (["1.1"] if matches else [])


@pytest.mark.django_db
def test_timezone_offset_from_utc_in_the_request_places_dt_keys(settings):
    settings.TIME_ZONE = "UTC"
    make_workitem("1.1", ScheduledProcedureStepStartDateTime="20260305093000+0100")  # 08:30 UTC
    assert found(identifier(ScheduledProcedureStepStartDateTime="2026030508")) == ["1.1"]
    tokyo = identifier(
        ScheduledProcedureStepStartDateTime="2026030517", TimezoneOffsetFromUTC="+0900"
    )
    assert found(tokyo) == ["1.1"]


@pytest.mark.django_db
def test_a_workitem_without_expected_completion_matches_no_expected_completion_key():
    make_workitem("1.1", ExpectedCompletionDateTime="")
    assert found(identifier(ExpectedCompletionDateTime="2000-")) == []
    assert found(identifier(ExpectedCompletionDateTime="")) == ["1.1"]


@pytest.mark.django_db
def test_birth_date_matches_by_date_range():
    make_workitem("1.1", PatientBirthDate="19700101")
    make_workitem("1.2", PatientBirthDate="19850615")
    assert found(identifier(PatientBirthDate="19700101")) == ["1.1"]
    assert found(identifier(PatientBirthDate="19800101-")) == ["1.2"]
    assert found(identifier(PatientBirthDate="-19800101")) == ["1.1"]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["müller", "MÜLLER^JÜRGEN", "Mül*", "müller^j?rgen"])
def test_patient_name_matches_without_regard_to_case(key):
    """Like the worklist's: case-insensitive, omitted components match anything."""
    make_workitem("1.1", PatientName="Müller^Jürgen")
    make_workitem("1.2", PatientName="Mueller^Hans")
    assert found(identifier(PatientName=key)) == ["1.1"]


def coded_key(value: str = "", scheme: str = "") -> list[Dataset]:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    return [item]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "keyword",
    [
        "ScheduledStationNameCodeSequence",
        "ScheduledStationClassCodeSequence",
        "ScheduledStationGeographicLocationCodeSequence",
        "ScheduledWorkitemCodeSequence",
    ],
)
def test_coded_sequences_match_on_code_value_and_scheme(keyword):
    """Sequence matching (C.2.2.2.6): one stored item matches every item key."""
    make_workitem("1.1", **{keyword: [code("A"), code("B", scheme="DCM")]})
    make_workitem("1.2", **{keyword: [code("C")]})
    assert found(identifier(**{keyword: coded_key("B", "DCM")})) == ["1.1"]
    assert found(identifier(**{keyword: coded_key("B", "99RIS")})) == []
    assert found(identifier(**{keyword: coded_key("", "99RIS")})) == ["1.1", "1.2"]
    assert found(identifier(**{keyword: coded_key("?")})) == ["1.1", "1.2"]


@pytest.mark.django_db
def test_a_workitem_whose_items_match_twice_is_found_once():
    make_workitem("1.1", ScheduledWorkitemCodeSequence=[code("A1"), code("A2")])
    responses = list(workitem_find(identifier(ScheduledWorkitemCodeSequence=coded_key("A*"))))
    assert len(responses) == 1
    items = responses[0][0].ScheduledWorkitemCodeSequence
    assert [item.CodeValue for item in items] == ["A1", "A2"]


@pytest.mark.django_db
def test_the_response_holds_the_matching_items_with_the_requested_item_keys():
    make_workitem("1.1", ScheduledWorkitemCodeSequence=[code("A", meaning="a"), code("B")])
    key = coded_key("A")
    key[0].CodeMeaning = ""
    ((response, supported),) = workitem_find(identifier(ScheduledWorkitemCodeSequence=key))
    (item,) = response.ScheduledWorkitemCodeSequence
    assert (item.CodeValue, item.CodeMeaning) == ("A", "a")
    assert set(item.keys()) == {0x00080100, 0x00080102, 0x00080104}
    assert supported


@pytest.mark.django_db
def test_performers_match_on_their_code():
    make_workitem("1.1", ScheduledHumanPerformersSequence=[performer("RAD1"), performer("RAD2")])
    make_workitem("1.2", ScheduledHumanPerformersSequence=[])
    key = Dataset()
    key.HumanPerformerCodeSequence = coded_key("RAD2")
    key.HumanPerformerName = ""
    ((response, _),) = workitem_find(identifier(ScheduledHumanPerformersSequence=[key]))
    assert response.SOPInstanceUID == "1.1"
    (item,) = response.ScheduledHumanPerformersSequence
    assert item.HumanPerformerCodeSequence[0].CodeValue == "RAD2"
    assert set(item.keys()) == {0x00404009, 0x00404037}


def referenced_request_key(**keys) -> list[Dataset]:
    item = Dataset()
    for keyword, value in keys.items():
        setattr(item, keyword, value)
    return [item]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"AccessionNumber": "ACC2"}, ["1.2"]),
        ({"AccessionNumber": "ACC*"}, ["1.1", "1.2"]),
        ({"RequestedProcedureID": "RP2"}, ["1.2"]),
        ({"AccessionNumber": "ACC1", "RequestedProcedureID": "RP2"}, []),
        ({"StudyInstanceUID": "1.2.3.2"}, ["1.2"]),
        ({"RequestingService": "RADIO*"}, ["1.1", "1.2"]),
        ({"IssuerOfAccessionNumberSequence": [issuer_item("CLINIC")]}, ["1.2"]),
        (
            {"AccessionNumber": "ACC1", "IssuerOfAccessionNumberSequence": [issuer_item("CLINIC")]},
            [],
        ),
    ],
)
def test_referenced_requests_match_item_by_item(keys, expected):
    make_workitem("1.1", ReferencedRequestSequence=[request_item("ACC1", issuer="HOSP")])
    make_workitem(
        "1.2",
        ReferencedRequestSequence=[
            request_item("ACC3", issuer="HOSP"),
            request_item("ACC2", "RP2", issuer="CLINIC"),
        ],
    )
    assert found(identifier(ReferencedRequestSequence=referenced_request_key(**keys))) == expected


@pytest.mark.django_db
def test_sequences_without_rows_match_on_the_data_set():
    """Issuer of Admission ID and Replaced Procedure Step are required keys too."""
    replaced = Dataset()
    replaced.ReferencedSOPClassUID = UPS_PUSH_SOP_CLASS_UID
    replaced.ReferencedSOPInstanceUID = "1.9"
    make_workitem("1.1", ReplacedProcedureStepSequence=[replaced])
    make_workitem("1.2", IssuerOfAdmissionIDSequence=[issuer_item("ER")])
    key = Dataset()
    key.ReferencedSOPInstanceUID = ["1.8", "1.9"]
    assert found(identifier(ReplacedProcedureStepSequence=[key])) == ["1.1"]
    assert found(identifier(IssuerOfAdmissionIDSequence=[issuer_item("E?")])) == ["1.2"]


# The response.


@pytest.mark.django_db
def test_the_response_holds_exactly_the_requested_keys():
    """With the stored value, or empty where the workitem has none (C.2.2.1)."""
    make_workitem("1.1", transaction_uid="9.9.9", AdmissionID="")
    query = identifier(
        SOPClassUID="",
        PatientName="",
        AdmissionID="",
        MedicalAlerts="",
        ProcedureStepLabel="Lung*",
        ScheduledProcedureStepModificationDateTime="",
    )
    ((response, supported),) = workitem_find(query)
    assert set(response.dir()) == set(query.dir())
    assert response.SOPClassUID == UPS_PUSH_SOP_CLASS_UID
    assert response.SOPInstanceUID == "1.1"
    assert response.PatientName == "Doe^Jane"
    assert response.ProcedureStepLabel == "Lung CAD"
    assert response.AdmissionID == ""
    assert response.MedicalAlerts is None
    assert response.ScheduledProcedureStepModificationDateTime == "20260301120000+0100"
    assert "SpecificCharacterSet" not in response
    assert supported


@pytest.mark.django_db
def test_the_transaction_uid_is_never_returned():
    """Even when asked for, and even if a data set held it (CC.2.8.3)."""
    workitem = make_workitem("1.1", transaction_uid="9.9.9")
    workitem.dataset["00081195"] = {"vr": "UI", "Value": ["9.9.9"]}
    workitem.save()
    ((response, _),) = workitem_find(identifier(TransactionUID=""))
    assert "TransactionUID" not in response


@pytest.mark.django_db
def test_an_empty_sequence_key_returns_the_whole_sequence():
    make_workitem("1.1")
    empty_item = [Dataset()]
    query = identifier(ScheduledHumanPerformersSequence=[], ReferencedRequestSequence=empty_item)
    ((response, _),) = workitem_find(query)
    (performer_item,) = response.ScheduledHumanPerformersSequence
    assert performer_item.HumanPerformerOrganization == "RAD"
    (request,) = response.ReferencedRequestSequence
    assert request.IssuerOfAccessionNumberSequence[0].LocalNamespaceEntityID == "HOSP"


@pytest.mark.django_db
def test_a_sequence_the_workitem_lacks_comes_back_empty():
    make_workitem("1.1")
    ((response, _),) = workitem_find(identifier(InputInformationSequence=[]))
    assert response.InputInformationSequence == []


@pytest.mark.django_db
def test_non_ascii_values_are_answered_in_utf_8():
    make_workitem("1.1", PatientName="Müller^Jürgen")
    make_workitem("1.2", PatientName="Doe^Jane", ScheduledProcedureStepStartDateTime="2027")
    responses = [response for response, _ in workitem_find(identifier(PatientName=""))]
    assert responses[0].SpecificCharacterSet == "ISO_IR 192"
    assert "SpecificCharacterSet" not in responses[1]


@pytest.mark.django_db
def test_workitems_come_in_scheduled_start_order():
    make_workitem("1.1", ScheduledProcedureStepStartDateTime="20260305120000+0000")
    make_workitem("1.2", ScheduledProcedureStepStartDateTime="20260305090000+0000")
    make_workitem("1.3", ScheduledProcedureStepStartDateTime="20260305100000+0000")
    assert found(identifier()) == ["1.2", "1.3", "1.1"]


@pytest.mark.django_db
def test_one_sql_query_answers_however_many_matches(django_assert_num_queries):
    for number in range(10):
        make_workitem(f"1.{number}")
    query = identifier(ScheduledWorkitemCodeSequence=coded_key("CAD-LUNG"), PatientName="")
    with django_assert_num_queries(1):
        assert len(list(workitem_find(query))) == 10


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        {"CommentsOnTheScheduledProcedureStep": "Prior*"},
        {"ScheduledHumanPerformersSequence": [performer("RAD1", name="Smith*")]},
        {"ScheduledWorkitemCodeSequence": [code("CAD-LUNG", meaning="Lung CAD")]},
    ],
)
def test_a_value_for_a_key_not_matched_on_is_reported(extra):
    """The value is not matched; Pending 0xFF01 says so (C.4.1.1.4)."""
    make_workitem("1.1")
    ((_, supported),) = workitem_find(identifier(**extra))
    assert not supported


@pytest.mark.django_db
def test_a_private_key_is_left_out_and_reported():
    make_workitem("1.1")
    query = identifier()
    query.add_new(0x00091001, "LO", "")
    ((response, supported),) = workitem_find(query)
    assert 0x00091001 not in response
    assert not supported


# Where the search looks, and refusals.


@pytest.mark.django_db
def test_only_the_given_workitems_are_searched():
    make_workitem("1.1")
    make_workitem("1.2")
    assert found(identifier(), Workitem.objects.filter(sop_instance_uid="1.2")) == ["1.2"]


@pytest.mark.django_db
def test_by_default_workitems_long_final_are_not_searched(settings):
    settings.RIS_UPS_FINAL_RETENTION = 60
    long_ago = django_timezone.now() - timedelta(hours=1)
    make_workitem("1.1")
    Workitem.objects.filter(pk=make_workitem("1.2", ProcedureStepState="COMPLETED").pk).update(
        final_at=long_ago
    )
    locked = make_workitem("1.3", ProcedureStepState="CANCELED")
    Workitem.objects.filter(pk=locked.pk).update(final_at=long_ago)
    Subscription.objects.create(workitem=locked, ae_title="WATCHER", deletion_lock=True)
    assert found(identifier()) == ["1.1", "1.3"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keys", "offending"),
    [
        ({"ScheduledProcedureStepStartDateTime": "2026-03-05"}, 0x00404005),
        ({"ExpectedCompletionDateTime": "tomorrow"}, 0x00404011),
        ({"ScheduledProcedureStepModificationDateTime": "2027-2026"}, 0x00404010),
        ({"SOPInstanceUID": "1.2.*"}, 0x00080018),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.34.6.?"}, 0x00080016),
        ({"PatientBirthDate": "1970"}, 0x00100030),
        ({"PatientID": ["P1", "P2"]}, 0x00100020),
        ({"ScheduledWorkitemCodeSequence": coded_key("A") + coded_key("B")}, 0x00404018),
        (
            {
                "ReplacedProcedureStepSequence": referenced_request_key(
                    ReferencedSOPInstanceUID="1.*"
                )
            },
            0x00741224,
        ),
        ({"SpecificCharacterSet": "ISO_IR 999"}, 0x00080005),
        ({"TimezoneOffsetFromUTC": "CET"}, 0x00080201),
    ],
)
def test_a_malformed_key_is_refused_naming_the_element(keys, offending):
    """0xA900 before the first match, with Offending Element (0000,0901)."""
    make_workitem("1.1")
    with pytest.raises(IdentifierError) as refused:
        workitem_find(identifier(**keys))
    assert refused.value.status == 0xA900
    assert refused.value.offending == (offending,)


def test_conditions_need_no_database_to_be_built():
    """The services filter subscriptions' workitems with the same conditions."""
    condition = workitem_conditions(identifier(PatientID="P1", ProcedureStepState="SCHEDULED"))
    assert condition == Q(patient_id="P1") & Q(state="SCHEDULED")


@pytest.mark.django_db
def test_conditions_filter_any_workitem_queryset():
    make_workitem("1.1", PatientID="P1")
    make_workitem("1.2", PatientID="P2")
    keys = identifier(PatientID="P2", ScheduledWorkitemCodeSequence=coded_key("CAD-LUNG"))
    assert list(
        Workitem.objects.filter(workitem_conditions(keys)).values_list(
            "sop_instance_uid", flat=True
        )
    ) == ["1.2"]
    assert WorkitemCode.objects.count() == 10
