"""Reading the audit trail."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from ris.audit.models import AuditEvent


def audit_events(
    *,
    actor: str = "",
    action: str = "",
    object_id: str = "",
    outcome: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """Events, newest first: by an actor, of actions starting with `action`
    ("step." for every step event), of objects whose identifier contains
    `object_id`, with an `outcome`, between two days (both included, in the
    local time zone)."""
    events = AuditEvent.objects.all()
    if actor:
        events = events.filter(actor=actor)
    if action:
        events = events.filter(action__startswith=action)
    if object_id:
        events = events.filter(object_id__icontains=object_id)
    if outcome:
        events = events.filter(outcome=outcome)
    if since:
        events = events.filter(at__gte=_start_of(since))
    if until:
        events = events.filter(at__lt=_start_of(until + timedelta(days=1)))
    return events


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
