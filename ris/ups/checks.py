"""Checks of UPS data sets against PS3.4 Table CC.2.5-3 (pure: data sets only).

Each check raises DicomError with the status PS3.7 and PS3.4 give and the
tags at fault.
"""

from pydicom import Dataset
from pydicom.datadict import tag_for_keyword

from ris.dicom import statuses
from ris.dicom.errors import DicomError
from ris.ups.states import CANCELED, COMPLETED, SCHEDULED

# N-CREATE "1/1": present with a value.
CREATE_REQUIRED = (
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "ScheduledProcedureStepStartDateTime",
    "InputReadinessState",
    "ProcedureStepState",
)
# N-CREATE "2/2": present, perhaps empty. A workitem without them is stored
# with them empty, as the table has every instance carry them.
CREATE_TYPE_2 = (
    "WorklistLabel",
    "ScheduledProcessingParametersSequence",
    "ScheduledStationNameCodeSequence",
    "ScheduledStationClassCodeSequence",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledWorkitemCodeSequence",
    "CommentsOnTheScheduledProcedureStep",
    "InputInformationSequence",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "OtherPatientIDsSequence",
    "PatientBirthDate",
    "PatientSex",
    "AdmissionID",
    "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "ReferencedRequestSequence",
    "ProcedureStepProgressInformationSequence",
    "UnifiedProcedureStepPerformedProcedureSequence",
)
# "2/2, shall be empty" at creation: the Transaction UID is the performer's
# to make at the claim; progress and performed information come later.
CREATE_EMPTY = (
    "TransactionUID",
    "ProcedureStepProgressInformationSequence",
    "UnifiedProcedureStepPerformedProcedureSequence",
)
# N-SET "Not allowed": the workitem's identity, its patient and request, and
# its state (which only N-ACTION Change State moves).
SET_NOT_ALLOWED = (
    "SOPClassUID",
    "SOPInstanceUID",
    "ProcedureStepState",
    "ScheduledProcedureStepModificationDateTime",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "PatientBirthDate",
    "PatientSex",
    "AdmissionID",
    "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "ReferencedRequestSequence",
    "ReplacedProcedureStepSequence",
)
# N-SET "3/1": may be changed, not emptied.
SET_NOT_EMPTY = (
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "WorklistLabel",
    "ScheduledProcedureStepStartDateTime",
    "ExpectedCompletionDateTime",
    "ScheduledWorkitemCodeSequence",
    "CommentsOnTheScheduledProcedureStep",
    "InputReadinessState",
)
ENUMERATED = {
    "ScheduledProcedureStepPriority": ("HIGH", "MEDIUM", "LOW"),
    "InputReadinessState": ("READY", "UNAVAILABLE", "INCOMPLETE"),
}
# Final state requirements (CC.2.5.1.3): "P" before COMPLETED, inside the
# Unified Procedure Step Performed Procedure Sequence item; "X" before
# CANCELED, inside the Procedure Step Progress Information Sequence item.
COMPLETED_NEEDS = (
    "PerformedStationNameCodeSequence",
    "PerformedProcedureStepStartDateTime",
    "PerformedWorkitemCodeSequence",
    "PerformedProcedureStepEndDateTime",
)
CANCELED_NEEDS = (
    "ProcedureStepCancellationDateTime",
    "ProcedureStepDiscontinuationReasonCodeSequence",
)


def is_empty(dataset: Dataset, keyword: str) -> bool:
    return keyword not in dataset or dataset[keyword].is_empty


def tags(keywords) -> tuple[int, ...]:
    return tuple(tag_for_keyword(keyword) for keyword in keywords)


def check_create(attributes: Dataset) -> None:
    """N-CREATE (CC.2.5.1): the 1/1 attributes valued, SCHEDULED, nothing that
    must start empty has a value, enumerated values known."""
    absent = [kw for kw in CREATE_REQUIRED if kw not in attributes]
    if absent:
        raise DicomError("missing", status=statuses.MISSING_ATTRIBUTE, offending=tags(absent))
    empty = [kw for kw in CREATE_REQUIRED if is_empty(attributes, kw)]
    if empty:
        raise DicomError("empty", status=statuses.MISSING_ATTRIBUTE_VALUE, offending=tags(empty))
    if attributes.ProcedureStepState != SCHEDULED:
        # Table CC.2.5-3: 1/1 and the value SCHEDULED; CC.2.5.1.3: else 0xC309.
        raise DicomError(
            "The state of a new UPS must be SCHEDULED",
            status=statuses.UPS_NOT_SCHEDULED,
            offending=tags(["ProcedureStepState"]),
        )
    valued = [kw for kw in CREATE_EMPTY if not is_empty(attributes, kw)]
    if valued:
        raise DicomError(
            "must be empty at creation",
            status=statuses.INVALID_ATTRIBUTE_VALUE,
            offending=tags(valued),
        )
    check_enumerated(attributes)
    check_items(attributes)


