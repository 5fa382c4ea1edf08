from django.apps import AppConfig


class MppsConfig(AppConfig):
    name = "ris.mpps"
    verbose_name = "Performed procedure steps (MPPS)"
