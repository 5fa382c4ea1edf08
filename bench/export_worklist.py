"""Write the RIS's whole worklist as DCMTK wlmscpfs files, for the latency benchmark.

Run with the RIS's environment (DATABASE_URL, ...):

    python bench/export_worklist.py DBDIR AETITLE [--part I --parts N]

Each scheduled step on the worklist becomes DBDIR/AETITLE/<SPS ID>.wl, holding
the RIS's own C-FIND response to a query for every key it supports (every
top-level key and an empty Scheduled Procedure Step Sequence, which asks for
the whole item): the datasets a modality gets from the RIS, built by the code
behind ris.scheduling.worklist.worklist_find (WorklistRows and
WorklistResponder), without a network round trip per item.
DBDIR/AETITLE/lockfile is created, as wlmscpfs requires. With --parts N, this
process writes only the steps whose primary key is I modulo N, so that N
processes can share the work. Prints the number of files written and the
seconds it took.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from pydicom import Dataset, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian

PROJECT = Path(__file__).resolve().parent.parent
MWL_FIND = "1.2.840.10008.5.1.4.31"  # Modality Worklist Information Model - FIND


def full_identifier() -> Dataset:
    """Every top-level key the RIS supports, and the whole step item."""
    from ris.scheduling.worklist.keys import TOP_LEVEL_KEYS

    identifier = Dataset()
    for keyword in TOP_LEVEL_KEYS:
        setattr(identifier, keyword, [] if keyword.endswith("Sequence") else None)
    # A zero-length sequence: the RIS answers it with the whole item (C.2.2.2.6).
    identifier.ScheduledProcedureStepSequence = []
    return identifier


def responses(part: int, parts: int):
    """What worklist_find yields, for one share of the steps."""
    from django.db.models.functions import Mod

    from ris.scheduling.worklist import WorklistResponder, WorklistRows

    identifier = full_identifier()
    respond = WorklistResponder(identifier)
    rows = WorklistRows(identifier, respond.columns).queryset()
    if parts > 1:
        rows = rows.alias(export_part=Mod("pk", parts)).filter(export_part=part)
    for row in rows.iterator(chunk_size=500):
        response, known = respond(row)
        yield response.decoded(), known


def export(folder: Path, part: int = 0, parts: int = 1) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lockfile").touch()
    written = 0
    for response, _ in responses(part, parts):
        sps_id = response.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MWL_FIND
        meta.MediaStorageSOPInstanceUID = response.StudyInstanceUID
        meta.TransferSyntaxUID = ImplicitVRLittleEndian
        response.file_meta = meta
        response.preamble = b"\0" * 128
        dcmwrite(folder / f"{sps_id}.wl", response, enforce_file_format=True)
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dbdir", type=Path, help="wlmscpfs data files path (-dfp)")
    parser.add_argument("ae_title", help="the called AE title: the folder under DBDIR")
    parser.add_argument("--part", type=int, default=0, help="this process's share (0-based)")
    parser.add_argument("--parts", type=int, default=1, help="how many processes share the work")
    args = parser.parse_args()
    if not 0 <= args.part < args.parts:
        parser.error("--part must be between 0 and --parts - 1")
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ris.settings")
    import django

    django.setup()
    began = time.perf_counter()
    count = export(args.dbdir / args.ae_title, args.part, args.parts)
    print(f"{count} {time.perf_counter() - began:.1f}")


if __name__ == "__main__":
    main()
