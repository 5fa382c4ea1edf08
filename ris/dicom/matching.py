"""C-FIND attribute matching (PS3.4 C.2.2.2) as ORM conditions.

One function per matching kind, each turning one key's value into a Q on a
model field: single value, wildcard, UID list, date range, time-of-day range,
and the combined date-time window of a date key with a time key. Universal
matching (an empty key, or a lone "*") gives no condition at all.

A stored empty value never matches a non-universal key (PS3.4 K.2.2.1.1.1):
"=" and LIKE are false for an empty string and NULL comparisons are never
true, so each condition here has that property without extra clauses.

Malformed keys raise IdentifierError (status 0xA900); its comment is short, as
Error Comment (0000,0902) holds 64 characters, and the door names the element.
"""

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import Q
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.valuerep import PersonName

import ris.dicom.lookups  # noqa: F401  (registers __dicom_wildcard)
from ris.dicom.datetimes import DT_PATTERN, parse_date, parse_datetime, parse_time
from ris.dicom.errors import IdentifierError

WILDCARD_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"}

# "A-B", "A-", "-B": a DT value may itself hold a "-" (a negative UTC offset),
# so the range is split by the shape of its ends, not at the first "-".
_DT_RANGE = re.compile(rf"({DT_PATTERN})?-({DT_PATTERN})?")


def single_value(value, keyword: str):
    """A key that takes one value (PS3.4 C.2.2.2.1): a list of several, or a
    sequence, is refused; a person name comes as its text."""
    if isinstance(value, Sequence):
        raise IdentifierError(f"{keyword} is not a sequence")
    if isinstance(value, MultiValue):
        if len(value) > 1:
            raise IdentifierError(f"{keyword}: one value only, got {len(value)}")
        value = value[0] if len(value) else ""
    if isinstance(value, PersonName):
        return str(value)
    return value


def is_universal(value) -> bool:
    """An empty key, or "*" alone, matches everything (C.2.2.2.3)."""
    return value is None or value == "" or value == "*"


def has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def match_string(path: str, value: str, vr: str, keyword: str) -> Q:
    """Single value or wildcard matching of a string key (case-sensitive)."""
    if is_universal(value):
        return Q()
    if has_wildcards(value):
        if vr not in WILDCARD_VRS:
            raise IdentifierError(f"{keyword}: no wildcards in VR {vr}")
        return Q(**{f"{path}__dicom_wildcard": value})
    return Q(**{path: value})


def match_uid_list(path: str, values: list[str], keyword: str) -> Q:
    """Single value or list of UIDs (C.2.2.2.2): any of the UIDs matches."""
    uids = [uid for uid in values if uid]
    if not uids:
        return Q()
    if any(has_wildcards(uid) for uid in uids):
        raise IdentifierError("no wildcards in UIDs")
    return Q(**{path: uids[0]}) if len(uids) == 1 else Q(**{f"{path}__in": uids})


def date_bounds(value: str, keyword: str) -> tuple[date | None, date | None]:
    """A DA key as an inclusive (first, last) range; None for an open end."""
    low, high = _split_range(value, keyword)
    first = _parse_date(low, keyword) if low else None
    last = _parse_date(high, keyword) if high else None
    if first and last and first > last:
        raise IdentifierError(f"{value!r} ends before it starts")
    return first, last


def time_bounds(value: str, keyword: str) -> tuple[time | None, time | None]:
    """A TM key as a (start, end) range, end exclusive; None for an open end.

    Values compare by meaning (C.2.2.2.5): "10" is the whole hour 10:00 to
    11:00, "1030" the minute 10:30 to 10:31.
    """
    low, high = _split_range(value, keyword)
    start = _parse_time(low, keyword)[0] if low else None
    end = _parse_time(high, keyword)[1] if high else None
    return start, end


def match_date(path: str, value: str, keyword: str) -> Q:
    """Single value or range matching of a DA key on a date field."""
    if is_universal(value):
        return Q()
    first, last = date_bounds(value, keyword)
    condition = Q()
    if first:
        condition &= Q(**{f"{path}__gte": first})
    if last:
        condition &= Q(**{f"{path}__lte": last})
    return condition


