"""Performed procedure steps as the modalities reported them."""

from django.db import models

from ris.dicom.fields import ae_field, cs_field, lo_field, sh_field, uid_field
from ris.mpps.rules import STATUSES
from ris.scheduling.models import ScheduledProcedureStep

STATUS_CHOICES = [(status, status.title()) for status in STATUSES]


class PerformedProcedureStep(models.Model):
    """One MPPS instance: every attribute it was sent, kept as DICOM JSON, with the
    values it is found and shown by as indexed columns.

    `scheduled_steps` are the scheduled steps it performs: none for an
    unscheduled exam until a scheduler links it, several in the group case.
    """

    sop_instance_uid = uid_field("SOP Instance UID", dicom="0008,0018", unique=True)
    status = cs_field(
        "status",
        dicom="0040,0252",
        choices=STATUS_CHOICES,
        db_index=True,
    )
    performed_procedure_step_id = sh_field("PPS ID", dicom="0040,0253", blank=True)
    modality = cs_field("modality", dicom="0008,0060", blank=True)
    performed_station_ae_title = ae_field("station AE title", dicom="0040,0241", blank=True)
    start = models.DateTimeField("start", null=True, blank=True)
    end = models.DateTimeField("end", null=True, blank=True)
    patient_id = lo_field("patient ID", dicom="0010,0020", blank=True)
    patient_name = models.CharField("patient name", max_length=200, blank=True)
    accession_number = sh_field("accession", dicom="0008,0050", blank=True)
    study_instance_uid = uid_field("Study Instance UID", dicom="0020,000D", blank=True)
    calling_ae_title = models.CharField(
        "reported by", max_length=16, blank=True, help_text="The calling AE title."
    )
    dataset = models.JSONField(help_text="Every attribute as sent, in DICOM JSON (PS3.18 F.2).")
    scheduled_steps = models.ManyToManyField(
        ScheduledProcedureStep, blank=True, related_name="performed_steps"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "performed procedure step"
        ordering = ["-start", "-pk"]
        indexes = [
            models.Index(fields=["performed_station_ae_title", "start"]),
            models.Index(fields=["modality", "start"]),
            models.Index(fields=["patient_id"]),
            models.Index(fields=["accession_number"]),
            models.Index(fields=["study_instance_uid"]),
        ]

    def __str__(self):
        return f"{self.performed_procedure_step_id or self.sop_instance_uid} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status != "IN PROGRESS"
