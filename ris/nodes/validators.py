"""Validators for the network address of a remote AE."""

import ipaddress
import re

from django.core.exceptions import ValidationError

# RFC 1123 host name label: letters, digits and hyphens, not at either end.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HOSTNAME_MAX_LENGTH = 253


def validate_host(value: str) -> None:
    """A host name or an IPv4/IPv6 address the RIS could connect to."""
    if _is_ip_address(value) or _is_hostname(value):
        return
    if value.startswith("[") and value.endswith("]"):
        raise ValidationError("Give an IPv6 address without the square brackets.")
    raise ValidationError(f"{value!r} is neither a host name nor an IP address.")


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_hostname(value: str) -> bool:
    """A DNS name; an all-numeric last label is refused, it is a mistyped IPv4 address."""
    name = value.removesuffix(".")
    if not name or len(name) > _HOSTNAME_MAX_LENGTH:
        return False
    labels = name.split(".")
    return all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()
