"""The worklist query itself, without the network: one SQL query, literal characters."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from pydicom import Dataset
from pynetdicom.dsutils import encode

from ris.dicom.errors import IdentifierError
from ris.dicom.wire import EncodedDataset, WireEncoding
from ris.scheduling.models import OtherPatientID
from ris.scheduling.worklist import (
    WorklistRows,
    _kept_plan,
    _settings_planned_with,
    in_pages,
    worklist_find,
)
from ris.scheduling.worklist.keys import TOP_LEVEL_KEYS, SequenceKey
from ris.scheduling.worklist.query import FIRST_PAGES
from tests.factories import (
    PatientFactory,
    ProtocolCodeFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)

pytestmark = pytest.mark.django_db


def identifier(**step_keys) -> Dataset:
    ds = Dataset()
    ds.PatientName = ""
    ds.OtherPatientIDsSequence = []
    ds.RequestedProcedureCodeSequence = []
    item = Dataset()
    item.ScheduledStationAETitle = ""
    item.ScheduledProtocolCodeSequence = []
    for keyword, value in step_keys.items():
        setattr(item, keyword, value)
    ds.ScheduledProcedureStepSequence = [item]
    return ds


def test_one_sql_query_answers_a_c_find_however_many_matches(django_assert_num_queries):
    """Protocol codes and other patient IDs come with the steps, not one query each."""
    for number in range(20):
        patient = PatientFactory()
        OtherPatientID.objects.create(patient=patient, other_patient_id=f"OLD{number}")
        step = ScheduledProcedureStepFactory(requested_procedure__order__patient=patient)
        step.protocol_codes.set(
            step.requested_procedure.procedure_code.default_protocol_codes.all()
        )
    with django_assert_num_queries(1):
        responses = [response.decoded() for response, _ in worklist_find(identifier())]
    assert len(responses) == 20
    assert all(len(response.OtherPatientIDsSequence) == 1 for response in responses)

    # Every key the RIS answers, the whole step item too: still one query.
    with django_assert_num_queries(1):
        responses = list(worklist_find(every_key()))
    assert len(responses) == 20


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares statements")
def test_a_question_asked_again_is_planned_once_per_connection():
    """The statement is prepared with its values written in (ris.compiled): the
    second answer reuses the first one's plan, and is the same."""
    station = StationFactory(ae_title="PREPARED1")
    ScheduledProcedureStepFactory.create_batch(2, station=station)
    question = identifier(ScheduledStationAETitle="PREPARED1")

    answers = [[response.data for response, _ in worklist_find(question)] for _ in range(2)]

    assert len(answers[0]) == 2
    assert answers[0] == answers[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%'PREPARED1'%"],
        )
        assert cursor.fetchall() == [(2, 0)]
    # Django's own statements are neither prepared nor counted for it.
    assert connection.connection.prepare_threshold is None


def every_key() -> Dataset:
    ds = Dataset()
    for keyword, key in TOP_LEVEL_KEYS.items():
        setattr(ds, keyword, [] if isinstance(key, SequenceKey) else None)
    ds.ScheduledProcedureStepSequence = [Dataset()]
    return ds


@pytest.mark.parametrize(
    ("pattern", "expected"), [("CT_*", ["CT_1"]), ("CT%", []), ("CT?1", ["CTX1", "CT_1"])]
)
def test_sql_wildcard_characters_in_a_key_are_literal(pattern, expected):
    """ "_" and "%" mean themselves in DICOM; only "*" and "?" are wildcards."""
    for title in ("CT_1", "CTX1"):
        ScheduledProcedureStepFactory(
            station=StationFactory(ae_title=title), start=datetime(2026, 3, 5, tzinfo=UTC)
        )
    found = [
        response.decoded().ScheduledProcedureStepSequence[0].ScheduledStationAETitle
        for response, _ in worklist_find(identifier(ScheduledStationAETitle=pattern))
    ]
    assert sorted(found) == expected


def test_a_long_worklist_comes_in_pages_in_start_order_without_repeats():
    """Keyset pages (worklist.in_pages): steps that share a start are neither
    skipped nor repeated at a page boundary."""
    nine, ten = datetime(2026, 3, 5, 9, tzinfo=UTC), datetime(2026, 3, 5, 10, tzinfo=UTC)
    steps = [ScheduledProcedureStepFactory(start=start) for start in [ten, nine] * 4]
    rows = WorklistRows(identifier(), ["sps_id"])
    expected = [(s.start, s.pk, s.sps_id) for s in sorted(steps, key=lambda s: (s.start, s.pk))]
    for size in (1, 3, 8, 50):
        assert list(in_pages(rows, size=size)) == expected


