"""The MPPS rules of PS3.4 Table F.7.2-1, tested from the table itself (no database)."""

import pytest
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword

from ris.dicom.errors import DicomError
from ris.mpps import checks, rules
from tests.test_dimse_mpps import completed, in_progress

REQUIRED_AT_CREATE = [kw for kw, rule in rules.TOP_LEVEL.items() if rule.create in "12"]
VALUE_AT_CREATE = [kw for kw, rule in rules.TOP_LEVEL.items() if rule.create == "1"]
NOT_SETTABLE = [kw for kw, rule in rules.TOP_LEVEL.items() if not rule.settable]
NOT_EMPTY_AT_SET = [
    kw for kw, rule in rules.TOP_LEVEL.items() if rule.settable and not rule.set_may_be_empty
]


def refusal(check, dataset: Dataset) -> DicomError:
    with pytest.raises(DicomError) as error:
        check(dataset)
    return error.value


def test_a_complete_n_create_passes():
    checks.check_create(in_progress())


@pytest.mark.parametrize("keyword", REQUIRED_AT_CREATE)
def test_each_required_attribute_missing_at_n_create_gives_0120(keyword):
    attributes = in_progress()
    delattr(attributes, keyword)
    error = refusal(checks.check_create, attributes)
    assert error.status == 0x0120
    assert tag_for_keyword(keyword) in error.offending


@pytest.mark.parametrize("keyword", [kw for kw in VALUE_AT_CREATE if "Sequence" not in kw])
def test_each_type_1_attribute_empty_at_n_create_gives_0121(keyword):
    attributes = in_progress()
    setattr(attributes, keyword, "")
    error = refusal(checks.check_create, attributes)
    assert error.status == 0x0121
    assert tag_for_keyword(keyword) in error.offending


@pytest.mark.parametrize("keyword", NOT_SETTABLE)
def test_each_attribute_the_table_fixes_is_refused_in_n_set(keyword):
    modifications = Dataset()
    modifications.add_new(tag_for_keyword(keyword), dictionary_VR(keyword), None)
    error = refusal(checks.check_set, modifications)
    assert error.status == 0x0106
    assert error.offending == (tag_for_keyword(keyword),)


@pytest.mark.parametrize("keyword", NOT_EMPTY_AT_SET)
def test_each_3_1_attribute_may_not_be_emptied_by_n_set(keyword):
    modifications = Dataset()
    setattr(modifications, keyword, [] if "Sequence" in keyword else "")
    assert refusal(checks.check_set, modifications).status == 0x0121


@pytest.mark.parametrize("keyword", [kw for kw, rule in rules.TOP_LEVEL.items() if rule.final])
def test_each_final_attribute_is_needed_at_completed(keyword):
    merged = in_progress()
    for element in completed():
        merged[element.tag] = element
    checks.check_final(merged, rules.COMPLETED)
    setattr(merged, keyword, "")
    assert refusal(lambda ds: checks.check_final(ds, rules.COMPLETED), merged).status == 0x0121


def test_a_series_item_without_its_type_1_attributes_is_refused():
    modifications = completed()
    modifications.PerformedSeriesSequence[0].SeriesInstanceUID = ""
    error = refusal(checks.check_set, modifications)
    assert error.status == 0x0121
    assert tag_for_keyword("SeriesInstanceUID") in error.offending
