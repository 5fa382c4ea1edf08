"""Model fields for DICOM values, sized and validated by their VR (PS3.5 6.2).

A field made here says in its definition which DICOM value it holds, so a
reader of a model sees the VR and its limits at a glance; `dicom="0008,0050"`
puts the attribute's tag into the field's help text.
"""

from collections.abc import Callable

from django.db.models import CharField

from ris.dicom.vr import (
    MAX_LENGTH,
    validate_ae_title,
    validate_code_string,
    validate_person_name,
    validate_single_value,
    validate_uid,
)

# Three component groups of 64 characters and the two "=" between them.
PERSON_NAME_MAX_LENGTH = 3 * MAX_LENGTH["PN"] + 2


def dicom_help(tag: str, text: str = "") -> str:
    """Help text naming the DICOM attribute a field holds, e.g. "DICOM (0008,0050)."."""
    return f"DICOM ({tag}). {text}".strip()


def _vr_field(vr: str, validator: Callable[[str], None], max_length: int | None = None):
    def make(verbose_name: str, dicom: str = "", **kwargs) -> CharField:
        if dicom:
            kwargs["help_text"] = dicom_help(dicom, kwargs.get("help_text", ""))
        return CharField(
            verbose_name,
            max_length=max_length or MAX_LENGTH[vr],
            validators=[validator],
            **kwargs,
        )

    make.__name__ = f"{vr.lower()}_field"
    make.__doc__ = f"A CharField holding one DICOM {vr} value."
    return make


ae_field = _vr_field("AE", validate_ae_title)
cs_field = _vr_field("CS", validate_code_string)
sh_field = _vr_field("SH", validate_single_value)
lo_field = _vr_field("LO", validate_single_value)
pn_field = _vr_field("PN", validate_person_name, PERSON_NAME_MAX_LENGTH)
uid_field = _vr_field("UI", validate_uid)