def test_a_question_asked_again_reuses_its_sql_and_reads_the_schedule_afresh():
    """WorklistRows keeps the first page's compiled SQL per distinct
    condition, never its rows: a step booked since is in the next answer,
    a changed value is another question, and the kept SQL returns what
    Django's QuerySet returns, its values converted alike (datetimes on SQLite)."""
    ct1, ct2 = StationFactory(ae_title="CT1"), StationFactory(ae_title="CT2")
    day = datetime(2026, 3, 5, 9, tzinfo=UTC)
    ScheduledProcedureStepFactory(station=ct1, start=day)
    ScheduledProcedureStepFactory(station=ct2, start=day)
    columns = [
        "sps_id",
        "start",
        "station__ae_title",
        "requested_procedure__order__accession_number",
    ]

    def ask(title: str) -> list[tuple]:
        rows = WorklistRows(identifier(ScheduledStationAETitle=title), columns)
        page = rows.page(50)
        assert page == list(rows.queryset()[:50])
        return page

    FIRST_PAGES.compiled.cache_clear()
    first = ask("CT1")
    assert [row[3:5] for row in first] == [(day, "CT1")]
    ScheduledProcedureStepFactory(station=ct1, start=day)
    again = ask("CT1")
    assert len(again) == 2
    assert again[0] == first[0]
    assert [row[4] for row in ask("CT2")] == ["CT2"]
    assert FIRST_PAGES.compiled.cache_info()[:2] == (1, 2)  # hits: CT1 again; misses: CT1, CT2


def test_a_condition_holding_a_subquery_is_compiled_each_time():
    """Sequence matching is an EXISTS subquery, which compares by identity:
    kept by its value it would only fill the cache."""
    ScheduledProcedureStepFactory().protocol_codes.set([ProtocolCodeFactory(code_value="HEAD")])
    code = Dataset()
    code.CodeValue = "HEAD"
    request = identifier()
    request.ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence = [code]
    FIRST_PAGES.compiled.cache_clear()
    for _ in range(2):
        assert len(list(worklist_find(request))) == 1
    assert FIRST_PAGES.compiled.cache_info().currsize == 0


def on_the_wire(dataset: Dataset) -> EncodedDataset:
    """The identifier's bytes as a modality sends them (Implicit VR Little Endian)."""
    return EncodedDataset(encode(dataset, True, True), WireEncoding(implicit_vr=True))


def test_an_identifier_as_it_came_is_planned_once_and_its_rows_read_afresh(settings):
    """worklist_find keeps the plan made of an identifier's bytes (and of the
    settings it was made with); the rows are read on every call."""
    station = StationFactory(ae_title="CT_KEPT")
    asked = on_the_wire(identifier(ScheduledStationAETitle="CT_KEPT"))

    def steps() -> int:
        return len(list(worklist_find(asked, asked.encoding)))

    assert steps() == 0
    ScheduledProcedureStepFactory(station=station)
    assert steps() == 1
    plan = _kept_plan(asked, asked.encoding, _settings_planned_with())
    assert _kept_plan(asked, asked.encoding, _settings_planned_with()) is plan
    settings.RIS_WORKLIST_STATUSES = ["STARTED"]
    assert steps() == 0  # another plan: the statuses shown are part of its key


def test_a_kept_plan_keeps_its_responses_by_row_and_answers_a_changed_step_afresh():
    """worklist._kept_response: asked again, an unchanged step's response is
    the one made before; a step whose patient or protocol changed since is
    another row, answered with its new values."""
    step = ScheduledProcedureStepFactory(station=StationFactory(ae_title="CT_ROWS"))
    asked = on_the_wire(identifier(ScheduledStationAETitle="CT_ROWS"))

    def responses() -> list[EncodedDataset]:
        return [response for response, _ in worklist_find(asked, asked.encoding)]

    [first] = responses()
    [again] = responses()
    assert again is first
    patient = step.requested_procedure.order.patient
    patient.family_name = "Renamed"
    patient.save()
    [renamed] = responses()
    assert renamed.decoded().PatientName.family_name == "Renamed"
    step.protocol_codes.set([ProtocolCodeFactory(code_value="ADDED")])
    [recoded] = responses()
    [code] = recoded.decoded().ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence
    assert code.CodeValue == "ADDED"
    assert recoded.decoded().PatientName.family_name == "Renamed"


def test_an_identifier_that_cannot_be_decoded_is_an_identifier_error():
    garbage = EncodedDataset(b"not deflated", WireEncoding(deflated=True))
    with pytest.raises(IdentifierError):
        list(worklist_find(garbage, garbage.encoding))
