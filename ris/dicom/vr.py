"""Validators for the DICOM value representations the RIS stores (PS3.5 6.2).

Each raises django.core.exceptions.ValidationError with a message a scheduler
can act on; forms, the admin and the services all use the same ones.
"""

import re

from django.core.exceptions import ValidationError

# Maximum length of one value, in characters (PS3.5 Table 6.2-1).
MAX_LENGTH = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "UI": 64}

# PS3.5 6.2: SH, LO, PN, AE exclude backslash (the value separator) and
# control characters; a stored value here is always one value.
_FORBIDDEN = re.compile(r"[\\\x00-\x1f\x7f]")
_CODE_STRING = re.compile(r"[A-Z0-9 _]*")
# PS3.5 9.1: numeric components separated by ".", no leading zeros.
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def validate_single_value(value: str) -> None:
    """One SH/LO/PN/AE value: no backslash, no control characters."""
    if _FORBIDDEN.search(value):
        raise ValidationError(
            "A backslash or control character is not allowed here (DICOM uses "
            "the backslash to separate values)."
        )


def validate_ae_title(value: str) -> None:
    """An application entity title (AE): 1-16 characters, not only spaces."""
    validate_single_value(value)
    if not value.strip():
        raise ValidationError("An AE title cannot be empty or only spaces.")
    if len(value) > MAX_LENGTH["AE"]:
        raise ValidationError("An AE title has at most 16 characters.")


def validate_code_string(value: str) -> None:
    """A code string (CS): upper-case letters, digits, space and underscore."""
    if not _CODE_STRING.fullmatch(value):
        raise ValidationError(
            "Use upper-case letters, digits, spaces and underscores only (DICOM CS)."
        )


def validate_uid(value: str) -> None:
    """A UID (UI): dot-separated numbers, no leading zeros, at most 64 characters."""
    if len(value) > MAX_LENGTH["UI"] or not _UID.fullmatch(value):
        raise ValidationError(f"{value!r} is not a valid DICOM UID.")


def validate_person_name(value: str) -> None:
    """A person name (PN): up to three component groups of up to five components."""
    groups = value.split("=")
    if len(groups) > 3:
        raise ValidationError(
            "A person name has at most three forms (alphabetic=ideographic=phonetic)."
        )
    for group in groups:
        validate_name_group(group)


def validate_name_group(value: str) -> None:
    """One form of a person name: at most 64 characters in at most five components."""
    validate_single_value(value)
    if "=" in value:
        raise ValidationError('One form of a person name cannot contain "=".')
    if len(value) > MAX_LENGTH["PN"]:
        raise ValidationError("Each form of a person name has at most 64 characters.")
    if value.count("^") > 4:
        raise ValidationError(
            "A person name has at most five components (family^given^middle^prefix^suffix)."
        )


def validate_name_component(value: str) -> None:
    """One component of a person name: no "^" or "=", which separate components."""
    validate_single_value(value)
    if "^" in value or "=" in value:
        raise ValidationError('A name component cannot contain "^" or "=".')
