"""The patient (PS3.3 C.7.1 Patient Identification, Demographic and Medical modules)."""

from django.core.exceptions import ValidationError
from django.db import models

from ris.dicom.fields import cs_field, dicom_help, lo_field
from ris.dicom.person_name import PersonName, search_key
from ris.dicom.vr import MAX_LENGTH, validate_name_component, validate_name_group


class Sex(models.TextChoices):
    """Patient's Sex (0010,0040)."""

    MALE = "M", "Male"
    FEMALE = "F", "Female"
    OTHER = "O", "Other"


class PregnancyStatus(models.IntegerChoices):
    """Pregnancy Status (0010,21C0), an enumerated US value."""

    NOT_PREGNANT = 1, "Not pregnant"
    POSSIBLY_PREGNANT = 2, "Possibly pregnant"
    DEFINITELY_PREGNANT = 3, "Definitely pregnant"
    UNKNOWN = 4, "Unknown"


def name_component_field(verbose_name: str) -> models.CharField:
    return models.CharField(
        verbose_name,
        max_length=MAX_LENGTH["PN"],
        blank=True,
        validators=[validate_name_component],
    )


def name_group_field(verbose_name: str) -> models.CharField:
    return models.CharField(
        verbose_name,
        max_length=MAX_LENGTH["PN"],
        blank=True,
        validators=[validate_name_group],
        help_text='Components separated by "^", as in DICOM: family^given^middle^prefix^suffix.',
    )


def values_by_line(text: str) -> list[str]:
    """A multi-valued DICOM attribute kept as text, one value per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class Patient(models.Model):
    """A patient, identified by Patient ID (0010,0020) within its issuer (0010,0021).

    Patient's Name (0010,0010) is kept by component so that it can be searched
    and shown; `name` gives the DICOM value back.
    """

    patient_id = lo_field("Patient ID", dicom="0010,0020")
    issuer_of_patient_id = lo_field("Issuer of Patient ID", dicom="0010,0021", blank=True)
    family_name = name_component_field("family name")
    given_name = name_component_field("given name")
    middle_name = name_component_field("middle name")
    name_prefix = name_component_field("name prefix")
    name_suffix = name_component_field("name suffix")
    name_ideographic = name_group_field("name, ideographic form")
    name_phonetic = name_group_field("name, phonetic form")
    # Patient's Name as worklist queries match it (ris.dicom.person_name.search_key).
    name_search = models.TextField(editable=False, default="")
    birth_date = models.DateField(
        "birth date", help_text=dicom_help("0010,0030"), null=True, blank=True
    )
    sex = cs_field("sex", dicom="0010,0040", choices=Sex.choices, blank=True)
    medical_alerts = models.TextField(
        "medical alerts", help_text=dicom_help("0010,2000", "One alert per line."), blank=True
    )
    allergies = models.TextField(
        "allergies", help_text=dicom_help("0010,2110", "One per line."), blank=True
    )
    pregnancy_status = models.PositiveSmallIntegerField(
        "pregnancy status",
        help_text=dicom_help("0010,21C0"),
        choices=PregnancyStatus.choices,
        null=True,
        blank=True,
    )
    weight_kg = models.DecimalField(
        "weight (kg)",
        help_text=dicom_help("0010,1030"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
    )
    size_m = models.DecimalField(
        "size (m)",
        help_text=dicom_help("0010,1020"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "patient_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient_id", "issuer_of_patient_id"],
                name="unique_patient_id_per_issuer",
            ),
            models.CheckConstraint(condition=~models.Q(patient_id=""), name="patient_id_not_empty"),
        ]
        indexes = [
            # Worklist name queries are LIKE patterns with a fixed prefix.
            models.Index(
                fields=["name_search"],
                name="patient_name_search_idx",
                opclasses=["text_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.name.readable()} ({self.patient_id})"

    def save(self, *args, **kwargs):
        self.name_search = search_key(self.name)
        super().save(*args, **kwargs)

    # The fields of Patient's Name, in the order of PersonName's.
    NAME_FIELDS = (
        "family_name",
        "given_name",
        "middle_name",
        "name_prefix",
        "name_suffix",
        "name_ideographic",
        "name_phonetic",
    )

    @property
    def name(self) -> PersonName:
        return PersonName(*(getattr(self, field) for field in self.NAME_FIELDS))

    @name.setter
    def name(self, value: PersonName | str) -> None:
        if isinstance(value, str):
            value = PersonName.parse(value)
        self.family_name = value.family
        self.given_name = value.given
        self.middle_name = value.middle
        self.name_prefix = value.prefix
        self.name_suffix = value.suffix
        self.name_ideographic = value.ideographic
        self.name_phonetic = value.phonetic

    def clean(self):
        if len(self.name.alphabetic) > MAX_LENGTH["PN"]:
            raise ValidationError(
                "The name is too long: DICOM allows 64 characters for all its components."
            )
        if not (self.family_name or self.name_ideographic or self.name_phonetic):
            raise ValidationError({"family_name": "A patient needs at least a family name."})

    @property
    def medical_alert_values(self) -> list[str]:
        """Medical Alerts (0010,2000) as DICOM values, one per line."""
        return values_by_line(self.medical_alerts)

    @property
    def allergy_values(self) -> list[str]:
        """Allergies (0010,2110) as DICOM values, one per line."""
        return values_by_line(self.allergies)


class OtherPatientID(models.Model):
    """An item of Other Patient IDs Sequence (0010,1002): the patient's ID elsewhere."""

    class Type(models.TextChoices):
        """Type of Patient ID (0010,0022)."""

        TEXT = "TEXT", "Text"
        RFID = "RFID", "RFID"
        BARCODE = "BARCODE", "Barcode"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="other_ids")
    other_patient_id = lo_field("Patient ID", dicom="0010,0020")
    issuer_of_patient_id = lo_field("Issuer of Patient ID", dicom="0010,0021", blank=True)
    type_of_patient_id = cs_field(
        "Type of Patient ID", dicom="0010,0022", choices=Type.choices, default=Type.TEXT
    )

    class Meta:
        verbose_name = "other patient ID"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "other_patient_id", "issuer_of_patient_id"],
                name="unique_other_patient_id",
            )
        ]
        indexes = [models.Index(fields=["other_patient_id"])]

    def __str__(self):
        issuer = f" ({self.issuer_of_patient_id})" if self.issuer_of_patient_id else ""
        return f"{self.other_patient_id}{issuer}"
