"""The MPPS attribute rules of PS3.4 Table F.7.2-1, as data.

For each attribute: its requirement at N-CREATE (1: present with a value,
2: present, may be empty, 3: optional), whether an N-SET may change it and
whether it may then be empty, and whether it must have a value when the step
becomes COMPLETED or DISCONTINUED. Attributes not listed are "all other
attributes of the module" (3/3, settable): kept, never refused.
"""

from dataclasses import dataclass

IN_PROGRESS, COMPLETED, DISCONTINUED = "IN PROGRESS", "COMPLETED", "DISCONTINUED"
STATUSES = (IN_PROGRESS, COMPLETED, DISCONTINUED)
FINAL = (COMPLETED, DISCONTINUED)


@dataclass(frozen=True)
class Rule:
    create: str  # "1", "2" or "3": the SCU requirement at N-CREATE
    settable: bool = False  # N-SET may carry it ("Not allowed" otherwise)
    set_may_be_empty: bool = True  # False for 3/1: N-SET may not send it empty
    final: bool = False  # needs a value at COMPLETED and DISCONTINUED


NOT_SETTABLE_1 = Rule("1")
NOT_SETTABLE_2 = Rule("2")
NOT_SETTABLE_3 = Rule("3")

# Top level of the N-CREATE Attribute List / N-SET Modification List.
TOP_LEVEL = {
    # Performed Procedure Step Relationship
    "ScheduledStepAttributesSequence": NOT_SETTABLE_1,
    "PatientName": NOT_SETTABLE_2,
    "PatientID": NOT_SETTABLE_2,
    "IssuerOfPatientID": NOT_SETTABLE_3,
    "IssuerOfPatientIDQualifiersSequence": NOT_SETTABLE_3,
    "OtherPatientIDsSequence": NOT_SETTABLE_3,
    "PatientBirthDate": NOT_SETTABLE_2,
    "PatientSex": NOT_SETTABLE_2,
    "ReferencedPatientSequence": NOT_SETTABLE_2,
    "AdmissionID": NOT_SETTABLE_3,
    "IssuerOfAdmissionIDSequence": NOT_SETTABLE_3,
    "ServiceEpisodeID": NOT_SETTABLE_3,
    "ServiceEpisodeDescription": NOT_SETTABLE_3,
    "IssuerOfServiceEpisodeIDSequence": NOT_SETTABLE_3,
    # Performed Procedure Step Information
    "PerformedProcedureStepID": NOT_SETTABLE_1,
    "PerformedStationAETitle": NOT_SETTABLE_1,
    "PerformedStationName": NOT_SETTABLE_2,
    "PerformedLocation": NOT_SETTABLE_2,
    "PerformedProcedureStepStartDate": NOT_SETTABLE_1,
    "PerformedProcedureStepStartTime": NOT_SETTABLE_1,
    "PerformedProcedureStepStatus": Rule("1", settable=True, set_may_be_empty=False),
    "PerformedProcedureStepDescription": Rule("2", settable=True),
    "PerformedProcedureTypeDescription": Rule("2", settable=True),
    "ProcedureCodeSequence": Rule("2", settable=True),
    "ReasonForPerformedProcedureCodeSequence": Rule("3", settable=True),
    "PerformedProcedureStepEndDate": Rule("2", True, set_may_be_empty=False, final=True),
    "PerformedProcedureStepEndTime": Rule("2", True, set_may_be_empty=False, final=True),
    "CommentsOnThePerformedProcedureStep": Rule("3", settable=True),
    "PerformedProcedureStepDiscontinuationReasonCodeSequence": Rule("3", settable=True),
    # Image Acquisition Results
    "Modality": NOT_SETTABLE_1,
    "StudyID": NOT_SETTABLE_2,
    "PerformedProtocolCodeSequence": Rule("2", settable=True),
    "PerformedSeriesSequence": Rule("2", True, set_may_be_empty=False),
}

# Items of Scheduled Step Attributes Sequence (0040,0270).
SCHEDULED_STEP_ITEM = {
    "StudyInstanceUID": "1",
    "ReferencedStudySequence": "2",
    "AccessionNumber": "2",
    "RequestedProcedureID": "2",
    "RequestedProcedureDescription": "2",
    "ScheduledProcedureStepID": "2",
    "ScheduledProcedureStepDescription": "2",
    "ScheduledProtocolCodeSequence": "2",
}

# Items of Performed Series Sequence (0040,0340), at N-CREATE and N-SET alike.
PERFORMED_SERIES_ITEM = {
    "PerformingPhysicianName": "2",
    "ProtocolName": "1",
    "OperatorsName": "2",
    "SeriesInstanceUID": "1",
    "SeriesDescription": "2",
    "RetrieveAETitle": "2",
    "ReferencedImageSequence": "2",
    "ReferencedNonImageCompositeSOPInstanceSequence": "2",
}

# What a final state needs beyond the `final` rules (F.7.2.2.2): a completed
# step lists the series it made; a discontinued one says why. PS3.4 makes the
# reason 3/3; the RIS requires it at DISCONTINUED (IHE SWF asks for it) unless
# RIS_MPPS_REQUIRE_DISCONTINUATION_REASON is off, for modalities that never
# send one.
COMPLETED_NEEDS_ITEMS = "PerformedSeriesSequence"
DISCONTINUED_NEEDS_ITEMS = "PerformedProcedureStepDiscontinuationReasonCodeSequence"
