"""The audit trail: one row per change, saying who made it, through which door."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class ActorKind(models.TextChoices):
    USER = "user", "user"
    API_CLIENT = "api_client", "API client"
    AE = "ae", "DICOM AE"
    SYSTEM = "system", "system"


class AuditEvent(models.Model):
    """A change to the schedule, a performed step or a workitem.

    `detail` holds identifiers and what changed (statuses, times, stations,
    field names), never patient data beyond identifiers: no names, no birth
    dates, no values of changed demographics.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.CharField(max_length=150, help_text="User name, API client name or AE title.")
    address = models.CharField(max_length=255, blank=True, help_text="Client IP address or host.")
    action = models.CharField(max_length=64, help_text='What was done, e.g. "step.reschedule".')
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(
        "object",
        max_length=128,
        help_text="Accession number, SPS ID, patient ID or SOP Instance UID.",
    )
    outcome = models.CharField(max_length=32, default="success")
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor"]),
            models.Index(fields=["action"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_id}"

    def detail_as_json(self) -> str:
        return json.dumps(self.detail, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
