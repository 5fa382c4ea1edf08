"""DICOM dates and times (PS3.5 6.2: DA, TM) as Python values."""

import re
from datetime import date, datetime, time, timedelta, tzinfo

_DA = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TM = re.compile(r"(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?")


def parse_date(value: str) -> date:
    """A DA value (YYYYMMDD, or the old YYYY.MM.DD); ValueError if it is not one."""
    found = _DA.fullmatch(value.replace(".", "") if len(value) == 10 else value)
    if not found:
        raise ValueError(f"{value!r} is not a DICOM date")
    return date(*map(int, found.groups()))


def parse_time(value: str) -> tuple[time, time]:
    """The first moment a TM value means and the moment after its last one.

    TM values compare by meaning (PS3.4 C.2.2.2.5): "10" is the whole hour,
    "1030" the whole minute. The end of "23" is 00:00, the next midnight.
    """
    found = _TM.fullmatch(value.replace(":", ""))
    if not found:
        raise ValueError(f"{value!r} is not a DICOM time")
    hour, minute, second, fraction = found.groups()
    microsecond = int((fraction or "0").ljust(6, "0"))
    start = time(int(hour), int(minute or 0), int(second or 0), microsecond)
    if fraction:
        step = timedelta(microseconds=10 ** (6 - len(fraction)))
    elif second:
        step = timedelta(seconds=1)
    elif minute:
        step = timedelta(minutes=1)
    else:
        step = timedelta(hours=1)
    return start, (datetime.combine(date.min, start) + step).time()


def local_datetime(date_value: str, time_value: str, zone: tzinfo) -> datetime | None:
    """A DA and a TM value as one aware moment in the zone; None if there is no date."""
    if not date_value:
        return None
    at = parse_time(time_value)[0] if time_value else time(0)
    return datetime.combine(parse_date(date_value), at, tzinfo=zone)
