"""Import Modality Worklist dataset files into the schedule: a one-command migration.

Sites with a file-based worklist (DCMTK wlmscpfs, Orthanc's worklist plugin)
keep one DICOM dataset per worklist item: the attributes of PS3.4 Table K.6-1,
with one Scheduled Procedure Step in Scheduled Procedure Step Sequence
(0040,0100). Each item becomes the Patient -> Order -> RequestedProcedure ->
ScheduledProcedureStep that the RIS books itself, through the services, so the
same validation applies.

What already exists is matched, not overwritten, so a second run imports
nothing. Each dataset is imported in its own transaction: one that is refused
leaves nothing behind, and the others go on.

The modules, outermost first:
- `files`: finding and reading files; `import_worklist_paths` walks files and folders;
- `load`: `import_worklist_dataset` writes one dataset through the services;
- `parse`: `parse_worklist_item`, a dataset as a `WorklistItem` (no database),
  with `times` (the step's start and duration) and `values` (typed values);
- `report`: what became of each file, and the report lines.
"""

from ris.scheduling.worklist_import.files import (
    import_worklist_file,
    import_worklist_paths,
    read_worklist_file,
    worklist_files,
)
from ris.scheduling.worklist_import.load import DEFAULT_DURATION, import_worklist_dataset
from ris.scheduling.worklist_import.parse import (
    LOCAL_CODE_MEANING,
    LOCAL_SCHEME,
    Code,
    WorklistItem,
    derived_study_uid,
    local_procedure_code,
    parse_worklist_item,
)
from ris.scheduling.worklist_import.report import (
    ImportOutcome,
    ImportReport,
    SkipDataset,
    Status,
)

__all__ = [
    "DEFAULT_DURATION",
    "LOCAL_CODE_MEANING",
    "LOCAL_SCHEME",
    "Code",
    "ImportOutcome",
    "ImportReport",
    "SkipDataset",
    "Status",
    "WorklistItem",
    "derived_study_uid",
    "import_worklist_dataset",
    "import_worklist_file",
    "import_worklist_paths",
    "local_procedure_code",
    "parse_worklist_item",
    "read_worklist_file",
    "worklist_files",
]
