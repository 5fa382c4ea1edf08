from django.contrib import admin

from ris.api.models import ApiClient
from ris.audit.admin import AuditedAdmin


@admin.register(ApiClient)
class ApiClientAdmin(AuditedAdmin):
    audit_type, audit_id = "api_client", "name"
    list_display = ["name", "user", "can_write", "callback_url", "created_at"]
    search_fields = ["name", "user__username"]
    raw_id_fields = ["user"]
    # The HMAC key is shown once, by `manage.py api_client`; never on a page.
    exclude = ["callback_secret"]
