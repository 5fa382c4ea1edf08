"""Search Workitems (PS3.18 11.9): query parameters read as a C-FIND identifier,
matched by the same function as C-FIND, with paging and the standard's Warnings."""

import pytest
from django.http import QueryDict
from pydicom import Dataset
from rest_framework.test import APIClient

from ris.dicom.uids import new_uid
from ris.ups.query import workitem_find
from ris.ups.services import ups_change_state, ups_create, ups_set
from ris.upsrs import statuses
from ris.upsrs.search import QueryError, filter_keys, search_request
from ris.web import roles
from ris.web.roles import user_assign_roles
from tests.ups_helpers import cancellation_reason, code, workitem

WARNING_PREFIX = '299 http://testserver/dicomweb: "'


# --- reading the parameters (no database)


def test_a_keyword_and_a_tag_name_the_same_key():
    by_keyword = search_request(QueryDict("PatientID=P1")).identifier
    by_tag = search_request(QueryDict("00100020=P1")).identifier
    assert by_keyword.PatientID == by_tag.PatientID == "P1"


def test_a_dotted_path_is_a_key_in_the_one_item_of_its_sequence():
    query = QueryDict(
        "ScheduledStationNameCodeSequence.CodeValue=CT1"
        "&ScheduledStationNameCodeSequence.CodingSchemeDesignator=99RIS"
        "&0040A370.00080050=A123"
    )
    identifier = search_request(query).identifier
    [station] = identifier.ScheduledStationNameCodeSequence
    assert (station.CodeValue, station.CodingSchemeDesignator) == ("CT1", "99RIS")
    assert identifier.ReferencedRequestSequence[0].AccessionNumber == "A123"


def test_a_uid_key_with_commas_is_a_uid_list():
    identifier = search_request(QueryDict("SOPInstanceUID=1.2.3,1.2.4")).identifier
    assert list(identifier.SOPInstanceUID) == ["1.2.3", "1.2.4"]


def test_every_result_carries_the_return_keys_of_type_1_and_2():
    identifier = search_request(QueryDict("PatientID=P1")).identifier
    assert identifier.PatientID == "P1"
    assert "ProcedureStepState" in identifier
    assert identifier.ScheduledWorkitemCodeSequence == []
    assert "TransactionUID" not in identifier


def test_includefield_adds_return_keys_and_all_asks_for_everything():
    search = search_request(
        QueryDict("includefield=CommentsOnTheScheduledProcedureStep,00404011&includefield=all")
    )
    assert "CommentsOnTheScheduledProcedureStep" in search.identifier
    assert "ExpectedCompletionDateTime" in search.identifier
    assert search.include_all


@pytest.mark.parametrize(
    "query",
    [
        "NoSuchAttribute=1",
        "00091001=1",
        "PatientID=P1&PatientID=P2",
        "PatientID.CodeValue=1",
        "ScheduledStationNameCodeSequence=CT1",
        "limit=-1",
        "offset=x",
        "fuzzymatching=maybe",
        "includefield=NoSuchAttribute",
        "PatientID..x=1",
    ],
)
def test_an_unreadable_parameter_is_a_query_error(query):
    with pytest.raises(QueryError):
        search_request(QueryDict(query))


def test_a_subscription_filter_is_a_list_of_pairs():
    keys = filter_keys(["PatientID=P1,ScheduledStationNameCodeSequence.CodeValue=CT1"])
    assert keys.PatientID == "P1"
    assert keys.ScheduledStationNameCodeSequence[0].CodeValue == "CT1"
    with pytest.raises(QueryError):
        filter_keys(["PatientID=P1", "PatientID=P2"])


def test_each_warning_and_failure_maps_to_the_transactions_http_status():
    """The table: one outcome per DIMSE status and transaction."""
    assert statuses.outcome(0x0000, statuses.CREATE) == (201, "")
    assert statuses.outcome(0x0000, statuses.CANCEL_REQUEST) == (202, "")
    assert statuses.outcome(0xB304, statuses.CANCEL_REQUEST).http_status == 202
    assert statuses.outcome(0xB306, statuses.CHANGE_STATE).http_status == 200
    assert statuses.outcome(0xB301, statuses.SUBSCRIBE) == (201, "Deletion Lock not granted.")
    assert statuses.outcome(0x0111, statuses.CREATE).http_status == 409
    assert statuses.outcome(0xC300, statuses.UPDATE).http_status == 400
    assert statuses.outcome(0xC300, statuses.CHANGE_STATE).http_status == 409
    assert statuses.outcome(0xC307, statuses.SUBSCRIBE).http_status == 404
    assert statuses.outcome(0xC308, statuses.SUBSCRIBE).http_status == 404
    assert statuses.outcome(0xC315, statuses.SUBSCRIBE).http_status == 403
    assert statuses.outcome(0xC399, statuses.UPDATE).http_status == 400
    assert statuses.outcome(0x0110, statuses.UPDATE).http_status == 500


def test_a_warning_header_quotes_the_standards_text():
    header = statuses.warning_header("http://ris/dicomweb", 'a "quoted" text')
    assert header == '299 http://ris/dicomweb: "a \\"quoted\\" text"'


# --- searching (database)


@pytest.fixture
def client(db, django_user_model):
    api = APIClient()
    viewer = django_user_model.objects.create_user(username="viewer")
    user_assign_roles(viewer, [roles.TECHNOLOGIST])  # sees workitems, changes none
    api.force_authenticate(viewer)
    return api


