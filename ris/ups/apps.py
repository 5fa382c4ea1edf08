from django.apps import AppConfig


class UpsConfig(AppConfig):
    name = "ris.ups"
    verbose_name = "Unified Procedure Steps"
    default_auto_field = "django.db.models.BigAutoField"
