from django.apps import AppConfig


class NodesConfig(AppConfig):
    name = "ris.nodes"
    verbose_name = "DICOM nodes"
