from django.core.management.base import BaseCommand, CommandError

from ris.scheduling.worklist_import import import_worklist_paths


class Command(BaseCommand):
    help = (
        "Import DICOM Modality Worklist files (DCMTK wlmscpfs, Orthanc's worklist plugin) "
        "into the schedule. PATHs are files or folders; in folders (walked recursively) the "
        "files ending in .wl are read. What exists already is matched, not changed, and a "
        "second run imports nothing. Exits with status 1 if a file could not be imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="A worklist file or folder.")
        parser.add_argument(
            "--all-files",
            action="store_true",
            help="In folders, read every file, not only those ending in .wl.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check and report what an import would do, and write nothing.",
        )

    def handle(self, *args, paths, all_files, dry_run, verbosity, **options):
        report = import_worklist_paths(paths, all_files=all_files, dry_run=dry_run)
        if verbosity > 0:
            for line in report.lines(verbose=verbosity > 1):
                self.stdout.write(line)
        if report.failed:
            count = len(report.skipped)
            raise CommandError(f"{count} file(s) could not be imported: see Skipped above.")
