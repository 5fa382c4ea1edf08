"""Writing one worklist item through the scheduling services, in its own transaction.

What already exists is matched, not overwritten: Patient ID within its issuer,
Accession Number within its issuer, Study Instance UID, and the SPS ID within
its requested procedure; a step that is found was imported before. One that
is refused leaves nothing behind.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, models, transaction
from pydicom import Dataset

from ris.scheduling.models import (
    Order,
    Patient,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
)
from ris.scheduling.services import (
    ProcedureRequest,
    StepRequest,
    order_create,
    patient_create,
    procedure_code_create,
    protocol_code_create,
    requested_procedure_add,
    scheduled_step_add,
    station_create,
)
from ris.scheduling.worklist_import.parse import (
    LOCAL_CODE_MEANING,
    Code,
    WorklistItem,
    parse_worklist_item,
)
from ris.scheduling.worklist_import.report import ImportOutcome, SkipDataset, Status
from ris.scheduling.worklist_import.values import pydicom_warnings

# The usual duration of a procedure code the import adds, when the file gives no end.
DEFAULT_DURATION = timedelta(minutes=15)

M = TypeVar("M", bound=models.Model)


def import_worklist_dataset(
    dataset: Dataset, outcome: ImportOutcome | None = None
) -> ImportOutcome:
    """Import one worklist item: all of it in one transaction, or nothing."""
    outcome = outcome or ImportOutcome()
    try:
        with pydicom_warnings(outcome.warnings):  # values are decoded as they are read
            item = parse_worklist_item(dataset, outcome.warnings)
        outcome.warnings[:] = list(dict.fromkeys(outcome.warnings))  # read twice, warned once
        with transaction.atomic():
            _import(item, outcome)
    except SkipDataset as skip:
        outcome.skip(str(skip))
    except ValidationError as error:
        outcome.skip(f"refused: {validation_messages(error)}")
    except DatabaseError as error:  # e.g. another process booked the same accession meanwhile
        outcome.skip(f"refused by the database: {error}")
    return outcome


def validation_messages(error: ValidationError) -> str:
    """A model's validation error on one line, each message after its field's name."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "; ".join(
        " ".join(messages) if name == NON_FIELD_ERRORS else f"{name}: {' '.join(messages)}"
        for name, messages in error.message_dict.items()
    )


def _import(item: WorklistItem, outcome: ImportOutcome) -> None:
    """Find or make each level, top down: patient, procedure (with its order), step."""
    patient = _patient(item, outcome)
    requested = (
        RequestedProcedure.objects.select_related("order__patient", "procedure_code")
        .filter(study_instance_uid=item.study_instance_uid)
        .first()
    )
    if requested is None:
        _book_procedure(patient, item, outcome)
    else:
        _add_step(requested, patient, item, outcome)


def _add_step(
    requested: RequestedProcedure, patient: Patient, item: WorklistItem, outcome: ImportOutcome
) -> None:
    """The step of a known procedure: found if imported before, else added to it."""
    _check_same_order(requested.order, patient, item)
    outcome.matched.update(["order", "procedure"])
    outcome.step = _existing_step(requested, item)
    if outcome.step is not None:
        outcome.status = Status.ALREADY_IMPORTED
        return
    outcome.step = scheduled_step_add(
        requested_procedure=requested, step=_step_request(item, outcome)
    )


def _book_procedure(patient: Patient, item: WorklistItem, outcome: ImportOutcome) -> None:
    """A new requested procedure with its step: in the order of its accession number,
    or in a new order."""
    order = _matching_order(patient, item)
    procedure = ProcedureRequest(
        procedure_code=_procedure_code(item, outcome),
        steps=[_step_request(item, outcome)],
        study_instance_uid=item.study_instance_uid,
        **item.procedure,
    )
    if order is None:
        requested = _order_create(patient, procedure, item)
        outcome.created["order"] += 1
    else:
        requested = requested_procedure_add(order=order, procedure=procedure)
        outcome.matched["order"] += 1
    outcome.created["procedure"] += 1
    outcome.study_uid_generated = item.study_uid_generated
    outcome.step = requested.scheduled_steps.get()


def _order_create(
    patient: Patient, procedure: ProcedureRequest, item: WorklistItem
) -> RequestedProcedure:
    """A new order of the file's accession number (none: the RIS assigns one)."""
    order = order_create(
        patient=patient,
        procedures=[procedure],
        accession_number=item.accession_number,
        issuer_of_accession_number=item.accession_issuer,
        **item.order,
    )
    return order.requested_procedures.get()


def _patient(item: WorklistItem, outcome: ImportOutcome) -> Patient:
    """The patient of that Patient ID and issuer, as registered; else a new one."""
    fields = item.patient
    patient = Patient.objects.filter(
        patient_id=fields["patient_id"], issuer_of_patient_id=fields["issuer_of_patient_id"]
    ).first()
    if patient is None:
        outcome.created["patient"] += 1
        return patient_create(**fields)
    outcome.matched["patient"] += 1
    if str(fields["name"]) and str(fields["name"]) != str(patient.name):
        outcome.warnings.append(
            f"patient {_patient_label(patient)} is registered as {str(patient.name)!r}; "
            f"the file's name {str(fields['name'])!r} was not applied"
        )
    return patient


