"""The UPS state machine of PS3.4 Table CC.1.1-2, as data.

`change_state` answers a Change UPS State request (N-ACTION type 1) from the
workitem's current state and Transaction UIDs alone: the status to send, the
state it moves to, and whether the final-state requirements must be checked
first. It touches nothing; the UPS services apply what it says.
"""

from dataclasses import dataclass

from ris.dicom import statuses

SCHEDULED, IN_PROGRESS, COMPLETED, CANCELED = "SCHEDULED", "IN PROGRESS", "COMPLETED", "CANCELED"
STATES = (SCHEDULED, IN_PROGRESS, COMPLETED, CANCELED)
FINAL = (COMPLETED, CANCELED)
MISSING = None  # the workitem does not exist


@dataclass(frozen=True)
class Outcome:
    """What a Change State request comes to."""

    status: int
    new_state: str | None = None  # None: the state does not change
    check_final_state: bool = False  # COMPLETED and CANCELED have requirements (CC.2.5.1.3)
    record_transaction_uid: bool = False  # the claim: IN PROGRESS records the performer's UID


_MOVE_TO_IN_PROGRESS = Outcome(statuses.SUCCESS, new_state=IN_PROGRESS, record_transaction_uid=True)
_NO_SUCH = Outcome(statuses.UPS_NO_SUCH_INSTANCE)
_WRONG_UID = Outcome(statuses.UPS_WRONG_TRANSACTION_UID)
_FINAL = Outcome(statuses.UPS_MAY_NO_LONGER_BE_UPDATED)

# Table CC.1.1-2: (requested state, Transaction UID correct?) -> current state -> outcome.
TRANSITIONS: dict[tuple[str, bool], dict[str | None, Outcome]] = {
    (IN_PROGRESS, True): {
        MISSING: _NO_SUCH,
        SCHEDULED: _MOVE_TO_IN_PROGRESS,
        IN_PROGRESS: Outcome(statuses.UPS_ALREADY_IN_PROGRESS),
        COMPLETED: _FINAL,
        CANCELED: _FINAL,
    },
    (COMPLETED, True): {
        MISSING: _NO_SUCH,
        SCHEDULED: Outcome(statuses.UPS_NOT_IN_PROGRESS),
        IN_PROGRESS: Outcome(statuses.SUCCESS, new_state=COMPLETED, check_final_state=True),
        COMPLETED: Outcome(statuses.UPS_ALREADY_COMPLETED),
        CANCELED: _FINAL,
    },
    (CANCELED, True): {
        MISSING: _NO_SUCH,
        SCHEDULED: Outcome(statuses.UPS_NOT_IN_PROGRESS),
        IN_PROGRESS: Outcome(statuses.SUCCESS, new_state=CANCELED, check_final_state=True),
        COMPLETED: _FINAL,
        CANCELED: Outcome(statuses.UPS_ALREADY_CANCELED),
    },
}
for _requested in (IN_PROGRESS, COMPLETED, CANCELED):
    TRANSITIONS[(_requested, False)] = {MISSING: _NO_SUCH} | dict.fromkeys(STATES, _WRONG_UID)
TRANSITIONS[(SCHEDULED, True)] = TRANSITIONS[(SCHEDULED, False)] = {
    MISSING: _NO_SUCH
} | dict.fromkeys(STATES, Outcome(statuses.UPS_MAY_ONLY_BECOME_SCHEDULED_BY_N_CREATE))


def transaction_uid_is_correct(
    *, current: str | None, given: str | None, recorded: str | None
) -> bool:
    """CC.2.1.3: claiming a SCHEDULED workitem needs a UID (none is recorded
    yet); after that, only the performer's recorded UID is correct. Claiming
    one that is IN PROGRESS again with its own UID is "already in progress",
    with another UID "wrong Transaction UID"."""
    if not given:
        return False
    if current == SCHEDULED:
        return True
    return given == recorded


def change_state(
    *, current: str | None, requested: str, given_uid: str | None, recorded_uid: str | None
) -> Outcome:
    """The outcome of a Change UPS State request, per Table CC.1.1-2."""
    if requested not in STATES:
        return Outcome(statuses.INVALID_ARGUMENT_VALUE)  # PS3.7 10.1.4.1.10
    correct = transaction_uid_is_correct(current=current, given=given_uid, recorded=recorded_uid)
    return TRANSITIONS[(requested, correct)][current]
