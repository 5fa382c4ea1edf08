"""Orders and what they schedule: PS3.3 C.4.10-11 (Scheduled Procedure Step,
Requested Procedure) and the Imaging Service Request module."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from ris.dicom.fields import (
    ae_field,
    cs_field,
    dicom_help,
    lo_field,
    pn_field,
    sh_field,
    uid_field,
)
from ris.dicom.person_name import search_key
from ris.dicom.uids import new_uid
from ris.scheduling.models.catalog import Modality, ProcedureCode, ProtocolCode, Station
from ris.scheduling.models.identifiers import next_identifiers
from ris.scheduling.models.patients import Patient


class Priority(models.TextChoices):
    """Requested Procedure Priority (0040,1003), PS3.3 C.4.11."""

    STAT = "STAT", "Stat"
    HIGH = "HIGH", "High"
    ROUTINE = "ROUTINE", "Routine"
    MEDIUM = "MEDIUM", "Medium"
    LOW = "LOW", "Low"


class OrderStatus(models.TextChoices):
    """Where an order stands, as the HIS is told (not a DICOM attribute)."""

    SCHEDULED = "SCHEDULED", "Scheduled"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    COMPLETED = "COMPLETED", "Completed"
    DISCONTINUED = "DISCONTINUED", "Discontinued"
    CANCELED = "CANCELED", "Canceled"


class StepStatus(models.TextChoices):
    """Scheduled Procedure Step Status (0040,0020).

    SCHEDULED to DEPARTED are the defined terms of PS3.3 C.4.10; COMPLETED,
    DISCONTINUED and CANCELED are the RIS's own, for steps that are done with.
    """

    SCHEDULED = "SCHEDULED", "Scheduled"
    ARRIVED = "ARRIVED", "Arrived"
    READY = "READY", "Ready"
    STARTED = "STARTED", "Started"
    DEPARTED = "DEPARTED", "Departed"
    COMPLETED = "COMPLETED", "Completed"
    DISCONTINUED = "DISCONTINUED", "Discontinued"
    CANCELED = "CANCELED", "Canceled"


def default_accession_issuer() -> str:
    return settings.RIS_ACCESSION_ISSUER


class Order(models.Model):
    """An imaging service request, known to everyone by its Accession Number (0008,0050)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="orders")
    accession_number = sh_field(
        "Accession Number",
        dicom="0008,0050",
        blank=True,
        help_text="Left empty, the RIS assigns one.",
    )
    issuer_of_accession_number = lo_field(
        "Issuer of Accession Number",
        dicom="0008,0051",
        blank=True,
        default=default_accession_issuer,
    )
    placer_order_number = lo_field("Placer Order Number", dicom="0040,2016", blank=True)
    placer_issuer = lo_field("Order Placer Identifier", dicom="0040,0026", blank=True)
    filler_order_number = lo_field("Filler Order Number", dicom="0040,2017", blank=True)
    filler_issuer = lo_field("Order Filler Identifier", dicom="0040,0027", blank=True)
    referring_physician_name = pn_field("Referring Physician's Name", dicom="0008,0090", blank=True)
    requesting_physician = pn_field("Requesting Physician", dicom="0032,1032", blank=True)
    requesting_service = lo_field("Requesting Service", dicom="0032,1033", blank=True)
    reason_for_request = lo_field(
        "Reason for the Requested Procedure", dicom="0040,1002", blank=True
    )
    priority = cs_field("priority", choices=Priority.choices, default=Priority.ROUTINE)
    status = cs_field("status", choices=OrderStatus.choices, default=OrderStatus.SCHEDULED)
    admission_id = lo_field("Admission ID", dicom="0038,0010", blank=True)
    current_patient_location = lo_field("Current Patient Location", dicom="0038,0300", blank=True)
    comments = models.TextField(
        "Imaging Service Request Comments", help_text=dicom_help("0040,2400"), blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["accession_number", "issuer_of_accession_number"],
                name="unique_accession_number_per_issuer",
            ),
            # A placer order number identifies one order within its placer.
            models.UniqueConstraint(
                fields=["placer_order_number", "placer_issuer"],
                condition=~models.Q(placer_order_number=""),
                name="unique_placer_order_number_per_issuer",
            ),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"{self.accession_number} - {self.patient}"

    def save(self, *args, **kwargs):
        if not self.accession_number:
            self.accession_number = self._unused_accession_number()
        super().save(*args, **kwargs)

    def _unused_accession_number(self) -> str:
        """The next number of the RIS's sequence that no order of this issuer has
        (an imported schedule may have used some already)."""
        while True:
            [number] = next_identifiers("accession")
            taken = Order.objects.filter(
                accession_number=number, issuer_of_accession_number=self.issuer_of_accession_number
            )
            if not taken.exists():
                return number


