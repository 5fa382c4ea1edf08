from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "ris.scheduling"
    verbose_name = "Scheduling"

    def ready(self):
        from ris.scheduling import checks  # noqa: F401  (registers the system checks)
