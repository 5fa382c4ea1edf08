"""Workitems (UPS instances) and the subscriptions to their events (PS3.4 Annex CC).

A workitem is kept whole as DICOM JSON, with the attributes C-FIND matches on
copied into indexed columns (and, for sequences, into child rows) whenever
the data set changes. The Transaction UID lives in its own column and never
in the data set: no response may carry it (CC.2.7.2, Table CC.2.5-3).
"""

from django.conf import settings
from django.db import models

from ris.dicom.fields import ae_field, cs_field, lo_field, sh_field, uid_field
from ris.ups import FILTERED_GLOBAL_SUBSCRIPTION_UID, GLOBAL_SUBSCRIPTION_UID
from ris.ups.states import FINAL, STATES


class Delivery(models.TextChoices):
    """How a subscriber receives its events: over the door it subscribed through."""

    DIMSE = "dimse", "N-EVENT-REPORT on an association the RIS opens"
    WEBSOCKET = "websocket", "WebSocket the subscriber opens (UPS-RS)"


class Workitem(models.Model):
    """One Unified Procedure Step instance."""

    sop_instance_uid = uid_field("SOP Instance UID", dicom="0008,0018", unique=True)
    state = cs_field(
        "state", dicom="0074,1000", choices=[(state, state.title()) for state in STATES]
    )
    transaction_uid = uid_field(
        "Transaction UID",
        dicom="0008,1195",
        blank=True,
        help_text="Recorded when a performer claims the workitem; kept after it is final "
        "(Table CC.1.1-2 tells a wrong UID from a final state by it); never sent to anyone.",
    )
    input_readiness_state = cs_field("input readiness", dicom="0040,4041")
    priority = cs_field("priority", dicom="0074,1200")
    procedure_step_label = lo_field("label", dicom="0074,1204")
    worklist_label = lo_field("worklist label", dicom="0074,1202", blank=True)
    scheduled_start = models.DateTimeField("scheduled start", help_text="(0040,4005)")
    expected_completion = models.DateTimeField(
        "expected completion", null=True, blank=True, help_text="(0040,4011)"
    )
    modified_at = models.DateTimeField(
        "modified", help_text="Scheduled Procedure Step Modification DateTime (0040,4010)."
    )
    patient_name = models.CharField("patient name", max_length=324, blank=True)
    patient_name_search = models.CharField(max_length=324, blank=True, editable=False)
    patient_id = lo_field("patient ID", dicom="0010,0020", blank=True)
    issuer_of_patient_id = lo_field("issuer of patient ID", dicom="0010,0021", blank=True)
    patient_birth_date = models.DateField("birth date", null=True, blank=True)
    patient_sex = cs_field("sex", dicom="0010,0040", blank=True)
    admission_id = lo_field("admission ID", dicom="0038,0010", blank=True)
    progress = models.DecimalField(
        "progress %", max_digits=7, decimal_places=3, null=True, blank=True
    )
    dataset = models.JSONField(
        help_text="The whole workitem in DICOM JSON (PS3.18 F.2), without the Transaction UID."
    )
    created_by = models.CharField(
        "created by", max_length=64, blank=True, help_text="Calling AE title or user."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    final_at = models.DateTimeField(
        "final since", null=True, blank=True, help_text="When it became COMPLETED or CANCELED."
    )

    class Meta:
        ordering = ["scheduled_start", "pk"]
        indexes = [
            models.Index(fields=["state", "scheduled_start"]),
            models.Index(fields=["scheduled_start"]),
            models.Index(fields=["patient_id"]),
            models.Index(fields=["final_at"]),
        ]

    def __str__(self):
        return f"{self.procedure_step_label or self.sop_instance_uid} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL


class WorkitemCode(models.Model):
    """A code item of one of the workitem's coded sequences, for C-FIND sequence matching.

    `sequence` is the keyword of the sequence holding the item; for codes one
    level down it is the path, e.g. "ScheduledHumanPerformersSequence.HumanPerformerCodeSequence".
    """

    workitem = models.ForeignKey(Workitem, on_delete=models.CASCADE, related_name="codes")
    sequence = models.CharField(max_length=96)
    code_value = models.CharField(max_length=64, blank=True)
    coding_scheme_designator = sh_field("coding scheme", blank=True)

    class Meta:
        indexes = [models.Index(fields=["sequence", "code_value", "workitem"])]

    def __str__(self):
        return f"{self.sequence}: ({self.code_value}, {self.coding_scheme_designator})"


class WorkitemRequest(models.Model):
    """An item of the workitem's Referenced Request Sequence (0040,A370), for C-FIND."""

    workitem = models.ForeignKey(Workitem, on_delete=models.CASCADE, related_name="requests")
    accession_number = sh_field("accession", dicom="0008,0050", blank=True)
    requested_procedure_id = sh_field("requested procedure ID", dicom="0040,1001", blank=True)
    study_instance_uid = uid_field("Study Instance UID", dicom="0020,000D", blank=True)
    requesting_service = lo_field("requesting service", dicom="0032,1033", blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["accession_number"]),
            models.Index(fields=["requested_procedure_id"]),
        ]

    def __str__(self):
        return f"request {self.accession_number} / {self.requested_procedure_id}"


class Subscription(models.Model):
    """An AE's subscription to one workitem's events (CC.2.3), with or without Deletion Lock."""

    workitem = models.ForeignKey(Workitem, on_delete=models.CASCADE, related_name="subscriptions")
    ae_title = ae_field("receiving AE", dicom="0074,1234")
    deletion_lock = models.BooleanField(default=False)
    delivery = models.CharField(max_length=16, choices=Delivery, default=Delivery.DIMSE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="For a WebSocket subscription: the client that made it, the only one "
        "(besides staff) that may open its socket.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workitem", "ae_title"], name="ups_one_subscription"),
        ]
        indexes = [models.Index(fields=["ae_title"])]

    def __str__(self):
        lock = " with lock" if self.deletion_lock else ""
        return f"{self.ae_title} on {self.workitem_id}{lock}"


class GlobalSubscription(models.Model):
    """An AE's global subscription: to every workitem, or (filtered) to those that
    match `matching_keys`, an identifier in DICOM JSON (CC.2.3.1)."""

    ae_title = ae_field("receiving AE", dicom="0074,1234", unique=True)
    deletion_lock = models.BooleanField(default=False)
    delivery = models.CharField(max_length=16, choices=Delivery, default=Delivery.DIMSE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    matching_keys = models.JSONField(
        null=True, blank=True, help_text="For a filtered global subscription: the keys."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        kind = "filtered global" if self.matching_keys is not None else "global"
        return f"{self.ae_title}: {kind} subscription"

    @property
    def instance_uid(self) -> str:
        """The well-known SOP instance subscribed to (CC.3.1)."""
        if self.matching_keys is not None:
            return FILTERED_GLOBAL_SUBSCRIPTION_UID
        return GLOBAL_SUBSCRIPTION_UID
