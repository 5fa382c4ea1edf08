"""Property-based: identifiers and data sets made hostile (junk, wrong and
over-long values, invalid dates and UIDs, bad character sets, deep and empty
sequences) for every C-FIND, N-CREATE, N-SET and N-ACTION the service takes.

Each gets a DICOM status: never an exception in the service (logged with a
traceback), never a dropped association; and a refused operation changes
nothing. The values go on the wire as generated (raw elements, Explicit VR
Little Endian), not as pydicom would validate or pad them.
"""

import logging
from io import BytesIO

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.filereader import read_dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, _config
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS
from pynetdicom.sop_class import (
    ModalityWorklistInformationFind,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepQuery,
)

from ris.audit.models import AuditEvent
from ris.mpps.models import PerformedProcedureStep
from ris.outbox.models import OutboundMessage
from ris.ups.models import Workitem
from tests.dimse_helpers import RIS_AE_TITLE
from tests.factories import ScheduledProcedureStepFactory
from tests.test_dimse_mpps import in_progress
from tests.ups_helpers import workitem

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = settings(
    max_examples=20,
    derandomize=True,  # the same examples on every run, so that CI is repeatable
    # No shrinking: each example is a round trip to the service, and shrinking
    # one took minutes; a failure shows the example as generated.
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

JUNK = st.one_of(
    st.binary(max_size=70),
    st.text(max_size=40).map(lambda text: text.encode("utf-8")),
    st.integers(min_value=65, max_value=9000).map(lambda size: b"A" * size),  # over-long
    st.sampled_from(
        [
            b"",
            b" ",
            b"20261399",
            b"2026-03-05",
            b"99999999999999",
            b"1..2",
            b"1.2.abc",
            b"0.01",
            b"*",
            b"?",
            b"\\",
            b"A\\B\\C",
            b"-",
            b"20260305-",
            b"\x1b$B",
            b"\xff\xfe",
            b"\x00",
        ]
    ),
)
CHARACTER_SETS = st.sampled_from(
    [b"ISO_IR 192", b"ISO_IR 100", b"ISO 2022 IR 87", b"ISO_IR 999", b"", b"\\\\", b"GB18030 "]
)


def raw(tag, value: bytes, vr: str | None = None) -> RawDataElement:
    tag = Tag(tag)
    vr = vr or dictionary_VR(tag)
    return RawDataElement(tag, vr, len(value), value, 0, False, True)


class Hostile:
    """A generated data set, to send as it is (`dataset`), shown as its raw
    elements (pydicom's own repr would decode the junk)."""

    def __init__(self, dataset: Dataset):
        # Encoded once, and read back as raw elements, so that what is sent
        # is these bytes, whatever pydicom would make of them a second time.
        # What the caller's own pydicom cannot write (it re-encodes what it
        # decoded, in the junk character set) is not sent: nothing to test.
        encoded = encode(self._as_sent(dataset), False, True)
        self.dataset = self._as_sent(read_dataset(BytesIO(encoded or b""), False, True))
        # An empty one neither: pynetdicom would announce a data set and send
        # no bytes of it, and the service wait for them (as it should).
        self.sendable = bool(encoded) and encode(self.dataset, False, True) == encoded

    @classmethod
    def _as_sent(cls, dataset: Dataset) -> Dataset:
        # Each (nested) data set marked as already in Explicit VR Little
        # Endian, so that pydicom sends its raw values unchanged.
        dataset.set_original_encoding(False, True, "iso8859")
        for element in dataset.elements():  # raw ones stay raw
            if isinstance(element, DataElement) and element.VR == "SQ":
                for item in element.value:
                    cls._as_sent(item)
        return dataset

    def __repr__(self) -> str:
        return _shown(self.dataset)


def _shown(dataset: Dataset) -> str:
    parts = []
    for element in dataset.elements():
        if isinstance(element, DataElement) and element.VR == "SQ":
            parts.append(f"{element.tag} SQ [{', '.join(_shown(i) for i in element.value)}]")
        else:
            parts.append(f"{element.tag} {element.VR} {str(element.value)[:60]!r}")
    return "{" + "; ".join(parts) + "}"


@st.composite
def hostile(draw, valid: Dataset, depth: int = 0) -> Hostile | Dataset:
    """`valid` with some elements given junk values, some removed, an odd one
    added, perhaps a bad character set, and sequences emptied or nested deep."""
    dataset = Dataset()
    for element in valid:
        action = draw(st.sampled_from(["keep", "keep", "junk", "drop", "sequence"]))
        if action == "drop":
            continue
        if element.VR == "SQ" and action in ("junk", "sequence"):
            items = list(element.value) if depth < 3 else []
            items = [draw(hostile(item, depth + 1)) for item in items[: draw(st.integers(0, 2))]]
            if depth < 3 and draw(st.booleans()):  # an item inside an item inside ...
                items.append(draw(hostile(valid, depth + 1)))
            dataset[element.tag] = DataElement(element.tag, "SQ", items)
        elif action == "junk":
            dataset[element.tag] = raw(element.tag, draw(JUNK), element.VR)
        else:
            dataset[element.tag] = element
    if draw(st.booleans()):
        dataset[0x00080005] = raw(0x00080005, draw(CHARACTER_SETS))
    if draw(st.booleans()):  # an element of another kind: private, unknown, a wrong VR
        tag = draw(st.sampled_from([0x00091010, 0x00100010, 0x00081030, 0x00321032]))
        dataset[tag] = raw(tag, draw(JUNK), draw(st.sampled_from(["UN", "LO", "OB", "DA"])))
    return Hostile(dataset) if depth == 0 else dataset


def association(address, *sop_classes):
    ae = AE(ae_title="FUZZ")
    for sop_class in sop_classes:
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian])
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    assoc = ae.associate(*address, ae_title=RIS_AE_TITLE)
    assert assoc.is_established
    return assoc


