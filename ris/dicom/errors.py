"""Domain errors that carry their DICOM status.

Services raise these; each door translates them: the DICOM service sends the
status with the comment, the REST door maps it to an HTTP status.
"""

from ris.dicom import statuses


class DicomError(Exception):
    """A refusal with its DIMSE status (PS3.7 Annex C) and a readable comment."""

    status = statuses.UNABLE_TO_PROCESS

    def __init__(
        self,
        comment: str,
        *,
        status: int | None = None,
        offending: tuple = (),
        error_id: int | None = None,
    ):
        super().__init__(comment)
        self.comment = comment
        if status is not None:
            self.status = status
        # Tags (ints) of the elements at fault: Offending Element (0000,0901) of
        # a C-FIND, Attribute Identifier List (0000,1005) of an N-service.
        self.offending = tuple(offending)
        # Error ID (0000,0903), where the standard defines one (e.g. 0xA710).
        self.error_id = error_id


class IdentifierError(DicomError):
    """A C-FIND identifier that does not fit the information model (PS3.4 C.4.1.1.4)."""

    status = statuses.IDENTIFIER_DOES_NOT_MATCH
