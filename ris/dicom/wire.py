"""Data sets built as the bytes the peer receives (PS3.5 7.1, 7.5), for answers
sent many times a second.

pydicom writes an element it holds as raw bytes (a RawDataElement, as read
from the network) without converting, validating or re-encoding it, when the
data set's original encoding is the transfer syntax's
(`Dataset.set_original_encoding`). Encoding a worklist response up front that
way costs a tenth of building it element by element and letting pydicom write
it. Reading such a data set (a test does) decodes it as pydicom decodes a
received one; writing it in another transfer syntax converts it first, so the
encoding given here is a matter of speed, never of correctness.
"""

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydicom import Dataset
from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pydicom.uid import UID

from ris.dicom.charset import TEXT_VRS, response_character_set

# VRs with a 4-byte length after two reserved bytes in explicit VR (PS3.5 7.1.2).
LONG_LENGTH_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"}
ITEM, ITEM_GROUP = 0xE000, 0xFFFE

# What an element holds here: text (one value or several), a number for US,
# or, for a sequence, its items as lists of elements.
Element = tuple[int, str, object]


@dataclass(frozen=True)
class WireEncoding:
    """The transfer syntax's element encoding (PS3.5 10)."""

    implicit_vr: bool = False
    little_endian: bool = True

    @classmethod
    def of(cls, transfer_syntax: str) -> "WireEncoding":
        uid = UID(transfer_syntax)
        return cls(implicit_vr=uid.is_implicit_VR, little_endian=uid.is_little_endian)


EXPLICIT_VR_LITTLE_ENDIAN = WireEncoding()


@lru_cache(maxsize=1024)
def tag_and_vr(keyword: str) -> tuple[int, str] | None:
    """A keyword's tag and VR from pydicom's dictionary; None if it is not a keyword.
    Of a VR given as alternatives ("US or SS"), the first."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return None
    return tag, dictionary_VR(tag).split(" or ")[0]


class EncodedDataset(Dataset):
    """A data set that also holds its whole encoding, `encoded`, for `encoding`:
    a sender can send those bytes as they are. Not to be changed once built."""

    def __init__(self, encoding: WireEncoding, encoded: bytes):
        super().__init__()
        self.encoding = encoding
        self.encoded = encoded


def encoded_dataset(
    elements: Iterable[Element],
    encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN,
    requested_character_set: Sequence[str] = (),
) -> EncodedDataset:
    """A data set of the elements, each already encoded, with Specific Character
    Set (0008,0005) when a text value needs one (ris.dicom.charset)."""
    elements = list(elements)
    character_set = response_character_set(_texts(elements), requested_character_set)
    if character_set:
        elements.append((0x00080005, "CS", character_set))
    codec = _python_codec(character_set)
    raw, whole = [], []
    for tag, vr, value in sorted(elements, key=lambda element: element[0]):
        encoded = _value(vr, value, encoding, codec)
        raw.append(
            RawDataElement(
                Tag(tag), vr, len(encoded), encoded, 0, encoding.implicit_vr, encoding.little_endian
            )
        )
        whole.append(_element(tag, vr, encoded, encoding))
    dataset = EncodedDataset(encoding, b"".join(whole))
    dataset._dict.update((element.tag, element) for element in raw)
    # As pydicom names the character set of the data set it will compare with.
    original = convert_encodings(character_set) if character_set else default_encoding
    dataset.set_original_encoding(encoding.implicit_vr, encoding.little_endian, original)
    return dataset


def _texts(elements: Iterable[Element]) -> Iterable[str]:
    for _, vr, value in elements:
        if vr == "SQ":
            for item in value or ():
                yield from _texts(item)
        elif vr in TEXT_VRS and value:
            yield from [value] if isinstance(value, str) else value


def _python_codec(character_set: str | None) -> str:
    return {None: "ascii", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}[character_set]


def _value(vr: str, value, encoding: WireEncoding, codec: str) -> bytes:
    if vr == "SQ":
        return b"".join(_item(item, encoding, codec) for item in value or ())
    if value is None or value == "" or value == []:
        return b""
    if vr == "US":
        return struct.pack("<H" if encoding.little_endian else ">H", int(value))
    # Several values are joined by backslashes (PS3.5 6.4); a number is its text.
    several = isinstance(value, list | tuple)
    text = "\\".join(str(part) for part in value) if several else str(value)
    # Text VRs in the response's character set; the others are ASCII by
    # definition (PS3.5 6.2), and a stray character becomes "?" there.
    encoded = text.encode(codec) if vr in TEXT_VRS else text.encode("ascii", "replace")
    if len(encoded) % 2:
        encoded += b"\0" if vr == "UI" else b" "  # PS3.5 6.2: even length, padded
    return encoded


def _item(elements: Iterable[Element], encoding: WireEncoding, codec: str) -> bytes:
    """An item of defined length (PS3.5 7.5.1), its elements in tag order."""
    content = b"".join(
        _element(tag, vr, _value(vr, value, encoding, codec), encoding)
        for tag, vr, value in sorted(elements, key=lambda element: element[0])
    )
    order = "<" if encoding.little_endian else ">"
    return struct.pack(order + "HHL", ITEM_GROUP, ITEM, len(content)) + content


def _element(tag: int, vr: str, encoded: bytes, encoding: WireEncoding) -> bytes:
    order = "<" if encoding.little_endian else ">"
    group, element = tag >> 16, tag & 0xFFFF
    if encoding.implicit_vr:
        header = struct.pack(order + "HHL", group, element, len(encoded))
    elif vr in LONG_LENGTH_VRS:
        header = struct.pack(order + "HH2s2xL", group, element, vr.encode(), len(encoded))
    else:
        header = struct.pack(order + "HH2sH", group, element, vr.encode(), len(encoded))
    return header + encoded
