"""Workitems and subscriptions in the admin: to look at, and to request cancellation.

Workitems come from UPS SCUs (and, later, the REST door); every change goes
through ris.ups.services, so the admin writes nothing itself. Final workitems
that left the worklist stay here, for audit.
"""

import json
import logging

from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from ris.dicom.errors import DicomError
from ris.ups.models import GlobalSubscription, Subscription, Workitem
from ris.ups.services import ups_request_cancel

LOGGER = logging.getLogger("ris.ups")


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    fields = ["ae_title", "deletion_lock", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workitem)
class WorkitemAdmin(admin.ModelAdmin):
    list_display = [
        "scheduled_start",
        "procedure_step_label",
        "worklist_label",
        "priority",
        "state",
        "progress",
        "patient_name",
        "patient_id",
        "final_at",
    ]
    list_filter = ["state", "priority", "worklist_label", "input_readiness_state"]
    search_fields = ["=sop_instance_uid", "=patient_id", "patient_name", "procedure_step_label"]
    date_hierarchy = "scheduled_start"
    show_full_result_count = False
    exclude = ["dataset", "transaction_uid", "patient_name_search"]
    readonly_fields = [
        field.name
        for field in Workitem._meta.fields
        if field.name not in ("id", "dataset", "transaction_uid", "patient_name_search")
    ] + ["dataset_as_kept"]
    inlines = [SubscriptionInline]
    actions = ["request_cancellation"]

    @admin.display(description="dataset (DICOM JSON)")
    def dataset_as_kept(self, workitem):
        return format_html("<pre>{}</pre>", json.dumps(workitem.dataset, indent=1))

    @admin.action(description="Request cancellation of the selected workitems")
    def request_cancellation(self, request, queryset):
        """As a Request UPS Cancel from the RIS itself (CC.2.2.3): a SCHEDULED
        workitem is cancelled; the performer of one IN PROGRESS is told."""
        for workitem in queryset:
            try:
                ups_request_cancel(
                    sop_instance_uid=workitem.sop_instance_uid,
                    requesting_ae=settings.RIS_AE_TITLE,
                )
            except DicomError as error:
                self.message_user(
                    request, f"{workitem}: {error.comment} (0x{error.status:04X})", messages.ERROR
                )
            else:
                LOGGER.info("%s requested cancellation of UPS %s", request.user, workitem.pk)
                self.message_user(request, f"{workitem}: cancellation requested")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GlobalSubscription)
class GlobalSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["ae_title", "deletion_lock", "matching_keys", "created_at"]
    readonly_fields = ["ae_title", "deletion_lock", "matching_keys", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
