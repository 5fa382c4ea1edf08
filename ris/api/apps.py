from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ris.api"
    verbose_name = "REST API clients"
    default_auto_field = "django.db.models.BigAutoField"
