"""The audit trail in the admin: to read and search, never to write."""

from django.contrib import admin

from ris.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_kind", "actor", "address", "action", "object_id", "outcome"]
    list_filter = ["actor_kind", "action", "at"]
    search_fields = ["=actor", "=object_id"]
    date_hierarchy = "at"
    show_full_result_count = False

    # Events are written by the services alone: a trail anyone could edit would
    # prove nothing.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