@pytest.fixture
def worklist(db):
    """Three workitems: CT1 at 09:30 (P1), MR1 at 10:30 (P2), CT1 at 11:30 (P3, claimed)."""
    uids = []
    for hour, station, patient in (("09", "CT1", "P1"), ("10", "MR1", "P2"), ("11", "CT1", "P3")):
        uid = new_uid()
        attributes = workitem(
            ScheduledProcedureStepStartDateTime=f"20261125{hour}3000",
            ScheduledStationNameCodeSequence=[code(station, "99RIS", station)],
            PatientID=patient,
            PatientName=f"Doe^{patient}",
        )
        ups_create(sop_instance_uid=uid, attributes=attributes)
        uids.append(uid)
    ups_change_state(
        sop_instance_uid=uids[2], requested_state="IN PROGRESS", transaction_uid=new_uid()
    )
    return uids


def found(response) -> list[str]:
    return [Dataset.from_json(item).SOPInstanceUID for item in response.json()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [0, 1, 2]),
        ("PatientID=P2", [1]),
        ("PatientName=doe^p*", [0, 1, 2]),
        ("ScheduledStationNameCodeSequence.CodeValue=CT1", [0, 2]),
        ("ProcedureStepState=SCHEDULED", [0, 1]),
        ("ScheduledProcedureStepStartDateTime=20261125100000-20261125120000", [1, 2]),
        ("ProcedureStepState=SCHEDULED&ScheduledStationNameCodeSequence.CodeValue=CT1", [0]),
    ],
)
def test_search_finds_what_c_find_finds(client, worklist, query, expected):
    """The same identifier given to workitem_find (C-FIND's matching) finds the same."""
    response = client.get(f"/dicomweb/workitems?{query}")
    assert response.status_code == 200
    assert found(response) == [worklist[n] for n in expected]
    identifier = search_request(QueryDict(query)).identifier
    assert [str(ds.SOPInstanceUID) for ds, _ in workitem_find(identifier)] == found(response)


def test_search_results_carry_the_default_return_keys_but_no_transaction_uid(client, worklist):
    response = client.get("/dicomweb/workitems?PatientID=P3")
    [item] = response.json()
    result = Dataset.from_json(item)
    assert result.ProcedureStepState == "IN PROGRESS"
    assert result.ProcedureStepLabel == "Lung CAD"
    assert result.ScheduledWorkitemCodeSequence[0].CodeValue == "CAD-LUNG"
    assert "00081195" not in item
    assert "CommentsOnTheScheduledProcedureStep" not in result


def test_search_with_includefield_returns_the_attribute(client, worklist):
    query = "PatientID=P1&includefield=CommentsOnTheScheduledProcedureStep"
    [item] = client.get(f"/dicomweb/workitems?{query}").json()
    assert "00400400" in item


def test_search_with_includefield_all_returns_the_whole_workitem(client, worklist):
    [item] = client.get("/dicomweb/workitems?PatientID=P1&includefield=all").json()
    assert "00404010" in item  # the modification time, not a default return key
    assert "00081195" not in item


def test_search_that_matches_nothing_is_204(client, worklist):
    response = client.get("/dicomweb/workitems?PatientID=NOBODY")
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.filterwarnings("ignore:Invalid value for VR DT")
def test_search_with_a_malformed_value_is_400(client, worklist):
    response = client.get("/dicomweb/workitems?ScheduledProcedureStepStartDateTime=notadate")
    assert response.status_code == 400
    assert response.json()["dimse_status"] == "0xA900"


def test_search_with_an_unknown_attribute_is_400(client, worklist):
    response = client.get("/dicomweb/workitems?Colour=blue")
    assert response.status_code == 400
    assert "Colour" in response.json()["detail"]


def test_search_pages_with_offset_and_limit_and_says_what_remains(client, worklist):
    response = client.get("/dicomweb/workitems?limit=1&offset=1")
    assert found(response) == [worklist[1]]
    assert response.headers["Warning"] == (
        WARNING_PREFIX + 'There are 1 additional results that can be requested"'
    )
    assert "Warning" not in client.get("/dicomweb/workitems?offset=1").headers
    assert client.get("/dicomweb/workitems?offset=3").status_code == 204


def test_search_is_capped_at_the_maximum(client, worklist, settings):
    settings.RIS_UPSRS_MAX_RESULTS = 2
    response = client.get("/dicomweb/workitems?limit=10")
    assert found(response) == worklist[:2]
    assert "There are 1 additional results" in response.headers["Warning"]


def test_search_with_fuzzymatching_matches_literally_and_says_so(client, worklist):
    response = client.get("/dicomweb/workitems?PatientID=P1&fuzzymatching=true")
    assert found(response) == [worklist[0]]
    assert "The fuzzymatching parameter is not supported." in response.headers["Warning"]


def test_search_with_a_non_ascii_name_matches_it(client, db):
    uid = new_uid()
    ups_create(sop_instance_uid=uid, attributes=workitem(PatientName="Müller^Jürgen"))
    response = client.get("/dicomweb/workitems?PatientName=MÜLLER*")
    assert found(response) == [uid]


def test_search_leaves_out_a_workitem_no_longer_on_the_worklist(client, worklist, settings):
    settings.RIS_UPS_FINAL_RETENTION = -1
    transaction_uid = new_uid()
    uid = worklist[0]
    ups_change_state(
        sop_instance_uid=uid, requested_state="IN PROGRESS", transaction_uid=transaction_uid
    )
    reason = cancellation_reason()
    reason.TransactionUID = transaction_uid
    ups_set(sop_instance_uid=uid, modifications=reason)
    ups_change_state(
        sop_instance_uid=uid, requested_state="CANCELED", transaction_uid=transaction_uid
    )
    assert uid not in found(client.get("/dicomweb/workitems"))
