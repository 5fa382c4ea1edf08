"""Finding and reading worklist files, and importing them one by one.

Sites with a file-based worklist (DCMTK wlmscpfs, Orthanc's worklist plugin)
keep one DICOM dataset per worklist item, in a file ending in .wl.
"""

import os
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path

from django.db import transaction
from pydicom import Dataset, dcmread
from pydicom.datadict import dictionary_has_tag

from ris.scheduling.worklist_import.load import import_worklist_dataset
from ris.scheduling.worklist_import.report import ImportOutcome, ImportReport, SkipDataset
from ris.scheduling.worklist_import.values import pydicom_warnings


def import_worklist_paths(
    paths: Iterable[str | Path], all_files: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import every worklist file found under the paths, each in its own transaction.

    A dry run imports inside one transaction that is rolled back at the end, so
    its report (counts, refusals) is what an import would do, and nothing stays.
    """
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic() if dry_run else nullcontext():
        for path in worklist_files(paths, all_files=all_files):
            report.outcomes.append((path, import_worklist_file(path)))
        if dry_run:
            transaction.set_rollback(True)
    return report


def worklist_files(paths: Iterable[str | Path], all_files: bool = False) -> Iterator[Path]:
    """The files to read: each path given, and in folders (recursively) the .wl files.

    wlmscpfs keeps a folder per called AE title, and Orthanc's worklist plugin one
    folder, both with one dataset per file ending in .wl; with `all_files`, every
    file in the folders is read. A path that does not exist is yielded as well,
    so that it is reported.
    """
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        for folder, subfolders, names in os.walk(path):
            subfolders.sort()
            for name in sorted(names):
                if all_files or name.lower().endswith(".wl"):
                    yield Path(folder) / name


def import_worklist_file(path: Path) -> ImportOutcome:
    """Read one file and import its dataset."""
    outcome = ImportOutcome()
    try:
        with pydicom_warnings(outcome.warnings):
            dataset = read_worklist_file(path)
    except SkipDataset as skip:
        return outcome.skip(str(skip))
    return import_worklist_dataset(dataset, outcome)


def read_worklist_file(path: Path) -> Dataset:
    """The dataset of a worklist file, with or without preamble and file meta.

    wlmscpfs's files are often written by dump2dcm without the 128-byte preamble
    and the File Meta Information (PS3.10 7.1), so the file is read with force.
    """
    if not path.exists():
        raise SkipDataset("no such file or directory")
    try:
        dataset = dcmread(path, force=True)
    except Exception as error:  # pydicom raises many kinds of errors on a damaged file
        raise SkipDataset(f"not a readable DICOM file ({error})") from error
    # Read with force, any bytes give some dataset: one without a single attribute
    # of the DICOM dictionary was not a DICOM file.
    # (keys(): iterating the dataset itself would decode every value.)
    if not any(dictionary_has_tag(tag) for tag in dataset.keys()):  # noqa: SIM118
        raise SkipDataset("not a DICOM file (empty, or no DICOM attribute in it)")
    return dataset
