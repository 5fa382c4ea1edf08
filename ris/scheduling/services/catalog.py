"""Reference data: stations, procedure and protocol codes."""

from ris.scheduling.models import (
    ProcedureCode,
    ProtocolCode,
    Station,
)
from ris.scheduling.services.common import (
    validated_save,
)


def station_create(**fields) -> Station:
    """Add a station (a modality's AE title, name and room) to the catalog."""
    return validated_save(Station(**fields))


def procedure_code_create(**fields) -> ProcedureCode:
    """Add a bookable procedure code to the catalog."""
    return validated_save(ProcedureCode(**fields))


def protocol_code_create(**fields) -> ProtocolCode:
    """Add a protocol code (Scheduled Protocol Code Sequence item) to the catalog."""
    return validated_save(ProtocolCode(**fields))
