"""System checks: the DICOM settings are refused at start-up, not at the first exam."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError

from ris.dicom.vr import validate_ae_title, validate_single_value, validate_uid


@checks.register()
def check_dicom_settings(app_configs, **kwargs):
    errors = []
    try:
        validate_ae_title(settings.RIS_AE_TITLE)
    except ValidationError as error:
        errors.append(checks.Error(f"RIS_AE_TITLE: {error.messages[0]}", id="ris.E001"))
    root = settings.RIS_UID_ROOT
    if root:
        try:
            validate_uid(root.rstrip("."))
            if not root.endswith(".") or len(root) > 32:
                raise ValidationError("it must end with '.' and leave room for 32 digits")
        except ValidationError as error:
            errors.append(
                checks.Error(f"RIS_UID_ROOT {root!r}: {error.messages[0]}", id="ris.E002")
            )
    prefix = settings.RIS_ACCESSION_PREFIX
    try:
        validate_single_value(prefix)
        if len(prefix) > 7:
            raise ValidationError("at most 7 characters, so that numbers fit in 16")
    except ValidationError as error:
        errors.append(
            checks.Error(f"RIS_ACCESSION_PREFIX {prefix!r}: {error.messages[0]}", id="ris.E003")
        )
    return errors
