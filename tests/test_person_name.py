"""Person names keep their components (PS3.5 6.2.1), without and with a database."""

import pytest
from django.core.exceptions import ValidationError

from ris.dicom.person_name import PersonName
from ris.dicom.vr import validate_person_name
from ris.scheduling.models import Patient
from tests.factories import PatientFactory


@pytest.mark.parametrize(
    ("value", "family", "given", "middle", "prefix", "suffix"),
    [
        ("Müller^Jürgen", "Müller", "Jürgen", "", "", ""),
        ("Adams^John^Robert^Rev.^B.A. M.Div.", "Adams", "John", "Robert", "Rev.", "B.A. M.Div."),
        ("Weber^^^Dr.", "Weber", "", "", "Dr.", ""),
        ("Smith", "Smith", "", "", "", ""),
        ("", "", "", "", "", ""),
    ],
)
def test_parse_splits_the_five_components(value, family, given, middle, prefix, suffix):
    """family^given^middle^prefix^suffix land in their own components."""
    name = PersonName.parse(value)
    assert (name.family, name.given, name.middle, name.prefix, name.suffix) == (
        family,
        given,
        middle,
        prefix,
        suffix,
    )


def test_all_three_forms_round_trip():
    """Alphabetic, ideographic and phonetic forms come back exactly as given."""
    value = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    name = PersonName.parse(value)
    assert name.alphabetic == "Yamada^Tarou"
    assert name.ideographic == "山田^太郎"
    assert name.phonetic == "やまだ^たろう"
    assert str(name) == value


def test_trailing_empty_components_and_groups_are_left_out():
    """ "Smith^John^^^==" and "Smith^John" are the same name; the short form is written."""
    assert str(PersonName.parse("Smith^John^^^==")) == "Smith^John"
    assert str(PersonName("Weber", prefix="Dr.")) == "Weber^^^Dr."
    assert str(PersonName(ideographic="山田^太郎")) == "=山田^太郎"


def test_readable_form_puts_the_name_in_reading_order():
    assert PersonName.parse("Müller^Jürgen^^Dr.").readable() == "Dr. Jürgen Müller"
    assert PersonName.parse("=山田^太郎").readable() == "山田 太郎"


@pytest.mark.parametrize(
    "value",
    ["a=b=c=d", "A^B^C^D^E^F", "A\\B", "X" * 65],
)
def test_malformed_person_names_are_refused(value):
    """More than 3 groups or 5 components, a backslash, or over 64 characters."""
    with pytest.raises(ValidationError):
        validate_person_name(value)


@pytest.mark.django_db
def test_patient_name_keeps_its_components_through_the_database():
    """A name written to a patient reads back with every component and form."""
    value = "Yamada^Tarou^Jirou^Mr.^Jr.=山田^太郎=やまだ^たろう"
    patient = PatientFactory()
    patient.name = value
    patient.full_clean()
    patient.save()

    stored = Patient.objects.get(pk=patient.pk)
    assert stored.family_name == "Yamada"
    assert stored.given_name == "Tarou"
    assert stored.middle_name == "Jirou"
    assert stored.name_prefix == "Mr."
    assert stored.name_suffix == "Jr."
    assert stored.name_ideographic == "山田^太郎"
    assert stored.name_phonetic == "やまだ^たろう"
    assert str(stored.name) == value


@pytest.mark.django_db
def test_name_component_with_a_separator_is_refused():
    """A caret inside the family name would shift every other component."""
    patient = PatientFactory.build(family_name="Mül^ler")
    with pytest.raises(ValidationError) as error:
        patient.full_clean()
    assert "family_name" in error.value.message_dict


def matches_name(query: str, stored: str) -> bool:
    """The DICOM wildcard semantics of the worklist lookup, in Python."""
    from ris.dicom.matching import matches_string
    from ris.dicom.person_name import search_key, search_pattern

    return matches_string(search_key(stored), search_pattern(query))


@pytest.mark.parametrize(
    ("query", "stored", "expected"),
    [
        ("müller", "Müller^Jürgen", True),
        ("Müller^", "Müller^Jürgen", True),
        ("Müller^Jürgen^^^", "Müller^Jürgen^^Dr.", True),
        ("Müller^J*", "Müller^Jürgen", True),
        ("Müller^Anna", "Müller^Jürgen", False),
        ("Muller", "Müller^Jürgen", False),
        ("Smith", "Smithers^Ann", False),
        ("=山田^太郎", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("Yamada^Tarou=", "Yamada^Tarou=山田^太郎", True),
        ("Sm?th", "Smith^John", True),
    ],
)
def test_person_name_queries_match_as_worklist_users_expect(query, stored, expected):
    """Case-insensitive; omitted and trailing empty components match anything."""
    assert matches_name(query, stored) is expected
