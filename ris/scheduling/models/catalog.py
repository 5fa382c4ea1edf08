"""Reference data: what can be done (procedure and protocol codes) and where (stations)."""

from datetime import timedelta

from django.db import models

from ris.dicom.fields import ae_field, cs_field, lo_field, sh_field


class Modality(models.TextChoices):
    """Defined terms of Modality (0008,0060), PS3.3 C.7.3.1.1.1, that a RIS schedules."""

    BMD = "BMD", "BMD - Bone densitometry (ultrasound)"
    CR = "CR", "CR - Computed radiography"
    CT = "CT", "CT - Computed tomography"
    DX = "DX", "DX - Digital radiography"
    ES = "ES", "ES - Endoscopy"
    IO = "IO", "IO - Intra-oral radiography"
    IVUS = "IVUS", "IVUS - Intravascular ultrasound"
    MG = "MG", "MG - Mammography"
    MR = "MR", "MR - Magnetic resonance"
    NM = "NM", "NM - Nuclear medicine"
    OCT = "OCT", "OCT - Optical coherence tomography"
    OP = "OP", "OP - Ophthalmic photography"
    OT = "OT", "OT - Other"
    PT = "PT", "PT - Positron emission tomography"
    PX = "PX", "PX - Panoramic X-ray"
    RF = "RF", "RF - Radiofluoroscopy"
    RG = "RG", "RG - Radiographic imaging"
    US = "US", "US - Ultrasound"
    XA = "XA", "XA - X-ray angiography"
    XC = "XC", "XC - External-camera photography"


class CodedConcept(models.Model):
    """A code from a coding scheme: the Code Sequence Macro (PS3.3 Table 8.8-1)."""

    code_value = sh_field("Code Value", dicom="0008,0100")
    coding_scheme_designator = sh_field("Coding Scheme Designator", dicom="0008,0102")
    coding_scheme_version = sh_field("Coding Scheme Version", dicom="0008,0103", blank=True)
    code_meaning = lo_field("Code Meaning", dicom="0008,0104")
    active = models.BooleanField(default=True, help_text="Inactive codes cannot be booked.")

    class Meta:
        abstract = True
        ordering = ["code_meaning"]

    def __str__(self):
        return f"{self.code_meaning} ({self.code_value}, {self.coding_scheme_designator})"


class ProtocolCode(CodedConcept):
    """An acquisition protocol: an item of Scheduled Protocol Code Sequence (0040,0008)."""

    class Meta(CodedConcept.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["code_value", "coding_scheme_designator"],
                name="unique_protocol_code_per_scheme",
            )
        ]


class ProcedureCode(CodedConcept):
    """A bookable procedure: Requested Procedure Code Sequence (0032,1064), with the
    defaults a booking takes from it."""

    default_modality = cs_field("default modality", choices=Modality.choices)
    default_duration = models.DurationField(default=timedelta(minutes=15))
    default_protocol_codes = models.ManyToManyField(
        ProtocolCode, blank=True, related_name="procedure_codes"
    )

    class Meta(CodedConcept.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["code_value", "coding_scheme_designator"],
                name="unique_procedure_code_per_scheme",
            ),
            models.CheckConstraint(
                condition=models.Q(default_duration__gt=timedelta(0)),
                name="procedure_code_duration_positive",
            ),
        ]


class Station(models.Model):
    """A place where exams are performed: a modality with its AE title, in a room."""

    ae_title = ae_field("AE title", dicom="0040,0001", unique=True)
    name = sh_field("station name", dicom="0040,0010")
    modality = cs_field("modality", choices=Modality.choices)
    location = sh_field("room", dicom="0040,0011", blank=True)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True, help_text="Inactive stations cannot be booked.")
    capacity = models.PositiveSmallIntegerField(
        default=1,
        help_text="How many exams the station can be booked for at one time; "
        "0: no limit (a walk-in room).",
    )

    class Meta:
        ordering = ["modality", "ae_title"]

    def __str__(self):
        return f"{self.name} ({self.ae_title}, {self.modality})"