def match_datetime_window(
    path: str, date_value: str, time_value: str, zone: tzinfo, keywords: tuple[str, str]
) -> Q:
    """A date key and a time key as one date-time window on a datetime field.

    PS3.4 Table K.6-1: SPS Start Date and Start Time given together are one
    range, "20240705-20240707" with "1000-1800" meaning 5 July 10:00 to 7 July
    18:00. Without a date the time is matched as a time of day, on any date.
    """
    date_keyword, time_keyword = keywords
    if is_universal(date_value):
        return _match_time_of_day(path, time_value, time_keyword)
    first, last = date_bounds(date_value, date_keyword)
    start_time, end_time = (None, None)
    if not is_universal(time_value):
        start_time, end_time = time_bounds(time_value, time_keyword)
    low = _at(first, start_time or time(0), zone) if first else None
    high = None
    if last:
        # The window ends at the end of the last day, or earlier that day.
        end_day = last if end_time not in (None, time(0)) else last + timedelta(days=1)
        high = _at(end_day, end_time or time(0), zone)
    if low and high and high <= low:
        raise IdentifierError(f"{date_value} {time_value} is an empty date-time range")
    condition = Q()
    if low:
        condition &= Q(**{f"{path}__gte": low})
    if high:
        condition &= Q(**{f"{path}__lt": high})
    return condition


def datetime_bounds(
    value: str, zone: tzinfo, keyword: str
) -> tuple[datetime | None, datetime | None]:
    """A DT key as a (start, end) range of moments, end exclusive; None for an open end.

    Each end compares by meaning (C.2.2.2.5), "2024" being the whole year and
    "202407051030" the whole minute, so "2024-2025" runs to the end of 2025.
    An end without a UTC offset is in `zone`. A "-" always makes a range: a
    single value with a negative offset cannot be matched, as PS3.4 C.2.2.2.5
    says (use "+0000").
    """
    if has_wildcards(value):
        raise IdentifierError("no wildcards in dates and times")
    value = value.strip()
    if "-" not in value:
        low = high = value
    else:
        found = _DT_RANGE.fullmatch(value)
        if not found or value == "-":
            raise IdentifierError(f"{value!r} is not a date-time or a range")
        low, high = found.groups()
    start = _parse_datetime(low, zone)[0] if low else None
    end = _parse_datetime(high, zone)[1] if high else None
    if start and end and end <= start:
        raise IdentifierError(f"{value!r} ends before it starts")
    return start, end


def match_datetime_range(path: str, value: str, zone: tzinfo, keyword: str) -> Q:
    """Single value or range matching of a DT key on a datetime field."""
    if is_universal(value):
        return Q()
    start, end = datetime_bounds(value, zone, keyword)
    condition = Q()
    if start:
        condition &= Q(**{f"{path}__gte": _in_utc(start, value)})
    if end:
        condition &= Q(**{f"{path}__lt": _in_utc(end, value)})
    return condition


def _in_utc(moment: datetime, value: str) -> datetime:
    # Converted here, not by the database adapter while the rows stream in: a
    # moment at the edge of the calendar (year 1 at +1400) has no UTC form.
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise IdentifierError(f"{value!r} is out of range") from None


def _parse_datetime(value: str, zone: tzinfo) -> tuple[datetime, datetime]:
    try:
        return parse_datetime(value, zone)
    except ValueError:
        raise IdentifierError(f"{value!r} is not a date-time (YYYYMMDDHHMMSS)") from None


def _match_time_of_day(path: str, value: str, keyword: str) -> Q:
    if is_universal(value):
        return Q()
    start, end = time_bounds(value, keyword)
    if start is not None and end not in (None, time(0)) and end <= start:
        # C.2.2.2.5: a time range does not cross midnight.
        raise IdentifierError(f"{value!r} crosses midnight")
    condition = Q()
    if start is not None:
        condition &= Q(**{f"{path}__time__gte": start})
    if end not in (None, time(0)):
        condition &= Q(**{f"{path}__time__lt": end})
    return condition


def _at(day: date, at: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def _split_range(value: str, keyword: str) -> tuple[str, str]:
    """ "A-B", "A-", "-B" or "A" (a single value is the range A to A)."""
    if has_wildcards(value):
        raise IdentifierError("no wildcards in dates and times")
    if value.count("-") > 1 or value == "-":
        raise IdentifierError(f"{value!r} is not a value or a range")
    if "-" not in value:
        return value, value
    low, high = value.split("-")
    return low.strip(), high.strip()


def _parse_date(value: str, keyword: str) -> date:
    try:
        return parse_date(value)
    except ValueError:
        raise IdentifierError(f"{value!r} is not a date (YYYYMMDD)") from None


def _parse_time(value: str, keyword: str) -> tuple[time, time]:
    try:
        return parse_time(value)
    except ValueError:
        raise IdentifierError(f"{value!r} is not a time (HHMMSS.FFFFFF)") from None


def matches_string(stored: str, key: str) -> bool:
    """The same rule as match_string, for values already in memory (sequence items)."""
    if is_universal(key):
        return True
    if not stored:
        return False
    if has_wildcards(key):
        pattern = re.escape(key).replace(r"\*", ".*").replace(r"\?", ".")
        return re.fullmatch(pattern, stored, re.DOTALL) is not None
    return stored == key
