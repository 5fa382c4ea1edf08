"""The admin: the department's list of DICOM peers, switched on and off in place."""

from django.contrib import admin

from ris.audit.admin import AuditedAdmin
from ris.nodes.models import RemoteAE


@admin.register(RemoteAE)
class RemoteAEAdmin(AuditedAdmin):
    audit_type, audit_id = "remote_ae", "ae_title"
    list_display = [
        "ae_title",
        "host",
        "port",
        "enabled",
        "may_query_worklist",
        "may_report_mpps",
        "may_use_ups",
        "forward_mpps",
        "description",
    ]
    list_editable = ["enabled"]
    list_filter = [
        "enabled",
        "may_query_worklist",
        "may_report_mpps",
        "may_use_ups",
        "forward_mpps",
    ]
    search_fields = ["ae_title", "host", "description"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["ae_title", ("host", "port"), "description", "enabled"]}),
        ("Services", {"fields": [("may_query_worklist", "may_report_mpps", "may_use_ups")]}),
        ("Forwarding", {"fields": ["forward_mpps"]}),
        ("History", {"fields": [("created_at", "updated_at")]}),
    ]
