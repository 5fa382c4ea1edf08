"""Value representation validators (PS3.5 6.2)."""

import pytest
from django.core.exceptions import ValidationError

from ris.dicom import vr


@pytest.mark.parametrize("value", ["RIS", "CT_ROOM_1", "A" * 16])
def test_valid_ae_titles_pass(value):
    vr.validate_ae_title(value)


@pytest.mark.parametrize("value", ["   ", "A" * 17, "CT\\1", "CT\n1"])
def test_invalid_ae_titles_are_refused(value):
    with pytest.raises(ValidationError):
        vr.validate_ae_title(value)


@pytest.mark.parametrize("value", ["1.2.840.10008.1.1", "2.25.1234"])
def test_valid_uids_pass(value):
    vr.validate_uid(value)


@pytest.mark.parametrize("value", ["1.02.3", "1..2", "1.2.", "abc", "1." + "2" * 70])
def test_invalid_uids_are_refused(value):
    with pytest.raises(ValidationError):
        vr.validate_uid(value)


@pytest.mark.parametrize(("value", "valid"), [("CT", True), ("IN PROGRESS", True), ("ct", False)])
def test_code_strings_are_upper_case(value, valid):
    if valid:
        vr.validate_code_string(value)
    else:
        with pytest.raises(ValidationError):
            vr.validate_code_string(value)
