"""Queueing webhooks: one outbox message per change for each client with a callback URL.

Call webhook_status_changes inside the transaction of the change, as the
outbox requires: the messages are committed with the change or rolled back
with it, and each client's queue (channel "webhook", destination
"api-client:<key>") holds the changes in the order they were made.
"""

from collections.abc import Iterable

from django.utils import timezone

from ris.outbox.models import Channel
from ris.outbox.services import outbox_enqueue_all
from ris.scheduling.models import Order, ScheduledProcedureStep
from ris.webhooks.payloads import (
    ORDER_STATUS_CHANGED,
    STEP_STATUS_CHANGED,
    order_body,
    step_body,
    webhook_payload,
)
from ris.webhooks.selectors import webhook_clients, webhook_destination


def webhook_status_changes(
    *, steps: Iterable[ScheduledProcedureStep] = (), orders: Iterable[Order] = ()
) -> int:
    """Queue "step.status_changed" for each step, then "order.status_changed"
    for each order, as they are now, looking the clients up once (an MPPS
    report changes both); returns the messages queued."""
    steps, orders = list(steps), list(orders)
    if not (steps or orders):
        return 0  # nothing changed: the clients are not looked up
    destinations = _destinations()
    if not destinations:
        return 0  # nor the payloads made
    now = timezone.now()
    bodies = [(STEP_STATUS_CHANGED, step_body(step=step, changed_at=now)) for step in steps]
    bodies += [(ORDER_STATUS_CHANGED, order_body(order=order, changed_at=now)) for order in orders]
    return _enqueue(bodies=bodies, destinations=destinations)


def _destinations() -> list[str]:
    return [webhook_destination(client=client) for client in webhook_clients()]


def _enqueue(*, bodies: list[tuple[str, dict]], destinations: list[str]) -> int:
    # Change by change, then client by client: each client's queue gets the
    # changes in the order given, which is the order they were made.
    payloads = [webhook_payload(event=event, body=body) for event, body in bodies]
    queued = outbox_enqueue_all(
        messages=[
            (Channel.WEBHOOK, destination, payload)
            for payload in payloads
            for destination in destinations
        ]
    )
    return len(queued)
