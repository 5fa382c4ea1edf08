"""When a worklist item's step takes place: its start and duration (pure: no database).

Dates and times in a worklist are local: in the zone of Timezone Offset From
UTC (0008,0201) when the file gives one (PS3.4 Table K.6-1a), else in the
department's TIME_ZONE.
"""

from datetime import datetime, time, timedelta, tzinfo

from django.conf import settings
from django.utils import timezone
from pydicom.valuerep import DA, TM

from ris.scheduling.worklist_import.report import SkipDataset
from ris.scheduling.worklist_import.values import Attributes, attribute_name


def step_start(top: Attributes, step: Attributes) -> tuple[datetime, tzinfo]:
    """Start Date and Time (0040,0002-3) as an aware datetime, with its zone.

    Without a start date the step cannot be placed; without a start time it
    starts at midnight, with a warning.
    """
    keyword = "ScheduledProcedureStepStartDate"
    if not step.text(keyword):
        raise SkipDataset(f"no {attribute_name(keyword)}")
    day = step.well_formed(keyword, DA)
    clock = time(0, 0)
    keyword = "ScheduledProcedureStepStartTime"
    if step.text(keyword):
        clock = step.well_formed(keyword, TM)
    else:
        step.warnings.append(f"no {attribute_name(keyword)}: the step starts at midnight")
    zone = _zone(top)
    return timezone.make_aware(datetime.combine(day, clock), zone), zone


def step_duration(step: Attributes, start: datetime, zone: tzinfo) -> timedelta | None:
    """End Date and Time (0040,0004-5) less the start; None: the code's usual duration."""
    if not step.text("ScheduledProcedureStepEndTime"):
        return None
    clock = step.parsed("ScheduledProcedureStepEndTime", TM)
    day = start.astimezone(zone).date()  # no End Date: the day it starts
    if step.text("ScheduledProcedureStepEndDate"):
        day = step.parsed("ScheduledProcedureStepEndDate", DA)
    if clock is not None and day is not None:
        duration = timezone.make_aware(datetime.combine(day, clock), zone) - start
        if duration > timedelta(0):
            return duration
    step.warnings.append(
        "the Scheduled Procedure Step End Date/Time is malformed or not after the start: "
        "the step takes the procedure's usual duration"
    )
    return None


def _zone(top: Attributes) -> tzinfo:
    offset = top.text("TimezoneOffsetFromUTC")
    if offset:
        try:
            return datetime.strptime(offset, "%z").tzinfo
        except ValueError:
            top.warnings.append(
                f"malformed {attribute_name('TimezoneOffsetFromUTC')} {offset!r}: "
                f"times were read in {settings.TIME_ZONE}"
            )
    return timezone.get_default_timezone()
