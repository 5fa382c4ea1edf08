from django.db import models, transaction


class IdentifierSequence(models.Model):
    """A counter from which the RIS draws the identifiers it assigns.

    Accession numbers, Requested Procedure IDs and SPS IDs must never repeat,
    whichever process (web, DICOM service, a seed run) makes them.
    """

    name = models.CharField(max_length=32, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "identifier sequence"

    def __str__(self):
        return f"{self.name}: {self.last_value}"

    @classmethod
    def take(cls, name: str, count: int = 1) -> range:
        """Reserve the next `count` values of the named sequence."""
        with transaction.atomic():
            cls.objects.get_or_create(name=name)
            # Lock the counter row so that two processes never draw the same block.
            sequence = cls.objects.select_for_update().get(name=name)
            first = sequence.last_value + 1
            sequence.last_value += count
            sequence.save(update_fields=["last_value"])
        return range(first, first + count)


# Prefixes of the identifiers the RIS makes; the number follows, zero-padded.
# SH values (PS3.5) hold 16 characters: a prefix of up to 7 leaves room for
# a billion numbers.
IDENTIFIER_PREFIXES = {
    "patient": "PID",
    "requested_procedure": "RP",
    "scheduled_step": "SPS",
}


def identifier_prefix(kind: str) -> str:
    if kind == "accession":
        from django.conf import settings

        return settings.RIS_ACCESSION_PREFIX
    return IDENTIFIER_PREFIXES[kind]


def next_identifiers(kind: str, count: int = 1) -> list[str]:
    """The next `count` identifiers of a kind: accession, requested_procedure, scheduled_step."""
    prefix = identifier_prefix(kind)
    return [f"{prefix}{number:08d}" for number in IdentifierSequence.take(kind, count)]
