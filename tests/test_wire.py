"""Data sets encoded up front (ris.dicom.wire): what pydicom reads back, and that
pydicom then writes them as they are."""

from io import BytesIO

import pytest
from pydicom import Dataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.dsutils import decode, encode

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


@pytest.mark.parametrize(
    "transfer_syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]
)
def test_what_is_sent_decodes_to_the_values(transfer_syntax):
    encoding = WireEncoding.of(transfer_syntax)
    sent = encode(
        encoded_dataset(elements(), encoding), encoding.implicit_vr, encoding.little_endian
    )

    received = decode_as(sent, encoding)

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


@pytest.mark.parametrize("name", ["Doe^John", "山田^太郎"])
def test_pydicom_writes_the_encoded_bytes_without_converting_them(name):
    """The fast path: after writing, every element is still the raw one given
    (but Specific Character Set, which pydicom reads to compare)."""
    dataset = encoded_dataset(elements(name))
    encode(dataset, False, True)
    values = [tag for tag in list(dataset.keys()) if tag != 0x00080005]
    assert all(dataset.get_item(tag).is_raw for tag in values)


@pytest.mark.parametrize(
    "transfer_syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian]
)
@pytest.mark.parametrize("name", ["Doe^John", "Größer^Björn"])
def test_the_whole_encoding_is_what_pydicom_writes(transfer_syntax, name):
    encoding = WireEncoding.of(transfer_syntax)
    dataset = encoded_dataset(elements(name), encoding)
    assert dataset.encoded == encode(dataset, encoding.implicit_vr, encoding.little_endian)


def test_writing_in_another_transfer_syntax_converts_correctly():
    dataset = encoded_dataset(elements(), WireEncoding(implicit_vr=False, little_endian=True))
    sent = encode(dataset, True, True)
    assert decode_as(sent, WireEncoding(implicit_vr=True)).PregnancyStatus == 4


def test_a_name_beyond_ascii_gets_a_character_set():
    encoding = WireEncoding()
    latin = encoded_dataset(elements("Größer^Björn"), encoding, ["ISO_IR 100"])
    utf8 = encoded_dataset(elements("山田^太郎"), encoding, ["ISO_IR 100"])
    assert decode_as(encode(latin, False, True), encoding).SpecificCharacterSet == "ISO_IR 100"
    assert latin.PatientName == "Größer^Björn"
    assert utf8.SpecificCharacterSet == "ISO_IR 192"
    assert decode_as(encode(utf8, False, True), encoding).PatientName == "山田^太郎"


def decode_as(data: bytes, encoding: WireEncoding) -> Dataset:
    return decode(BytesIO(data), encoding.implicit_vr, encoding.little_endian)
