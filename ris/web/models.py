"""What the web UI remembers of each user."""

from django.conf import settings
from django.db import models

from ris.dicom.fields import cs_field
from ris.scheduling.models import Modality


class Preference(models.Model):
    """A user's defaults: the modality they usually work with is where the day
    board and the booking form open."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="ris_preference",
    )
    usual_modality = cs_field("usual modality", choices=Modality.choices, blank=True)

    def __str__(self):
        return f"{self.user}: {self.usual_modality or 'all modalities'}"


def usual_modality(user) -> str:
    preference = Preference.objects.filter(user=user).first()
    return preference.usual_modality if preference else ""


def usual_modality_remember(user, modality: str) -> None:
    Preference.objects.update_or_create(user=user, defaults={"usual_modality": modality})
