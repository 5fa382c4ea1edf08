"""The worklist query itself, without the network: one SQL query, literal characters."""

from datetime import UTC, datetime

import pytest
from pydicom import Dataset

from ris.scheduling.models import OtherPatientID
from ris.scheduling.worklist import in_pages, worklist_find, worklist_rows
from ris.scheduling.worklist.keys import TOP_LEVEL_KEYS, SequenceKey
from tests.factories import PatientFactory, ScheduledProcedureStepFactory, StationFactory

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
    rows = worklist_rows(identifier(), ["sps_id"])
    expected = [(s.start, s.pk, s.sps_id) for s in sorted(steps, key=lambda s: (s.start, s.pk))]
    for size in (1, 3, 8, 50):
        assert list(in_pages(rows, size=size)) == expected
