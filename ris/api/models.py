"""The systems that use the REST API: each HIS client, its rights and its callback."""

from django.conf import settings
from django.db import models


class ApiClient(models.Model):
    """A system (a HIS, an order entry system) that calls the REST API.

    It signs in as its own user, with a token of its own (DRF's authtoken),
    so that every request and every change is attributable to it. It may read
    only, or also write. If it has a callback URL, the RIS POSTs order and
    step status changes there, signed with HMAC-SHA256 keyed with
    `callback_secret` (docs/webhooks.md).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_client"
    )
    name = models.CharField(max_length=100, unique=True)
    can_write = models.BooleanField(
        "may write", default=False, help_text="Create and change patients and orders."
    )
    callback_url = models.URLField(
        "callback URL", blank=True, help_text="Where order and step status changes are POSTed."
    )
    callback_secret = models.CharField(
        max_length=128, blank=True, help_text="The key of the HMAC-SHA256 signature."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self):
        return self.name
