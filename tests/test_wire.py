"""Data sets encoded straight from their values (ris.dicom.wire): what pydicom
reads back, and what pydicom itself writes for the same values."""

import pytest
from pydicom import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.dsutils import encode

from ris.dicom.wire import WireEncoding, encoded_dataset, tag_and_vr


def elements(name="Doe^John"):
    code = [(*tag_and_vr("CodeValue"), "HEAD"), (*tag_and_vr("CodeMeaning"), "Head")]
    item = [
        (*tag_and_vr("Modality"), "CT"),
        (*tag_and_vr("ScheduledProtocolCodeSequence"), [code]),
        (*tag_and_vr("ScheduledStationAETitle"), "CT1"),  # out of tag order on purpose
    ]
    return [
        (*tag_and_vr("PatientName"), name),
        (*tag_and_vr("StudyInstanceUID"), "1.2.3"),  # odd length: padded with NUL
        (*tag_and_vr("MedicalAlerts"), ["Latex", "Pacemaker"]),
        (*tag_and_vr("PregnancyStatus"), 4),
        (*tag_and_vr("PatientSize"), 1.82),  # a number for a text VR (DS)
        (*tag_and_vr("PatientSex"), ""),
        (*tag_and_vr("ReferencedStudySequence"), []),
        (*tag_and_vr("ScheduledProcedureStepSequence"), [item]),
    ]


SYNTAXES = [
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
]


@pytest.mark.parametrize("transfer_syntax", SYNTAXES)
def test_what_is_sent_decodes_to_the_values(transfer_syntax):
    received = encoded_dataset(elements(), WireEncoding.of(transfer_syntax)).decoded()

    assert received.PatientName == "Doe^John"
    assert received.StudyInstanceUID == "1.2.3"
    assert received.MedicalAlerts == ["Latex", "Pacemaker"]
    assert received.PregnancyStatus == 4
    assert received.PatientSize == "1.82"
    assert received.PatientSex == ""
    assert len(received.ReferencedStudySequence) == 0
    item = received.ScheduledProcedureStepSequence[0]
    assert (item.Modality, item.ScheduledStationAETitle) == ("CT", "CT1")
    assert item.ScheduledProtocolCodeSequence[0].CodeMeaning == "Head"
    assert "SpecificCharacterSet" not in received


@pytest.mark.parametrize("transfer_syntax", SYNTAXES)
@pytest.mark.parametrize(
    ("name", "character_set"),
    [("Doe^John", None), ("Größer^Björn", "ISO_IR 100"), ("山田^太郎", "ISO_IR 192")],
)
def test_the_bytes_are_what_pydicom_writes_for_the_same_values(
    transfer_syntax, name, character_set
):
    """pydicom builds and writes the same data set from the values itself: an
    encoder independent of ours, byte for byte (defined-length items, padding)."""
    encoding = WireEncoding.of(transfer_syntax)
    ours = encoded_dataset(elements(name), encoding, ["ISO_IR 100"])

    theirs = as_pydicom_dataset(elements(name))
    if character_set:
        theirs.SpecificCharacterSet = character_set
    expected = encode(theirs, encoding.implicit_vr, encoding.little_endian, encoding.deflated)

    assert ours.data == expected


def test_a_name_beyond_ascii_gets_a_character_set():
    encoding = WireEncoding()
    latin = encoded_dataset(elements("Größer^Björn"), encoding, ["ISO_IR 100"]).decoded()
    utf8 = encoded_dataset(elements("山田^太郎"), encoding, ["ISO_IR 100"]).decoded()
    assert latin.SpecificCharacterSet == "ISO_IR 100"
    assert latin.PatientName == "Größer^Björn"
    assert utf8.SpecificCharacterSet == "ISO_IR 192"
    assert utf8.PatientName == "山田^太郎"


def as_pydicom_dataset(values) -> Dataset:
    """The elements as pydicom's own data set, values set through its API."""
    dataset = Dataset()
    for tag, vr, value in values:
        if vr == "SQ":
            value = [as_pydicom_dataset(item) for item in value]
        dataset.add_new(tag, vr, value)
    return dataset
