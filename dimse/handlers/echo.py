from ris.dicom.statuses import SUCCESS


def handle_echo(event) -> int:
    """Verification (C-ECHO, PS3.4 A.4): the service is up."""
    return SUCCESS
