from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WebConfig(AppConfig):
    name = "ris.web"
    verbose_name = "Scheduler web UI"

    def ready(self):
        from ris.web.roles import roles_ensure

        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="ris.web.roles")
