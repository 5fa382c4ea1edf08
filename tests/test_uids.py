"""UIDs the RIS makes are valid DICOM UIDs under the configured root (PS3.5 9)."""

import pytest
from pydicom.uid import PYDICOM_ROOT_UID, UID

from ris.dicom.uids import new_uid
from tests.factories import RequestedProcedureFactory


def test_new_uids_are_valid_and_unique():
    uids = {new_uid() for _ in range(1000)}
    assert len(uids) == 1000
    assert all(UID(uid).is_valid for uid in uids)


def test_default_root_is_pydicoms(settings):
    settings.RIS_UID_ROOT = ""
    assert new_uid().startswith(PYDICOM_ROOT_UID)


def test_site_root_is_used_when_configured(settings):
    settings.RIS_UID_ROOT = "1.2.3.4.5."
    uid = new_uid()
    assert uid.startswith("1.2.3.4.5.")
    assert UID(uid).is_valid


@pytest.mark.django_db
def test_requested_procedure_gets_a_study_instance_uid_when_created():
    """Each requested procedure has its own valid Study Instance UID from the start."""
    first, second = RequestedProcedureFactory(), RequestedProcedureFactory()
    assert UID(first.study_instance_uid).is_valid
    assert UID(second.study_instance_uid).is_valid
    assert first.study_instance_uid != second.study_instance_uid
