"""The audit trail in the admin: to read and search, never to write; and the
admin's own changes to reference data, written into it (AuditedAdmin)."""

from django.contrib import admin

from ris.audit.models import AuditEvent
from ris.audit.services import audit_record


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose additions, changes and deletions also go into the
    audit trail, for data changed in the admin alone (catalog codes, stations,
    DICOM peers, API clients). What changed is the admin's own message: the
    names of the fields.

    `audit_type` and `audit_id` name the object as the domain's own events
    do (remote_ae and its AE title, say); by default the model's name and
    the object's text."""

    audit_type: str | None = None
    audit_id: str | None = None  # the field that identifies an object

    def log_addition(self, request, obj, message):
        self._record(obj, "add", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._record(obj, "change", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._record(obj, "delete", [])
        return super().log_deletions(request, queryset)

    def _record(self, obj, verb: str, message) -> None:
        kind = self.audit_type or obj._meta.model_name
        identifier = getattr(obj, self.audit_id) if self.audit_id else obj
        audit_record(
            action=f"{kind}.{verb}",
            object_type=kind,
            object_id=str(identifier)[:128],
            detail={"admin": message} if message else {},
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_kind", "actor", "address", "action", "object_id", "outcome"]
    list_filter = ["actor_kind", "outcome", "action", "at"]
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