@pytest.fixture(autouse=True)
def quiet_client(monkeypatch):
    """The test's own pynetdicom (the caller) would print every identifier it
    sends for its debug log, decoding the junk it is made to send."""
    monkeypatch.setattr(_config, "LOG_REQUEST_IDENTIFIERS", False)
    monkeypatch.setattr(_config, "LOG_RESPONSE_IDENTIFIERS", False)


@pytest.fixture
def no_tracebacks(caplog):
    """Fails the test if the service logged an exception with its traceback."""
    caplog.set_level(logging.WARNING)
    yield
    crashes = [r for r in caplog.records if r.exc_info and r.name.startswith(("dimse", "ris"))]
    assert not crashes, crashes[0].getMessage()


def counts() -> tuple[int, ...]:
    """Rows of what a change writes. The DICOM door's own audit rows (a refusal
    is recorded) are not changes."""
    changes = AuditEvent.objects.exclude(action__startswith="dicom.")
    return (
        *(model.objects.count() for model in (PerformedProcedureStep, Workitem, OutboundMessage)),
        changes.count(),
    )


def is_failure(status: int) -> bool:
    return status not in (0x0000, 0x0001, 0xFF00, 0xFF01) and not 0xB000 <= status <= 0xBFFF


def final_status(responses) -> int | None:
    """The last response's status; None if there was none (a dropped association)."""
    if not responses or not responses[-1][0]:
        return None
    return int(responses[-1][0].Status)


def worklist_query() -> Dataset:
    query = Dataset()
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID"):
        setattr(query, keyword, "")
    step = Dataset()
    for keyword in ("ScheduledStationAETitle", "ScheduledProcedureStepStartDate", "Modality"):
        setattr(step, keyword, "")
    query.ScheduledProcedureStepSequence = [step]
    return query


def workitem_query() -> Dataset:
    query = Dataset()
    for keyword in ("ProcedureStepState", "ScheduledProcedureStepStartDateTime", "PatientID"):
        setattr(query, keyword, "")
    query.ScheduledWorkitemCodeSequence = [Dataset()]
    return query


@pytest.mark.parametrize(
    ("sop_class", "query"),
    [
        (ModalityWorklistInformationFind, worklist_query),
        (UnifiedProcedureStepQuery, workitem_query),
    ],
    ids=["worklist", "workitems"],
)
def test_queries(dicom_service, no_tracebacks, sop_class, query):
    ScheduledProcedureStepFactory()
    assoc = association(dicom_service, sop_class)

    @EXAMPLES
    @given(hostile(query()))
    def check(identifier):
        assume(identifier.sendable)
        responses = list(assoc.send_c_find(identifier.dataset, sop_class))
        assert final_status(responses) is not None
        assert assoc.is_established

    try:
        check()
    finally:
        assoc.release()


def test_mpps_creations_and_updates(dicom_service, no_tracebacks):
    step = ScheduledProcedureStepFactory()
    assoc = association(dicom_service, MPPS)
    existing = str(generate_uid())
    assert assoc.send_n_create(in_progress(step), MPPS, existing)[0].Status == 0x0000

    @EXAMPLES
    @given(hostile(in_progress(step)), hostile(in_progress(step)))
    def check(attributes, modifications):
        assume(attributes.sendable and modifications.sendable)
        before = counts()
        status, _ = assoc.send_n_create(attributes.dataset, MPPS, str(generate_uid()))
        assert status, "no response"
        if is_failure(int(status.Status)):
            assert counts() == before
        stored = PerformedProcedureStep.objects.get(sop_instance_uid=existing).dataset
        before = counts()
        # It stays IN PROGRESS, open to more changes.
        modifications.dataset._dict.pop(Tag(0x00400252), None)
        status, _ = assoc.send_n_set(modifications.dataset, MPPS, existing)
        assert status, "no response"
        if is_failure(int(status.Status)):
            assert counts() == before
            assert PerformedProcedureStep.objects.get(sop_instance_uid=existing).dataset == stored
        assert assoc.is_established

    try:
        check()
    finally:
        assoc.release()


def test_ups_creations_and_actions(dicom_service, no_tracebacks):
    assoc = association(dicom_service, UnifiedProcedureStepPush, UnifiedProcedureStepPull)
    existing = str(generate_uid())
    status, _ = assoc.send_n_create(workitem(), UnifiedProcedureStepPush, existing)
    assert status.Status == 0x0000
    action_information = Dataset()
    action_information.ProcedureStepState = "IN PROGRESS"
    action_information.TransactionUID = ""

    @EXAMPLES
    @given(hostile(workitem()), hostile(action_information), st.integers(1, 6))
    def check(attributes, information, action_type):
        assume(attributes.sendable and information.sendable)
        before = counts()
        uid = str(generate_uid())
        status, _ = assoc.send_n_create(attributes.dataset, UnifiedProcedureStepPush, uid)
        assert status, "no response"
        if is_failure(int(status.Status)):
            assert counts() == before
        before = counts()
        state = Workitem.objects.get(sop_instance_uid=existing).state
        status, _ = assoc.send_n_action(
            information.dataset, action_type, UnifiedProcedureStepPull, existing
        )
        assert status, "no response"
        if is_failure(int(status.Status)):
            assert counts() == before
            assert Workitem.objects.get(sop_instance_uid=existing).state == state
        assert assoc.is_established

    try:
        check()
    finally:
        assoc.release()
