from django.contrib import admin

from ris.api.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "can_write", "callback_url", "created_at"]
    search_fields = ["name", "user__username"]
    raw_id_fields = ["user"]
    # The HMAC key is shown once, by `manage.py api_client`; never on a page.
    exclude = ["callback_secret"]
