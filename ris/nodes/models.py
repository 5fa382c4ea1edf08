"""Remote application entities: the DICOM peers allowed to talk to the RIS.

They are data, not configuration: a department adds a modality in the admin
or with `manage.py ae`, and the DICOM service sees it on the next association.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ris.dicom.fields import ae_field
from ris.nodes.validators import validate_host

PORT_MAX = 65535


class Service(models.TextChoices):
    """The DICOM services of the RIS a remote AE can be allowed to use."""

    WORKLIST = "worklist", "Modality Worklist"
    MPPS = "mpps", "Modality Performed Procedure Step"
    UPS = "ups", "Unified Procedure Step"


# The flag on RemoteAE that allows each service.
SERVICE_FLAGS = {
    Service.WORKLIST: "may_query_worklist",
    Service.MPPS: "may_report_mpps",
    Service.UPS: "may_use_ups",
}


class RemoteAE(models.Model):
    """A DICOM peer (a modality, a workstation) known by its AE title.

    The DICOM service accepts an association only from an enabled remote AE
    whose title is the calling AE title, and serves it only what its flags allow.
    """

    ae_title = ae_field(
        "AE title",
        unique=True,
        help_text="The calling AE title the peer presents. Leading and trailing spaces "
        "are not significant (PS3.5, AE) and are not stored.",
        error_messages={"unique": "A remote AE with this AE title is already registered."},
    )
    host = models.CharField(
        max_length=255,
        validators=[validate_host],
        help_text="Host name or IPv4/IPv6 address, for connections the RIS opens.",
    )
    port = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(PORT_MAX)],
        help_text="TCP port of the peer's DICOM service (104 or 11112 by custom).",
    )
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(
        default=True, help_text="Associations from a disabled AE are rejected."
    )
    may_query_worklist = models.BooleanField(
        "worklist", default=True, help_text="May query the Modality Worklist (C-FIND)."
    )
    may_report_mpps = models.BooleanField(
        "MPPS", default=True, help_text="May report performed steps (N-CREATE, N-SET)."
    )
    may_use_ups = models.BooleanField(
        "UPS", default=True, help_text="May use Unified Procedure Steps (UPS Pull, Watch)."
    )
    forward_mpps = models.BooleanField(
        "forward MPPS",
        default=False,
        help_text="Send this AE (a PACS, say) every MPPS N-CREATE and N-SET the RIS "
        "receives, in order, retried until delivered.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ae_title"]
        verbose_name = "remote AE"
        verbose_name_plural = "remote AEs"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(port__gte=1, port__lte=PORT_MAX),
                name="remote_ae_port_in_range",
            ),
        ]

    def __str__(self):
        return f"{self.ae_title} ({self.address})"

    def save(self, *args, **kwargs):
        self._normalize()
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None):
        # Strip first, so that " CT1 " is checked (length, uniqueness) as "CT1".
        self._normalize()
        super().clean_fields(exclude=exclude)

    @property
    def address(self) -> str:
        """host:port, with an IPv6 address in brackets as in a URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def services(self) -> list[Service]:
        """The services this AE's flags allow, whether or not it is enabled."""
        return [service for service, flag in SERVICE_FLAGS.items() if getattr(self, flag)]

    def may_use(self, service: Service | str) -> bool:
        """Whether this AE may use a service now: a disabled AE may use none."""
        return self.enabled and getattr(self, SERVICE_FLAGS[Service(service)])

    def _normalize(self) -> None:
        if isinstance(self.ae_title, str):
            self.ae_title = self.ae_title.strip()
        if isinstance(self.host, str):
            self.host = self.host.strip()