class RequestedProcedure(models.Model):
    """A procedure an order asks for; the study it produces has its Study Instance UID."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="requested_procedures")
    requested_procedure_id = sh_field(
        "Requested Procedure ID",
        dicom="0040,1001",
        blank=True,
        help_text="Left empty, the RIS assigns one.",
    )
    procedure_code = models.ForeignKey(
        ProcedureCode,
        on_delete=models.PROTECT,
        related_name="requested_procedures",
        verbose_name="procedure code",
        help_text=dicom_help("0032,1064"),
    )
    description = lo_field(
        "description",
        dicom="0032,1060",
        blank=True,
        help_text="Left empty, the code meaning of the procedure.",
    )
    study_instance_uid = uid_field(
        "Study Instance UID", dicom="0020,000D", unique=True, default=new_uid
    )
    priority = cs_field(
        "priority",
        dicom="0040,1003",
        choices=Priority.choices,
        default=Priority.ROUTINE,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "requested_procedure_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "requested_procedure_id"],
                name="unique_requested_procedure_id_per_order",
            )
        ]

    def __str__(self):
        return f"{self.requested_procedure_id} {self.description}"

    def save(self, *args, **kwargs):
        if not self.requested_procedure_id:
            [self.requested_procedure_id] = next_identifiers("requested_procedure")
        if not self.description:
            self.description = self.procedure_code.code_meaning
        super().save(*args, **kwargs)

    def clean(self):
        # A new booking may not use a code the department no longer offers.
        if self._state.adding and self.procedure_code_id and not self.procedure_code.active:
            raise ValidationError(
                {"procedure_code": f"The procedure {self.procedure_code} is no longer offered."}
            )


# The fields ScheduledProcedureStep.fill_defaults fills in.
FILLED_IN = frozenset(
    {
        "scheduled_station_ae_title",
        "scheduled_station_name",
        "location",
        "modality",
        "expected_duration",
        "description",
        "performing_physician_search",
    }
)


class ScheduledProcedureStep(models.Model):
    """One step of a requested procedure, to be done on one station at one time.

    Each is one Modality Worklist item (PS3.4 K.6). The station's AE title, name
    and room are copied in when the step is booked: the worklist and the MPPS that
    follows refer to what was scheduled, even if the station is later renamed.
    """

    requested_procedure = models.ForeignKey(
        RequestedProcedure, on_delete=models.CASCADE, related_name="scheduled_steps"
    )
    sps_id = sh_field(
        "SPS ID",
        dicom="0040,0009",
        blank=True,
        help_text="Left empty, the RIS assigns one.",
    )
    modality = cs_field(
        "Modality",
        dicom="0008,0060",
        choices=Modality.choices,
        blank=True,
        help_text="Left empty, the station's or the procedure's modality.",
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        related_name="scheduled_steps",
        null=True,
        blank=True,
    )
    scheduled_station_ae_title = ae_field("station AE title", dicom="0040,0001", blank=True)
    scheduled_station_name = sh_field("station name", dicom="0040,0010", blank=True)
    location = sh_field("location", dicom="0040,0011", blank=True)
    start = models.DateTimeField("start", help_text=dicom_help("0040,0002 and 0040,0003"))
    expected_duration = models.DurationField(
        blank=True, help_text="Left empty, the procedure's usual duration."
    )
    performing_physician_name = pn_field("performing physician", dicom="0040,0006", blank=True)
    # The performing physician's name as worklist queries match it.
    performing_physician_search = models.TextField(editable=False, default="")
    description = lo_field(
        "description",
        dicom="0040,0007",
        blank=True,
        help_text="Left empty, the requested procedure's description.",
    )
    protocol_codes = models.ManyToManyField(
        ProtocolCode,
        blank=True,
        related_name="scheduled_steps",
        verbose_name="protocol codes",
        help_text=dicom_help("0040,0008"),
    )
    pre_medication = lo_field("Pre-Medication", dicom="0040,0012", blank=True)
    requested_contrast_agent = lo_field("Requested Contrast Agent", dicom="0032,1070", blank=True)
    comments = models.TextField("comments", help_text=dicom_help("0040,0400"), blank=True)
    status = cs_field(
        "status",
        dicom="0040,0020",
        choices=StepStatus.choices,
        default=StepStatus.SCHEDULED,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "scheduled procedure step"
        ordering = ["start"]
        # Technologists mark arrivals but do not book or move steps.
        permissions = [("mark_arrived", "Can mark a patient arrived for a step")]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_procedure", "sps_id"], name="unique_sps_id_per_procedure"
            ),
            models.CheckConstraint(
                condition=models.Q(expected_duration__gt=timedelta(0)),
                name="sps_duration_positive",
            ),
        ]
        # The keys a modality's worklist query filters by (PS3.4 K.6-1):
        # its own AE title or modality, and a date range.
        indexes = [
            models.Index(fields=["scheduled_station_ae_title", "start"]),
            models.Index(fields=["modality", "start"]),
            models.Index(fields=["start"]),
            models.Index(fields=["status", "start"]),
        ]

    def __str__(self):
        return f"{self.sps_id} {self.description} at {self.start:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self.sps_id:
            [self.sps_id] = next_identifiers("scheduled_step")
        # A save of other fields only (a status change) writes none of them.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or not FILLED_IN.isdisjoint(update_fields):
            self.fill_defaults()
        super().save(*args, **kwargs)

    def clean(self):
        # A new booking may not go to a station that is out of service.
        if self._state.adding and self.station is not None and not self.station.active:
            raise ValidationError({"station": f"The station {self.station} is not in service."})

    def fill_defaults(self) -> None:
        """Take what was left empty from the station, procedure code and procedure
        (the fields of FILLED_IN)."""
        procedure = self.requested_procedure
        station = self.station
        if station is not None:
            self.scheduled_station_ae_title = self.scheduled_station_ae_title or station.ae_title
            self.scheduled_station_name = self.scheduled_station_name or station.name
            self.location = self.location or station.location
        if not self.modality:
            self.modality = (
                self.station.modality if self.station else procedure.procedure_code.default_modality
            )
        if not self.expected_duration:
            self.expected_duration = procedure.procedure_code.default_duration
        if not self.description:
            self.description = procedure.description or procedure.procedure_code.code_meaning
        self.performing_physician_search = search_key(self.performing_physician_name)

    @property
    def end(self):
        return self.start + self.expected_duration