def _patient_label(patient: Patient) -> str:
    issuer = f" (issuer {patient.issuer_of_patient_id})" if patient.issuer_of_patient_id else ""
    return f"{patient.patient_id}{issuer}"


def _matching_order(patient: Patient, item: WorklistItem) -> Order | None:
    """The order of the file's accession number; one of another patient is a conflict."""
    if not item.accession_number:
        return None  # the RIS assigns a new accession number
    order = (
        Order.objects.select_related("patient")
        .filter(
            accession_number=item.accession_number,
            issuer_of_accession_number=item.accession_issuer,
        )
        .first()
    )
    if order is not None and order.patient_id != patient.pk:
        raise SkipDataset(
            f"conflict: accession number {item.accession_number} (issuer "
            f"{item.accession_issuer}) is an order of patient {_patient_label(order.patient)}, "
            f"not of {_patient_label(patient)}"
        )
    return order


def _check_same_order(order: Order, patient: Patient, item: WorklistItem) -> None:
    """A known Study Instance UID must come with its patient and accession number."""
    uid = item.study_instance_uid
    if order.patient_id != patient.pk:
        raise SkipDataset(
            f"conflict: Study Instance UID {uid} is a procedure of patient "
            f"{_patient_label(order.patient)}, not of {_patient_label(patient)}"
        )
    if item.accession_number and (
        order.accession_number != item.accession_number
        or order.issuer_of_accession_number != item.accession_issuer
    ):
        raise SkipDataset(
            f"conflict: Study Instance UID {uid} is a procedure of accession number "
            f"{order.accession_number}, not of {item.accession_number}"
        )


def _existing_step(
    requested: RequestedProcedure, item: WorklistItem
) -> ScheduledProcedureStep | None:
    """The step imported from this item before: same SPS ID; without one, same start and AE."""
    steps = requested.scheduled_steps.all()
    if item.step["sps_id"]:
        return steps.filter(sps_id=item.step["sps_id"]).first()
    return steps.filter(start=item.start, scheduled_station_ae_title=item.station_ae_title).first()


def _step_request(item: WorklistItem, outcome: ImportOutcome) -> StepRequest:
    # A blank station name or location is the station's: the services fill it in
    # (ScheduledProcedureStep.fill_defaults), as when the RIS books.
    return StepRequest(
        start=item.start,
        station=_station(item, outcome),
        modality=item.modality,
        expected_duration=item.duration,
        scheduled_station_ae_title=item.station_ae_title,
        scheduled_station_name=item.station_name,
        location=item.location,
        protocol_codes=[_protocol_code(code, outcome) for code in item.protocol_codes],
        imported=True,
        **item.step,
    )


def _station(item: WorklistItem, outcome: ImportOutcome) -> Station | None:
    """The station of the Scheduled Station AE Title; one the RIS does not know is added."""
    if not item.station_ae_title:
        return None
    return _matched_or_created(
        outcome,
        "station",
        Station.objects.filter(ae_title=item.station_ae_title).first(),
        lambda: station_create(
            ae_title=item.station_ae_title,
            name=item.station_name or item.station_ae_title,
            modality=item.modality,
            location=item.location,
        ),
    )


def _procedure_code(item: WorklistItem, outcome: ImportOutcome) -> ProcedureCode:
    """The catalog's procedure code; a new one takes the step's modality and duration."""
    code = item.procedure_code
    return _matched_or_created(
        outcome,
        "procedure_code",
        ProcedureCode.objects.filter(**_code_key(code)).first(),
        lambda: procedure_code_create(
            **_code_key(code),
            coding_scheme_version=code.version,
            code_meaning=code.meaning or item.procedure["description"] or LOCAL_CODE_MEANING,
            default_modality=item.modality,
            default_duration=item.duration or DEFAULT_DURATION,
        ),
    )


def _protocol_code(code: Code, outcome: ImportOutcome) -> ProtocolCode:
    return _matched_or_created(
        outcome,
        "protocol_code",
        ProtocolCode.objects.filter(**_code_key(code)).first(),
        lambda: protocol_code_create(
            **_code_key(code),
            coding_scheme_version=code.version,
            code_meaning=code.meaning or code.value,
        ),
    )


def _code_key(code: Code) -> dict[str, str]:
    """A catalog code is named by Code Value and Coding Scheme Designator (PS3.3 8.1, 8.2)."""
    return {"code_value": code.value, "coding_scheme_designator": code.scheme}


def _matched_or_created(
    outcome: ImportOutcome, level: str, found: M | None, create: Callable[[], M]
) -> M:
    """The record found, else a new one; either way counted at its level for the report."""
    if found is not None:
        outcome.matched[level] += 1
        return found
    outcome.created[level] += 1
    return create()