def check_set(modifications: Dataset) -> None:
    """N-SET (CC.2.6.1): only attributes the table allows, 3/1 ones not emptied."""
    not_allowed = [kw for kw in SET_NOT_ALLOWED if kw in modifications]
    if not_allowed:
        raise DicomError(
            "N-SET may not change these (PS3.4 Table CC.2.5-3)",
            status=statuses.INVALID_ATTRIBUTE_VALUE,
            offending=tags(not_allowed),
        )
    emptied = [kw for kw in SET_NOT_EMPTY if kw in modifications and is_empty(modifications, kw)]
    if emptied:
        raise DicomError(
            "may not be empty", status=statuses.MISSING_ATTRIBUTE_VALUE, offending=tags(emptied)
        )
    check_enumerated(modifications)
    check_items(modifications)


# "1/1" inside items, at N-CREATE and N-SET alike: sequence -> (path to the
# items, what each item must have with a value).
ITEM_REQUIRED = {
    "ScheduledHumanPerformersSequence": ((), ("HumanPerformerCodeSequence",)),
    "ProcedureStepProgressInformationSequence": (
        ("ProcedureStepCommunicationsURISequence",),
        ("ContactURI",),
    ),
}


def check_items(dataset: Dataset) -> None:
    """The values items must have (Table CC.2.5-3, e.g. a scheduled performer
    is named by a code); 0x0121 naming the sequence."""
    for sequence, (path, required) in ITEM_REQUIRED.items():
        for item in _items(dataset, (sequence, *path)):
            empty = [keyword for keyword in required if is_empty(item, keyword)]
            if empty:
                raise DicomError(
                    f"{sequence} item needs {', '.join(empty)}"[:64],
                    status=statuses.MISSING_ATTRIBUTE_VALUE,
                    offending=tags([sequence]),
                )


def _items(dataset: Dataset, path: tuple[str, ...]) -> list[Dataset]:
    items = list(dataset.get(path[0]) or [])
    if len(path) == 1:
        return items
    return [nested for item in items for nested in _items(item, path[1:])]


def check_enumerated(dataset: Dataset) -> None:
    for keyword, allowed in ENUMERATED.items():
        value = dataset.get(keyword)
        if value and value not in allowed:
            raise DicomError(
                f"{value!r} is not one of {', '.join(allowed)}",
                status=statuses.INVALID_ATTRIBUTE_VALUE,
                offending=tags([keyword]),
            )


def check_final_state(workitem: Dataset, state: str) -> None:
    """What a workitem must hold to become COMPLETED or CANCELED (CC.2.5.1.3);
    0xC304 naming what is missing. The "R" attributes are the SCP's own and
    always valued."""
    if state == COMPLETED:
        sequence, needed = "UnifiedProcedureStepPerformedProcedureSequence", COMPLETED_NEEDS
        also_present = ("OutputInformationSequence",)  # P, but it may be empty
    else:
        assert state == CANCELED
        sequence, needed = "ProcedureStepProgressInformationSequence", CANCELED_NEEDS
        also_present = ()
    item = first_item(workitem, sequence)
    if item is None:
        missing = [sequence]
    else:
        missing = [kw for kw in needed if is_empty(item, kw)]
        missing += [kw for kw in also_present if kw not in item]
    if missing:
        raise DicomError(
            f"{state} needs: {', '.join(missing)}"[:64],
            status=statuses.UPS_FINAL_STATE_REQUIREMENTS_NOT_MET,
            offending=tags(missing),
        )


def first_item(dataset: Dataset, keyword: str) -> Dataset | None:
    sequence = dataset.get(keyword)
    return sequence[0] if sequence else None
