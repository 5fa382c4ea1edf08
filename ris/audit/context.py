"""Who is acting: set by each door for the length of a request or a DICOM operation.

The web and REST doors set the request, not its actor: DRF authenticates a
token inside the view, after the middleware has run, and then sets the user
on the underlying HttpRequest too. So the actor is read from the request when
a change is recorded, by which time the user is known.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from ris.audit.models import ActorKind


@dataclass(frozen=True)
class Actor:
    kind: str
    name: str
    address: str = ""


SYSTEM = Actor(kind=ActorKind.SYSTEM, name="system")

# An Actor, or the request to find it in; None outside any door (management
# commands, the dispatchers): the system acts.
_acting: ContextVar[Actor | HttpRequest | None] = ContextVar("audit_actor", default=None)


@contextmanager
def acting_as(actor: Actor | HttpRequest) -> Iterator[None]:
    """Changes made in this block are recorded as `actor`'s (or the request's user's)."""
    token = _acting.set(actor)
    try:
        yield
    finally:
        _acting.reset(token)


def current_actor() -> Actor:
    acting = _acting.get()
    if acting is None:
        return SYSTEM
    if isinstance(acting, Actor):
        return acting
    return actor_for_request(acting)


def actor_for_request(request: HttpRequest) -> Actor:
    """The signed-in user, or the API client it signs in for, and the client's address."""
    address = request.META.get("REMOTE_ADDR", "")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Actor(kind=ActorKind.USER, name="anonymous", address=address)
    # The reverse one-to-one caches its answer (a client, or none) on the user.
    client = getattr(user, "api_client", None)
    if client is not None:
        return Actor(kind=ActorKind.API_CLIENT, name=client.name, address=address)
    return Actor(kind=ActorKind.USER, name=user.get_username(), address=address)
