"""The UPS state machine, tested from PS3.4 Table CC.1.1-2 as written in the standard."""

import pytest

from ris.dicom import statuses
from ris.ups.states import (
    CANCELED,
    COMPLETED,
    IN_PROGRESS,
    MISSING,
    SCHEDULED,
    TRANSITIONS,
    change_state,
)

RECORDED = "1.2.3.4"
OTHER = "1.2.3.5"

# (requested state, Transaction UID sent, current state) -> (status, new state),
# transcribed from the table rather than from the code.
EXPECTED = {
    (IN_PROGRESS, RECORDED, MISSING): (0xC307, None),
    (IN_PROGRESS, RECORDED, SCHEDULED): (0x0000, IN_PROGRESS),
    (IN_PROGRESS, RECORDED, IN_PROGRESS): (0xC302, None),
    (IN_PROGRESS, OTHER, IN_PROGRESS): (0xC301, None),
    (IN_PROGRESS, None, SCHEDULED): (0xC301, None),
    (IN_PROGRESS, RECORDED, COMPLETED): (0xC300, None),
    (IN_PROGRESS, RECORDED, CANCELED): (0xC300, None),
    (SCHEDULED, RECORDED, SCHEDULED): (0xC303, None),
    (SCHEDULED, RECORDED, IN_PROGRESS): (0xC303, None),
    (COMPLETED, RECORDED, SCHEDULED): (0xC310, None),
    (COMPLETED, RECORDED, IN_PROGRESS): (0x0000, COMPLETED),
    (COMPLETED, OTHER, IN_PROGRESS): (0xC301, None),
    (COMPLETED, None, IN_PROGRESS): (0xC301, None),
    (COMPLETED, RECORDED, COMPLETED): (0xB306, None),
    (COMPLETED, OTHER, COMPLETED): (0xC301, None),
    (COMPLETED, RECORDED, CANCELED): (0xC300, None),
    (CANCELED, RECORDED, SCHEDULED): (0xC310, None),
    (CANCELED, RECORDED, IN_PROGRESS): (0x0000, CANCELED),
    (CANCELED, RECORDED, COMPLETED): (0xC300, None),
    (CANCELED, RECORDED, CANCELED): (0xB304, None),
    (CANCELED, OTHER, CANCELED): (0xC301, None),
    (CANCELED, RECORDED, MISSING): (0xC307, None),
}


@pytest.mark.parametrize(("requested", "given", "current"), list(EXPECTED))
def test_change_state_follows_table_cc_1_1_2(requested, given, current):
    recorded = RECORDED if current in (IN_PROGRESS, COMPLETED, CANCELED) else None
    outcome = change_state(
        current=current, requested=requested, given_uid=given, recorded_uid=recorded
    )
    assert (outcome.status, outcome.new_state) == EXPECTED[(requested, given, current)]


@pytest.mark.parametrize(
    ("key", "current"), [(k, c) for k, row in TRANSITIONS.items() for c in row]
)
def test_every_cell_of_the_table_has_a_status_the_standard_defines(key, current):
    """No cell is left to chance: each gives success or a CC.2 status."""
    status = TRANSITIONS[key][current].status
    ups_statuses = {value for name, value in vars(statuses).items() if name.startswith("UPS_")}
    assert status == statuses.SUCCESS or status in ups_statuses


def test_only_a_claim_records_the_transaction_uid_and_only_final_states_are_checked():
    claim = change_state(
        current=SCHEDULED, requested=IN_PROGRESS, given_uid=OTHER, recorded_uid=None
    )
    assert claim.record_transaction_uid
    assert not claim.check_final_state
    done = change_state(
        current=IN_PROGRESS, requested=COMPLETED, given_uid=RECORDED, recorded_uid=RECORDED
    )
    assert done.check_final_state
    assert not done.record_transaction_uid


def test_an_unknown_state_is_an_invalid_value():
    outcome = change_state(current=SCHEDULED, requested="DONE", given_uid=OTHER, recorded_uid=None)
    assert outcome.status == statuses.INVALID_ARGUMENT_VALUE
