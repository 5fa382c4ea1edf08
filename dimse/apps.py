from django.apps import AppConfig


class DimseConfig(AppConfig):
    name = "dimse"
    verbose_name = "DICOM service"
