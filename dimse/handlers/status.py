"""A refused request's status data set, built from the domain's DicomError."""

from pydicom import Dataset

from ris.dicom.errors import DicomError


def failure_status(error: DicomError, *, elements_field: str | None = None) -> Dataset:
    """Status, Error Comment (LO: 64 characters) and Error ID, and the elements at
    fault in the field the response has for them (PS3.7 Annex C): Offending
    Element (0000,0901) for C-FIND, Attribute Identifier List (0000,1005) for
    N-SET. The comment names them too, for responses without such a field
    (N-CREATE) and for the people who read logs."""
    dataset = Dataset()
    dataset.Status = error.status
    tags = " ".join(f"({tag >> 16:04X},{tag & 0xFFFF:04X})" for tag in error.offending)
    dataset.ErrorComment = (f"{tags}: {error.comment}" if tags else error.comment)[:64]
    if error.error_id is not None:
        dataset.ErrorID = error.error_id
    if elements_field and error.offending:
        setattr(dataset, elements_field, list(error.offending))
    return dataset
