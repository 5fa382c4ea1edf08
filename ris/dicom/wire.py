"""Data sets built as the bytes the peer receives (PS3.5 7.1, 7.5), for answers
sent many times a second.

A worklist response is written straight from its values into the encoding of
the negotiated transfer syntax, and sent as those bytes: building it as a
pydicom Dataset first, even one of raw elements that pydicom writes as they
are, cost a third of a worklist query's CPU. Whoever wants the Dataset (a
test, a file export) decodes the bytes as pydicom decodes a received one.
"""

import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.uid import UID
from pynetdicom.dsutils import decode

from ris.dicom.charset import TEXT_VRS, response_character_set

# VRs with a 4-byte length after two reserved bytes in explicit VR (PS3.5 7.1.2).
LONG_LENGTH_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"}
ITEM, ITEM_GROUP = 0xE000, 0xFFFE

# What an element holds here: text (one value or several), a number for US,
# or, for a sequence, its items as lists of elements.
Element = tuple[int, str, object]


@dataclass(frozen=True)
class WireEncoding:
    """The transfer syntax's encoding of a data set (PS3.5 10, A.5: deflated is
    explicit VR little endian, then compressed)."""

    implicit_vr: bool = False
    little_endian: bool = True
    deflated: bool = False

    @classmethod
    def of(cls, transfer_syntax: str) -> "WireEncoding":
        uid = UID(transfer_syntax)
        return cls(uid.is_implicit_VR, uid.is_little_endian, uid.is_deflated)


EXPLICIT_VR_LITTLE_ENDIAN = WireEncoding()


@lru_cache(maxsize=1024)
def tag_and_vr(keyword: str) -> tuple[int, str] | None:
    """A keyword's tag and VR from pydicom's dictionary; None if it is not a keyword.
    Of a VR given as alternatives ("US or SS"), the first."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return None
    return tag, dictionary_VR(tag).split(" or ")[0]


@dataclass(frozen=True)
class EncodedDataset:
    """A data set as the bytes sent for `encoding`."""

    data: bytes
    encoding: WireEncoding

    def decoded(self) -> Dataset:
        """The data set as pydicom reads it from those bytes."""
        encoding = self.encoding
        return decode(
            BytesIO(self.data), encoding.implicit_vr, encoding.little_endian, encoding.deflated
        )


def encoded_dataset(
    elements: Iterable[Element],
    encoding: WireEncoding = EXPLICIT_VR_LITTLE_ENDIAN,
    requested_character_set: Sequence[str] = (),
) -> EncodedDataset:
    """The elements encoded in tag order, with Specific Character Set (0008,0005)
    when a text value needs one (ris.dicom.charset)."""
    elements = list(elements)
    try:  # Most answers are all ASCII, the default repertoire: one pass.
        data = _writer(encoding, "ascii").elements(elements)
    except UnicodeEncodeError:
        character_set = response_character_set(_texts(elements), requested_character_set)
        elements.append((0x00080005, "CS", character_set))
        data = _writer(encoding, _python_codec(character_set)).elements(elements)
    if encoding.deflated:
        data = _deflate(data)
    return EncodedDataset(data, encoding)


def _texts(elements: Iterable[Element]) -> Iterable[str]:
    for _, vr, value in elements:
        if vr == "SQ":
            for item in value or ():
                yield from _texts(item)
        elif vr in TEXT_VRS and value:
            yield from [value] if isinstance(value, str) else value


def _python_codec(character_set: str) -> str:
    return {"ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}[character_set]


@lru_cache(maxsize=16)
def _writer(encoding: WireEncoding, codec: str) -> "_Writer":
    return _Writer(encoding, codec)


def _tag_of(element: Element) -> int:
    return element[0]


class _Writer:
    """Writes elements in one encoding, text VRs in one Python codec."""

    def __init__(self, encoding: WireEncoding, codec: str):
        order = "<" if encoding.little_endian else ">"
        self.implicit_vr, self.order, self.codec = encoding.implicit_vr, order, codec
        self.pack_us = struct.Struct(order + "H").pack
        self.pack_item = struct.Struct(order + "HHL").pack
        self.headers: dict[tuple[int, str], tuple[bytes, Callable[[int], bytes]]] = {}

    def elements(self, elements: Iterable[Element]) -> bytes:
        parts = []
        for tag, vr, value in sorted(elements, key=_tag_of):
            encoded = self.value(vr, value)
            fixed, pack_length = self.headers.get((tag, vr)) or self.header(tag, vr)
            parts += (fixed, pack_length(len(encoded)), encoded)
        return b"".join(parts)

    def value(self, vr: str, value) -> bytes:
        if vr == "SQ":
            return b"".join(self.item(item) for item in value or ())
        if value is None or value == "" or value == []:
            return b""
        if vr == "US":
            return self.pack_us(int(value))
        # Several values are joined by backslashes (PS3.5 6.4); a number is its text.
        several = isinstance(value, list | tuple)
        text = "\\".join(str(part) for part in value) if several else str(value)
        # Text VRs in the response's character set; the others are ASCII by
        # definition (PS3.5 6.2), and a stray character becomes "?" there.
        encoded = text.encode(self.codec) if vr in TEXT_VRS else text.encode("ascii", "replace")
        if len(encoded) % 2:
            encoded += b"\0" if vr == "UI" else b" "  # PS3.5 6.2: even length, padded
        return encoded

    def item(self, elements: Iterable[Element]) -> bytes:
        """An item of defined length (PS3.5 7.5.1), its elements in tag order."""
        content = self.elements(elements)
        return self.pack_item(ITEM_GROUP, ITEM, len(content)) + content

    def header(self, tag: int, vr: str) -> tuple[bytes, Callable[[int], bytes]]:
        """An element header's fixed part (tag, and VR in explicit VR), and how its
        value length is written (PS3.5 7.1)."""
        group, element = tag >> 16, tag & 0xFFFF
        if self.implicit_vr:
            fixed, length = struct.pack(self.order + "HH", group, element), "L"
        elif vr in LONG_LENGTH_VRS:
            fixed, length = struct.pack(self.order + "HH2s2x", group, element, vr.encode()), "L"
        else:
            fixed, length = struct.pack(self.order + "HH2s", group, element, vr.encode()), "H"
        self.headers[tag, vr] = fixed, struct.Struct(self.order + length).pack
        return self.headers[tag, vr]


def _deflate(data: bytes) -> bytes:
    """Deflated Explicit VR Little Endian (PS3.5 A.5): raw deflate, no zlib header,
    padded to even length."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = compressor.compress(data) + compressor.flush()
    return data + b"\0" * (len(data) % 2)
