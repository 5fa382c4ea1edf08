"""Specific Character Set (0008,0005) of C-FIND identifiers, asked and answered.

pydicom decodes a request with the character set it names and encodes a
response with the one set on it, so the RIS works on Unicode throughout and
only has to say, per response, which character set the values need.
"""

from collections.abc import Iterable, Sequence

from pydicom import Dataset
from pydicom.charset import python_encoding
from pydicom.valuerep import PersonName

from ris.dicom.errors import IdentifierError

TEXT_VRS = {"LO", "LT", "PN", "SH", "ST", "UC", "UT"}


def check_character_set(identifier: Dataset) -> None:
    """Refuse a Specific Character Set (0008,0005) the RIS cannot decode."""
    terms = identifier.get("SpecificCharacterSet") or []
    terms = [terms] if isinstance(terms, str) else list(terms)
    unknown = [term for term in terms if term and term not in python_encoding]
    if unknown:
        raise IdentifierError(
            f"Specific Character Set {', '.join(unknown)} is not supported",
            offending=(0x00080005,),
        )


def set_response_character_set(response: Dataset, request: Dataset) -> None:
    """Specific Character Set on a response whose text values need one."""
    texts = [
        str(value)
        for element in response.iterall()
        if element.VR in TEXT_VRS
        for value in (element.value if isinstance(element.value, list) else [element.value])
        if isinstance(value, str | PersonName)
    ]
    character_set = response_character_set(texts, request.get("SpecificCharacterSet") or "")
    if character_set:
        response.SpecificCharacterSet = character_set


def response_character_set(texts: Iterable[str], requested: str | Sequence[str]) -> str | None:
    """None when every text value is ASCII (the default repertoire); else ISO_IR 100
    (Latin-1) if the request used it and every value fits, or ISO_IR 192 (UTF-8)
    (PS3.4 C.2.2.1.1: the SCP may answer in another character set than the
    request's)."""
    texts = [text for text in texts if not text.isascii()]
    if not texts:
        return None
    requested = [requested] if isinstance(requested, str) else list(requested)
    if "ISO_IR 100" in requested and all(_fits_latin1(text) for text in texts):
        return "ISO_IR 100"
    return "ISO_IR 192"


def _fits_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
