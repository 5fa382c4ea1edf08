"""The write path of scheduling: every door (admin, web UI, REST, DICOM, imports)
books and changes the schedule through these functions."""

from ris.scheduling.services.booking import (
    ProcedureRequest,
    StepRequest,
    check_station_free,
    order_create,
    order_create_once,
    requested_procedure_add,
    scheduled_step_add,
    scheduled_step_take_default_protocols,
)
from ris.scheduling.services.catalog import (
    procedure_code_create,
    protocol_code_create,
    station_create,
)
from ris.scheduling.services.changes import (
    ORDER_UPDATABLE_FIELDS,
    order_cancel,
    order_refresh_status,
    order_update,
    scheduled_step_cancel,
    scheduled_step_mark_arrived,
    scheduled_step_reschedule,
    scheduled_steps_set_status,
)
from ris.scheduling.services.common import (
    CALLED_OFF_STEP_STATUSES,
    FINAL_STEP_STATUSES,
    PENDING_STEP_STATUSES,
    SchedulingConflict,
    assign_fields,
    audit_steps,
    changed_fields,
    order_ref,
    patient_ref,
    step_ref,
    validated_save,
)
from ris.scheduling.services.patients import (
    PATIENT_UPDATABLE_FIELDS,
    patient_create,
    patient_merge,
    patient_update,
)

__all__ = [
    "CALLED_OFF_STEP_STATUSES",
    "FINAL_STEP_STATUSES",
    "ORDER_UPDATABLE_FIELDS",
    "PATIENT_UPDATABLE_FIELDS",
    "PENDING_STEP_STATUSES",
    "ProcedureRequest",
    "SchedulingConflict",
    "StepRequest",
    "assign_fields",
    "audit_steps",
    "changed_fields",
    "check_station_free",
    "order_cancel",
    "order_create",
    "order_create_once",
    "order_ref",
    "order_refresh_status",
    "order_update",
    "patient_create",
    "patient_merge",
    "patient_ref",
    "patient_update",
    "procedure_code_create",
    "protocol_code_create",
    "requested_procedure_add",
    "scheduled_step_add",
    "scheduled_step_cancel",
    "scheduled_step_mark_arrived",
    "scheduled_step_reschedule",
    "scheduled_step_take_default_protocols",
    "scheduled_steps_set_status",
    "station_create",
    "step_ref",
    "validated_save",
]
