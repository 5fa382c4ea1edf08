"""Reading workitems and subscriptions: what the services and the doors look up."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ris.ups.events import Subscriber
from ris.ups.models import Delivery, GlobalSubscription, Subscription, Workitem


def workitems_active() -> QuerySet[Workitem]:
    """The workitems this SCP manages, as every UPS operation sees them.

    A COMPLETED or CANCELED workitem stays for RIS_UPS_FINAL_RETENTION seconds
    (for a performer's retried request and a last N-GET) and for as long as a
    subscriber holds a Deletion Lock on it (CC.2.3.1); then it leaves the
    worklist: every operation answers as for an unknown UPS (0xC307). The row
    stays in the database, for audit.
    """
    kept_since = timezone.now() - timedelta(seconds=settings.RIS_UPS_FINAL_RETENTION)
    locked = Subscription.objects.filter(workitem=OuterRef("pk"), deletion_lock=True)
    return Workitem.objects.filter(
        Q(final_at__isnull=True) | Q(final_at__gte=kept_since) | Exists(locked)
    )


def workitem_known(*, sop_instance_uid: str) -> bool:
    """Whether the RIS ever had this workitem: its row stays, for audit, after
    it leaves the worklist (UPS-RS answers 410 Gone for it, PS3.18 11.5.3)."""
    return Workitem.objects.filter(sop_instance_uid=sop_instance_uid).exists()


def workitem_active_get(*, sop_instance_uid: str, for_update: bool = False) -> Workitem | None:
    """The managed workitem with this UID, or None; locked for update if asked."""
    workitems = workitems_active().filter(sop_instance_uid=sop_instance_uid)
    if for_update:
        # The row lock serializes every change to one workitem, across
        # processes: of two performers claiming it at once, the second reads
        # the state the first left (Table CC.1.1-2 then refuses it).
        workitems = workitems.select_for_update(of=("self",))
    return workitems.first()


def workitem_subscribers(workitem: Workitem) -> list[Subscriber]:
    """Who receives the workitem's events, and how, in a stable order."""
    rows = workitem.subscriptions.order_by("ae_title").values_list("ae_title", "delivery")
    return [Subscriber(*row) for row in rows]


def websocket_subscriber_owned_by(*, ae_title: str, user) -> bool:
    """Whether `user` made a WebSocket subscription of this AE title, and so
    may open its socket (PS3.18 11.13)."""
    mine = {"ae_title": ae_title, "delivery": Delivery.WEBSOCKET, "owner": user}
    return (
        Subscription.objects.filter(**mine).exists()
        or GlobalSubscription.objects.filter(**mine).exists()
    )
