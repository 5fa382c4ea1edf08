"""What became of each worklist file, and the report an operator reads."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ris.scheduling.models import ScheduledProcedureStep


class Status(StrEnum):
    IMPORTED = "imported"
    ALREADY_IMPORTED = "already imported"
    SKIPPED = "skipped"


class SkipDataset(Exception):
    """A dataset that cannot be imported; the message says why."""


# What is counted as created or matched, and how the report names it.
LEVELS = {
    "patient": "Patients",
    "order": "Orders",
    "procedure": "Requested procedures",
    "station": "Stations",
    "procedure_code": "Procedure codes",
    "protocol_code": "Protocol codes",
}


@dataclass
class ImportOutcome:
    """What became of one worklist dataset."""

    status: Status = Status.IMPORTED
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    created: Counter = field(default_factory=Counter)
    matched: Counter = field(default_factory=Counter)
    study_uid_generated: bool = False
    # The step imported or found; after a dry run it is no longer in the database.
    step: ScheduledProcedureStep | None = None

    def skip(self, reason: str) -> "ImportOutcome":
        """Nothing of a skipped dataset was written: forget what was counted."""
        self.status, self.reason = Status.SKIPPED, reason
        self.created.clear()
        self.matched.clear()
        self.study_uid_generated = False
        self.step = None
        return self


# One outcome's messages for a per-file section of the report.
Messages = Callable[[ImportOutcome], list[str]]


@dataclass
class ImportReport:
    """What became of every file of one import run."""

    dry_run: bool = False
    outcomes: list[tuple[Path, ImportOutcome]] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(outcome.status == status for _, outcome in self.outcomes)

    def created(self, level: str) -> int:
        return sum(outcome.created[level] for _, outcome in self.outcomes)

    def matched(self, level: str) -> int:
        return sum(outcome.matched[level] for _, outcome in self.outcomes)

    @property
    def skipped(self) -> list[tuple[Path, ImportOutcome]]:
        return [
            (path, outcome) for path, outcome in self.outcomes if outcome.status == Status.SKIPPED
        ]

    @property
    def failed(self) -> bool:
        """Whether a file could not be imported ("already imported" is no failure)."""
        return bool(self.skipped)

    def lines(self, verbose: bool = False) -> list[str]:
        """The report as an operator reads it: counts, then one line per skipped file."""
        lines = ["Dry run: nothing was written."] if self.dry_run else []
        lines += self._count_lines()
        lines += self._per_file("Skipped", _skip_reason)
        lines += self._per_file("Warnings", _new_warnings)
        if verbose:
            lines += self._per_file("Imported", _imported_step)
            lines += self._per_file("Already imported", _already_imported_step)
        return lines

    def _count_lines(self) -> list[str]:
        lines = [
            f"Files read: {len(self.outcomes)}",
            f"Steps imported: {self.count(Status.IMPORTED)}, "
            f"already present: {self.count(Status.ALREADY_IMPORTED)}, "
            f"skipped: {self.count(Status.SKIPPED)}",
        ]
        for level, title in LEVELS.items():
            lines.append(f"{title}: {self.created(level)} created, {self.matched(level)} matched")
        generated = sum(outcome.study_uid_generated for _, outcome in self.outcomes)
        if generated:
            lines.append(f"Study Instance UIDs generated (none in the file): {generated}")
        return lines

    def _per_file(self, title: str, messages: Messages) -> list[str]:
        lines = [
            f"  {path}: {message}"
            for path, outcome in self.outcomes
            for message in messages(outcome)
        ]
        return [f"{title}:", *lines] if lines else []


def _skip_reason(outcome: ImportOutcome) -> list[str]:
    return [outcome.reason] if outcome.reason else []


def _new_warnings(outcome: ImportOutcome) -> list[str]:
    # A file imported before was reported then: its warnings would only repeat.
    return outcome.warnings if outcome.status != Status.ALREADY_IMPORTED else []


def _imported_step(outcome: ImportOutcome) -> list[str]:
    return _step_line(outcome) if outcome.status == Status.IMPORTED else []


def _already_imported_step(outcome: ImportOutcome) -> list[str]:
    return _step_line(outcome) if outcome.status == Status.ALREADY_IMPORTED else []


def _step_line(outcome: ImportOutcome) -> list[str]:
    step = outcome.step
    if step is None:
        return []
    return [f"SPS ID {step.sps_id} at {step.scheduled_station_ae_title}, {step.start.isoformat()}"]
