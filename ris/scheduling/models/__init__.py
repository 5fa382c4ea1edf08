"""What a radiology department schedules (PS3.3 / PS3.4 Annex K information model).

Patient -> Order (imaging service request, accession number) -> RequestedProcedure
(Study Instance UID) -> ScheduledProcedureStep (one Modality Worklist item),
with the reference data they draw on: ProcedureCode, ProtocolCode, Station.
"""

from ris.scheduling.models.catalog import (
    Modality,
    ProcedureCode,
    ProtocolCode,
    Station,
)
from ris.scheduling.models.identifiers import IdentifierSequence
from ris.scheduling.models.orders import (
    Order,
    OrderStatus,
    Priority,
    RequestedProcedure,
    ScheduledProcedureStep,
    StepStatus,
)
from ris.scheduling.models.patients import OtherPatientID, Patient, PregnancyStatus, Sex

__all__ = [
    "IdentifierSequence",
    "Modality",
    "Order",
    "OrderStatus",
    "OtherPatientID",
    "Patient",
    "PregnancyStatus",
    "Priority",
    "ProcedureCode",
    "ProtocolCode",
    "RequestedProcedure",
    "ScheduledProcedureStep",
    "Sex",
    "Station",
    "StepStatus",
]
