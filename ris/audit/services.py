"""Writing the audit trail: one call from each domain service that changes something."""

from datetime import datetime

from django.db import transaction

from ris.audit.batches import WRITER
from ris.audit.context import Actor, current_actor
from ris.audit.models import AuditEvent


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict | None = None,
    outcome: str = "success",
) -> AuditEvent:
    """Record a change as the current actor's.

    Called inside the service's transaction, so that the row is kept if and
    only if the change is: a change that rolls back leaves no trace here.
    """
    event = _event(
        current_actor(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        detail=detail or {},
    )
    event.save()
    return event


def audit_operation(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    detail: dict,
) -> None:
    """Record an operation that changed nothing: a read, or a request refused.

    In a process running the batch writer (the DICOM service) the row is
    written within half a second, off the operation's path; elsewhere at once.
    """
    event = _event(
        actor,
        action=action,
        object_type=object_type,
        object_id=object_id[:128],
        outcome=outcome,
        detail=detail,
    )
    if WRITER.running:
        WRITER.add(event)
    else:
        event.save()


def _event(actor: Actor, **fields) -> AuditEvent:
    """An unsaved event by `actor`; `at` is now."""
    return AuditEvent(actor_kind=actor.kind, actor=actor.name, address=actor.address, **fields)


@transaction.atomic
def audit_prune(*, before: datetime) -> int:
    """Delete the events older than `before` (the retention period is over); the
    pruning itself is recorded, with how many went."""
    deleted, _ = AuditEvent.objects.filter(at__lt=before).delete()
    audit_record(
        action="audit.prune",
        object_type="audit",
        object_id="audit trail",
        detail={"before": before.isoformat(), "deleted": deleted},
    )
    return deleted
