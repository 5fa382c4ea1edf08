"""Model fields for DICOM values, sized and validated by their VR (PS3.5 6.2).

A field made here says in its definition which DICOM value it holds, so a
reader of a model sees the VR and its limits at a glance.
"""

from django.db import models

from ris.dicom.vr import (
    MAX_LENGTH,
    validate_ae_title,
    validate_code_string,
    validate_person_name,
    validate_single_value,
    validate_uid,
)


def dicom_help(tag: str, text: str = "") -> str:
    """Help text naming the DICOM attribute a field holds, e.g. "DICOM (0008,0050)."."""
    return f"DICOM ({tag}). {text}".strip()


# Three component groups of 64 characters and the two "=" between them.
PERSON_NAME_MAX_LENGTH = 3 * MAX_LENGTH["PN"] + 2


def ae_field(verbose_name: str, dicom: str = "", **kwargs) -> models.CharField:
    _add_dicom_help(dicom, kwargs)
    return models.CharField(
        verbose_name, max_length=MAX_LENGTH["AE"], validators=[validate_ae_title], **kwargs
    )


def cs_field(verbose_name: str, dicom: str = "", **kwargs) -> models.CharField:
    _add_dicom_help(dicom, kwargs)
    return models.CharField(
        verbose_name, max_length=MAX_LENGTH["CS"], validators=[validate_code_string], **kwargs
    )


def sh_field(verbose_name: str, dicom: str = "", **kwargs) -> models.CharField:
    _add_dicom_help(dicom, kwargs)
    return models.CharField(
        verbose_name, max_length=MAX_LENGTH["SH"], validators=[validate_single_value], **kwargs
    )


def lo_field(verbose_name: str, dicom: str = "", **kwargs) -> models.CharField:
    _add_dicom_help(dicom, kwargs)
    return models.CharField(
        verbose_name, max_length=MAX_LENGTH["LO"], validators=[validate_single_value], **kwargs
    )


def pn_field(verbose_name: str, dicom: str = "", **kwargs) -> models.CharField:
    _add_dicom_help(dicom, kwargs)
    return models.CharField(
        verbose_name,
        max_length=PERSON_NAME_MAX_LENGTH,
        validators=[validate_person_name],
        **kwargs,
    )


def uid_field(verbose_name: str, dicom: str = "", **kwargs) -> models.CharField:
    _add_dicom_help(dicom, kwargs)
    return models.CharField(
        verbose_name, max_length=MAX_LENGTH["UI"], validators=[validate_uid], **kwargs
    )


def _add_dicom_help(tag: str, kwargs: dict) -> None:
    if tag:
        kwargs["help_text"] = dicom_help(tag, kwargs.get("help_text", ""))
