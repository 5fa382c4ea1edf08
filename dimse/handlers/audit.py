"""The DICOM door's part of the audit trail: what the domain does not record.

A change made over DICOM is recorded by the domain service in the change's
own transaction (ris.audit.services.audit_record), as the calling AE's. What
changes nothing is recorded here, one row each, in batches (ris.audit.batches):

- every query (MWL and UPS C-FIND) and every UPS N-GET, with its outcome;
- every operation refused or failed, with its status;
- every association rejected, with the reason.

Patient data stays out of the rows beyond identifiers: a query's keys are
recorded by name, and by value only for those below.
"""

import time
from functools import lru_cache

from pydicom import Dataset

from ris.audit.context import Actor
from ris.audit.models import ActorKind
from ris.audit.services import audit_operation
from ris.dicom.statuses import SUCCESS, is_warning
from ris.dicom.wire import EncodedDataset, WireEncoding

# Query keys whose values are identifiers or scheduling facts, not a person's data.
RECORDED_VALUES = frozenset(
    {
        "AccessionNumber",
        "PatientID",
        "IssuerOfPatientID",
        "RequestedProcedureID",
        "StudyInstanceUID",
        "SOPInstanceUID",
        "ScheduledProcedureStepID",
        "ScheduledProcedureStepStatus",
        "ScheduledStationAETitle",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "ScheduledProcedureStepStartDateTime",
        "ScheduledProcedureStepModificationDateTime",
        "ExpectedCompletionDateTime",
        "Modality",
        "ProcedureStepState",
        "ScheduledProcedureStepPriority",
        "InputReadinessState",
        "CodeValue",
        "CodingSchemeDesignator",
    }
)


def actor(assoc) -> Actor:
    """The calling AE: its title (read from the request until the association
    is negotiated) and where it called from."""
    requestor = assoc.requestor
    request = requestor.primitive
    title = requestor.ae_title or (request.calling_ae_title if request else "")
    return Actor(kind=ActorKind.AE, name=title.strip(), address=requestor.address)


def outcome_of(status: int) -> str:
    if status == SUCCESS:
        return "success"
    return "warning" if is_warning(status) else "failure"


def record_find(event, label: str, status: int | None, matches: int, started: float) -> None:
    """One query: its keys, how many matched, its final status (None: the
    association ended before it)."""
    audit_operation(
        actor=actor(event.assoc),
        action=f"dicom.{label.lower()}.c-find",
        object_type="worklist" if label == "MWL" else "workitems",
        object_id=label,
        outcome="aborted" if status is None else outcome_of(status),
        detail={
            "status": "none" if status is None else f"0x{status:04X}",
            "matches": matches,
            "milliseconds": _since(started),
            **_query_keys(event),
        },
    )


def record_operation(
    event, operation: str, uid: str, status: int, comment: str, started: float
) -> None:
    """An N-service request that changed nothing: a read, a refusal, a failure."""
    detail = {"operation": operation, "status": f"0x{status:04X}", "milliseconds": _since(started)}
    if comment:
        detail["comment"] = comment
    audit_operation(
        actor=actor(event.assoc),
        action="dicom." + ".".join(operation.split()[:2]).lower(),
        object_type="ups" if operation.startswith("UPS") else "mpps",
        object_id=uid,
        outcome=outcome_of(status),
        detail=detail,
    )


def record_rejection(assoc, why: str) -> None:
    """An association turned away, and why."""
    audit_operation(
        actor=actor(assoc),
        action="dicom.association.reject",
        object_type="association",
        object_id=_called_ae_title(assoc),
        outcome="rejected",
        detail={"reason": why},
    )


def _called_ae_title(assoc) -> str:
    request = assoc.requestor.primitive
    return request.called_ae_title.strip() if request else ""


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _query_keys(event) -> dict:
    """{"keys": values of identifying keys, "other_keys": names of the rest}
    of the non-empty keys in the identifier (one level into sequences)."""
    try:
        identifier = EncodedDataset(
            event.request.Identifier.getvalue(), WireEncoding.of(event.context.transfer_syntax)
        )
        values, others = _keys_of(identifier)
    except Exception:  # a hostile identifier is recorded as such, not decoded
        return {"identifier": "could not be decoded"}
    return {"keys": dict(values), "other_keys": list(others)}


@lru_cache(maxsize=256)
def _keys_of(identifier: EncodedDataset) -> tuple[tuple, tuple]:
    """The identifying keys' values and the other keys' names, kept per
    identifier: a modality sends the same one all day, and decoding and
    walking it again was a fifth of a worklist query's CPU (0.6 of 3.3 ms,
    docs/benchmarks.md), spent before the final response."""
    values, others = {}, set()
    _collect(identifier.decoded(), values, others, depth=0)
    return tuple(values.items()), tuple(sorted(others))


def _collect(dataset: Dataset, values: dict, others: set, depth: int) -> None:
    for element in dataset:
        keyword = element.keyword or str(element.tag)
        if element.VR == "SQ":
            if depth == 0:
                for item in element.value:
                    _collect(item, values, others, depth + 1)
            continue
        if element.value in (None, "", b"") or keyword == "SpecificCharacterSet":
            continue  # a return key, not a matching key
        if keyword in RECORDED_VALUES:
            values[keyword] = str(element.value)[:64]
        else:
            others.add(keyword)
