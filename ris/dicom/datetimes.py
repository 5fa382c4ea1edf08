"""DICOM dates and times (PS3.5 6.2: DA, TM, DT) as Python values."""

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo

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


# PS3.5 6.2 DT: YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]] and an optional &ZZXX offset
# from UTC, where & is "+" or "-" (offsets run from -1200 to +1400).
UTC_OFFSET_PATTERN = r"[+-](?:0\d|1[0-4])[0-5]\d"
DT_PATTERN = rf"\d{{4}}(?:\d{{2}}){{0,5}}(?:\.\d{{1,6}})?(?:{UTC_OFFSET_PATTERN})?"
_DT = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?"
    rf"({UTC_OFFSET_PATTERN})?"
)
_OFFSET = re.compile(r"([+-])(0\d|1[0-4])([0-5]\d)")


def utc_offset(value: str) -> timezone:
    """A UTC offset ("+0100", "-0500"), as in a DT value or Timezone Offset From UTC
    (0008,0201), as a fixed zone; ValueError if it is not one."""
    found = _OFFSET.fullmatch(value.strip())
    if not found:
        raise ValueError(f"{value!r} is not a UTC offset (+HHMM or -HHMM)")
    sign, hours, minutes = found.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


def parse_datetime(value: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The first moment a DT value means and the moment after its last one.

    Like TM values, DT values compare by meaning (PS3.4 C.2.2.2.5): "2024" is
    the whole year, "202407051030" the minute 10:30. The value's own UTC offset
    says where it is; without one it is in `zone`. ValueError if it is not a DT.
    """
    found = _DT.fullmatch(value.strip())
    if not found:
        raise ValueError(f"{value!r} is not a DICOM date-time")
    *parts, fraction, offset = found.groups()
    year, month, day, hour, minute, second = (int(part) if part else None for part in parts)
    try:
        start = datetime(
            year,
            month or 1,
            day or 1,
            hour or 0,
            minute or 0,
            second or 0,
            int((fraction or "0").ljust(6, "0")),
            tzinfo=utc_offset(offset) if offset else zone,
        )
    except ValueError:
        raise ValueError(f"{value!r} is not a DICOM date-time") from None
    given = [part for part in (month, day, hour, minute, second) if part is not None]
    return start, _after(start, len(given), fraction)


def _after(start: datetime, precision: int, fraction: str | None) -> datetime:
    """The moment after the last one of the unit a DT value gives (0: a year, ...)."""
    try:
        if precision == 0:
            return start.replace(year=start.year + 1)
        if precision == 1:
            year, month = divmod(start.month, 12)
            return start.replace(year=start.year + year, month=month + 1)
        if fraction:
            return start + timedelta(microseconds=10 ** (6 - len(fraction)))
        steps = {2: timedelta(days=1), 3: timedelta(hours=1), 4: timedelta(minutes=1)}
        return start + steps.get(precision, timedelta(seconds=1))
    except (ValueError, OverflowError):
        # The year 9999 has no next one.
        return datetime.max.replace(tzinfo=start.tzinfo)


def format_datetime(moment: datetime, zone: tzinfo) -> str:
    """An aware moment as a DT value in the zone, with its UTC offset:
    "20240705103000.000000+0200"."""
    return moment.astimezone(zone).strftime("%Y%m%d%H%M%S.%f%z")
