"""UIDs the RIS makes (PS3.5 9): under the site's root, or pydicom's."""

from django.conf import settings
from pydicom.uid import PYDICOM_ROOT_UID, generate_uid


def uid_root() -> str:
    """The root configured in RIS_UID_ROOT, else pydicom's registered root."""
    return settings.RIS_UID_ROOT or PYDICOM_ROOT_UID


def new_uid() -> str:
    """A new globally unique UID: the root plus a number derived from a UUID4."""
    return str(generate_uid(prefix=uid_root()))
