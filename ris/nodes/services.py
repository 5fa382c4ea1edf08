"""The write path of remote AEs: the admin's rules, for the `ae` command and any other door."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ris.audit.services import audit_record
from ris.nodes.models import SERVICE_FLAGS, RemoteAE, Service
from ris.nodes.selectors import remote_ae_get


@transaction.atomic
def remote_ae_add(
    *,
    ae_title: str,
    host: str,
    port: int,
    description: str = "",
    enabled: bool = True,
    services: Iterable[Service | str] | None = None,
    forward_mpps: bool = False,
) -> RemoteAE:
    """Register a remote AE after checking every value; `services=None` allows them all."""
    flags = _service_flags(services)
    remote_ae = RemoteAE(
        ae_title=ae_title,
        host=host,
        port=port,
        description=description,
        enabled=enabled,
        forward_mpps=forward_mpps,
        **flags,
    )
    remote_ae.full_clean()
    try:
        with transaction.atomic():
            remote_ae.save()
    except IntegrityError as error:
        # Another process registered the same title between the check and the insert.
        raise ValidationError(
            {"ae_title": RemoteAE._meta.get_field("ae_title").error_messages["unique"]}
        ) from error
    _audit(remote_ae, "add", host=host, port=port, enabled=enabled, **flags)
    return remote_ae


@transaction.atomic
def remote_ae_remove(*, ae_title: str) -> None:
    """Forget a remote AE: its next association is rejected."""
    remote_ae = remote_ae_get(ae_title=ae_title)
    remote_ae.delete()
    _audit(remote_ae, "remove")


@transaction.atomic
def remote_ae_set_enabled(*, ae_title: str, enabled: bool) -> RemoteAE:
    """Let a remote AE in, or keep it out, without forgetting its settings."""
    remote_ae = remote_ae_get(ae_title=ae_title)
    remote_ae.enabled = enabled
    remote_ae.save(update_fields=["enabled", "updated_at"])
    _audit(remote_ae, "enable" if enabled else "disable")
    return remote_ae


def _audit(remote_ae: RemoteAE, verb: str, **detail) -> None:
    audit_record(
        action=f"remote_ae.{verb}",
        object_type="remote_ae",
        object_id=remote_ae.ae_title,
        detail=detail,
    )


def _service_flags(services: Iterable[Service | str] | None) -> dict[str, bool]:
    """The model's flags for a set of service names; unknown names are refused."""
    if services is None:
        return dict.fromkeys(SERVICE_FLAGS.values(), True)
    wanted = set(services)
    unknown = sorted(str(name) for name in wanted - set(Service.values))
    if unknown:
        raise ValidationError(
            f"Unknown service {', '.join(map(repr, unknown))}; "
            f"the services are {', '.join(Service.values)}."
        )
    return {flag: service in wanted for service, flag in SERVICE_FLAGS.items()}
