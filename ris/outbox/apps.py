from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "ris.outbox"
    verbose_name = "Outbound messages"
