"""Every status the RIS uses means in pynetdicom's tables what the RIS means by it."""

import pytest
from pynetdicom import status as tables

from ris.dicom import statuses

EXPECTED = [
    (statuses.SUCCESS, tables.GENERAL_STATUS, "Success"),
    (statuses.PENDING, tables.MODALITY_WORKLIST_SERVICE_CLASS_STATUS, "Pending"),
    (statuses.PENDING_UNSUPPORTED_KEYS, tables.MODALITY_WORKLIST_SERVICE_CLASS_STATUS, "Pending"),
    (statuses.CANCEL, tables.MODALITY_WORKLIST_SERVICE_CLASS_STATUS, "Cancel"),
    (statuses.IDENTIFIER_DOES_NOT_MATCH, tables.MODALITY_WORKLIST_SERVICE_CLASS_STATUS, "Failure"),
    (statuses.OUT_OF_RESOURCES, tables.MODALITY_WORKLIST_SERVICE_CLASS_STATUS, "Failure"),
    (statuses.SOP_CLASS_NOT_SUPPORTED, tables.MODALITY_WORKLIST_SERVICE_CLASS_STATUS, "Failure"),
    (statuses.INVALID_ATTRIBUTE_VALUE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.PROCESSING_FAILURE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.DUPLICATE_SOP_INSTANCE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.NO_SUCH_SOP_INSTANCE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.INVALID_SOP_INSTANCE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.MISSING_ATTRIBUTE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.MISSING_ATTRIBUTE_VALUE, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.NOT_AUTHORIZED, tables.PROCEDURE_STEP_STATUS, "Failure"),
    (statuses.DUPLICATE_INVOCATION, tables.GENERAL_STATUS, "Failure"),
    (statuses.RESOURCE_LIMITATION, tables.GENERAL_STATUS, "Failure"),
    *[
        (getattr(statuses, name), tables.UNIFIED_PROCEDURE_STEP_SERVICE_CLASS_STATUS, category)
        for name, category in [
            ("UPS_ALREADY_CANCELED", "Warning"),
            ("UPS_ALREADY_COMPLETED", "Warning"),
            ("UPS_MAY_NO_LONGER_BE_UPDATED", "Failure"),
            ("UPS_WRONG_TRANSACTION_UID", "Failure"),
            ("UPS_ALREADY_IN_PROGRESS", "Failure"),
            ("UPS_MAY_ONLY_BECOME_SCHEDULED_BY_N_CREATE", "Failure"),
            ("UPS_FINAL_STATE_REQUIREMENTS_NOT_MET", "Failure"),
            ("UPS_NO_SUCH_INSTANCE", "Failure"),
            ("UPS_NOT_IN_PROGRESS", "Failure"),
            ("UPS_ALREADY_COMPLETED_CANNOT_CANCEL", "Failure"),
            ("UPS_UNKNOWN_RECEIVING_AE", "Failure"),
            ("UPS_NOT_SCHEDULED", "Failure"),
            ("UPS_PERFORMER_CANNOT_BE_CONTACTED", "Failure"),
            ("UPS_ACTION_NOT_APPROPRIATE", "Failure"),
            ("NO_SUCH_ACTION", "Failure"),
            ("INVALID_ARGUMENT_VALUE", "Failure"),
        ]
    ],
]


@pytest.mark.parametrize(("code", "table", "category"), EXPECTED)
def test_each_status_has_the_category_pynetdicom_gives_it(code, table, category):
    assert table[code][0] == category


@pytest.mark.parametrize("code", [statuses.UNABLE_TO_PROCESS, statuses.FIND_NOT_AUTHORIZED])
def test_implementation_chosen_failures_are_in_the_cxxx_range(code):
    """PS3.4 K.4.1.1.4: 0xC000-0xCFFF is "unable to process", the SCP's to choose."""
    assert tables.code_to_category(code) == "Failure"
    assert 0xC000 <= code <= 0xCFFF
