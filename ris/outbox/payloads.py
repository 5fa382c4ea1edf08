"""The payload of a DICOM message, made in one place for every producer.

`dimse.dispatch.deliver_dicom` reads it: the DIMSE operation, its SOP class
and instance, and the data set (the N-CREATE Attribute List or the N-SET
Modification List) as DICOM JSON (PS3.18 Annex F), which a JSONField holds
as it is.
"""

from pydicom import Dataset

N_CREATE = "N-CREATE"
N_SET = "N-SET"
DIMSE_OPERATIONS = (N_CREATE, N_SET)


def dicom_payload(
    *, operation: str, sop_class_uid: str, sop_instance_uid: str, dataset: Dataset
) -> dict:
    """The payload of a DICOM channel message for `outbox_enqueue`."""
    if operation not in DIMSE_OPERATIONS:
        raise ValueError(f"Unknown DIMSE operation {operation!r}; one of {DIMSE_OPERATIONS}.")
    return {
        "operation": operation,
        "sop_class_uid": str(sop_class_uid),
        "sop_instance_uid": str(sop_instance_uid),
        "dataset": dataset.to_json_dict(),
    }
