"""A worklist dataset's values as the single, typed values the RIS stores (pure: no database).

pydicom decodes a value when it is read; what cannot be decoded or used is
either a reason to skip the dataset (`SkipDataset`) or a warning kept with it.
"""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time
from decimal import Decimal, InvalidOperation

from pydicom import Dataset
from pydicom.datadict import dictionary_description, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.valuerep import DA, TM

from ris.scheduling.worklist_import.report import SkipDataset


def attribute_name(keyword: str) -> str:
    """ "Accession Number (0008,0050)": how messages name an attribute."""
    return f"{dictionary_description(keyword)} {Tag(tag_for_keyword(keyword))}"


class Attributes:
    """The values of a dataset or sequence item, as single strings the RIS stores.

    DICOM separates multiple values with a backslash (PS3.5 6.4); the RIS holds
    one value where the worklist item has one, so a second value is noted and left.
    """

    def __init__(self, dataset: Dataset, warnings: list[str]):
        self.dataset = dataset
        self.warnings = warnings

    def get(self, keyword: str):
        try:
            return self.dataset.get(keyword)
        except Exception as error:  # a value pydicom cannot decode
            raise SkipDataset(f"cannot decode {attribute_name(keyword)}: {error}") from error

    def texts(self, keyword: str) -> list[str]:
        value = self.get(keyword)
        values = value if isinstance(value, MultiValue | list) else [value]
        return [str(value).strip() for value in values if value is not None and str(value).strip()]

    def text(self, keyword: str) -> str:
        values = self.texts(keyword)
        if len(values) > 1:
            self.warnings.append(
                f"{attribute_name(keyword)} has {len(values)} values; only {values[0]!r} is kept"
            )
        return values[0] if values else ""

    def items(self, keyword: str) -> list["Attributes"]:
        return [Attributes(item, self.warnings) for item in self.get(keyword) or []]

    def item(self, keyword: str) -> "Attributes | None":
        items = self.items(keyword)
        return items[0] if items else None

    def entity_id(self, keyword: str) -> str:
        """Local Namespace Entity ID (0040,0031) of an HL7v2 Hierarchic Designator
        sequence such as Issuer of Accession Number Sequence (PS3.3 10.14)."""
        item = self.item(keyword)
        return item.text("LocalNamespaceEntityID") if item else ""

    def parsed(self, keyword: str, vr: type[DA] | type[TM]) -> date | time | None:
        """A DA or TM value (PS3.5 6.2) as a date or time; None if it is malformed."""
        try:
            return vr(self.text(keyword))
        except ValueError:
            return None

    def well_formed(self, keyword: str, vr: type[DA] | type[TM]) -> date | time:
        """A DA or TM value the import cannot do without: malformed, the dataset is skipped."""
        value = self.parsed(keyword, vr)
        if value is None:
            raise SkipDataset(f"malformed {attribute_name(keyword)}: {self.text(keyword)!r}")
        return value

    def date(self, keyword: str) -> date | None:
        """An optional date: a malformed one is left out with a warning."""
        value = self.text(keyword)
        if not value:
            return None
        day = self.parsed(keyword, DA)
        if day is None:
            self.warnings.append(f"{attribute_name(keyword)} {value!r} is not a date; left out")
        return day

    def choice(self, keyword: str, choices: list[str], default: str) -> str:
        """A code string of an enumerated set; another value gives the default, with a warning."""
        value = self.text(keyword).upper()
        if value and value not in choices:
            self.warnings.append(
                f"{attribute_name(keyword)} {value!r} is not one of {', '.join(choices)}: "
                f"{default or 'left out'}"
            )
            return default
        return value or default

    def decimal(self, keyword: str, places: int, digits: int) -> Decimal | None:
        """A DS value as the model's decimal field holds it, or None with a warning."""
        value = self.text(keyword)
        if not value:
            return None
        try:
            number = Decimal(value).quantize(Decimal(1).scaleb(-places))
            if 0 < number < 10 ** (digits - places):
                return number
        except InvalidOperation:  # not a number, NaN, or too large to round
            pass
        self.warnings.append(f"{attribute_name(keyword)} {value!r} is not usable; left out")
        return None


@contextmanager
def pydicom_warnings(messages: list[str]) -> Iterator[None]:
    """Keep what pydicom warns about (odd values, unknown character sets) with the
    file it concerns, instead of on the console; pydicom both warns and logs.

    Only around reading and parsing, which touch no database: warnings of the
    write path must reach their usual handling. If the block fails, its warnings
    are dropped: the reason it failed says more.
    """
    logger = logging.getLogger("pydicom")
    previous = logger.disabled
    logger.disabled = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.disabled = previous
    for message in dict.fromkeys(str(warning.message) for warning in caught):
        messages.append(f"pydicom: {message}")
