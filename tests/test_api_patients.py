"""/api/v1/patients/: register, read, correct, search and merge."""

import pytest

from ris.scheduling.models import Order, Patient
from ris.scheduling.services import SchedulingConflict, patient_merge
from tests.api_helpers import his_client
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


@pytest.fixture
def api():
    return his_client()


def test_create_registers_a_patient(api):
    """A new patient is answered with 201, its id and its DICOM name."""
    response = api.post(
        URL,
        {
            "patient_id": "4711",
            "issuer_of_patient_id": "HOSP",
            "family_name": "Müller",
            "given_name": "Jürgen",
            "birth_date": "1970-03-01",
            "sex": "M",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["name"] == "Müller^Jürgen"
    assert Patient.objects.get(pk=response.data["id"]).name_search.startswith("MÜLLER^JÜRGEN")


def test_create_refuses_bad_values_field_by_field(api):
    """Each bad value is named; nothing is written."""
    response = api.post(
        URL, {"patient_id": "x" * 65, "family_name": "A\\B", "sex": "Q"}, format="json"
    )
    assert response.status_code == 400
    assert {"patient_id", "family_name", "sex"} <= set(response.data)
    assert not Patient.objects.exists()


def test_create_refuses_a_patient_without_family_name(api):
    """The model's own rule (a family name or another name form) is a 400 naming the field."""
    response = api.post(URL, {"patient_id": "1"}, format="json")
    assert response.status_code == 400
    assert "family_name" in response.data


def test_create_refuses_a_duplicate_patient_id_with_409(api):
    PatientFactory(patient_id="4711", issuer_of_patient_id="HOSP")
    response = api.post(
        URL,
        {"patient_id": "4711", "issuer_of_patient_id": "HOSP", "family_name": "Other"},
        format="json",
    )
    assert response.status_code == 409
    assert "detail" in response.data


def test_retrieve_gives_the_patient(api):
    patient = PatientFactory()
    response = api.get(f"{URL}{patient.pk}/")
    assert response.status_code == 200
    assert response.data["patient_id"] == patient.patient_id
    assert response.data["created_at"].endswith(("Z", "+00:00"))


def test_retrieve_of_an_unknown_patient_is_404(api):
    assert api.get(f"{URL}999999/").status_code == 404
    assert api.get(f"{URL}abc/").status_code == 404


def test_partial_update_corrects_a_patient(api):
    """A corrected name is searchable by its new form at once."""
    patient = PatientFactory(family_name="Meier")
    response = api.patch(f"{URL}{patient.pk}/", {"family_name": "Meyer"}, format="json")
    assert response.status_code == 200
    assert response.data["family_name"] == "Meyer"
    patient.refresh_from_db()
    assert patient.name_search.startswith("MEYER^")


def test_partial_update_refuses_a_bad_value(api):
    patient = PatientFactory()
    response = api.patch(f"{URL}{patient.pk}/", {"birth_date": "1970-13-45"}, format="json")
    assert response.status_code == 400
    assert "birth_date" in response.data


def test_partial_update_to_an_id_taken_is_409(api):
    PatientFactory(patient_id="A", issuer_of_patient_id="H")
    patient = PatientFactory(patient_id="B", issuer_of_patient_id="H")
    response = api.patch(f"{URL}{patient.pk}/", {"patient_id": "A"}, format="json")
    assert response.status_code == 409


def test_search_by_name_ignores_case_and_takes_wildcards(api):
    """ "müller" finds "Müller^Jürgen"; "MÜL*^J*" too; "Meier" does not."""
    wanted = PatientFactory(family_name="Müller", given_name="Jürgen")
    PatientFactory(family_name="Meier", given_name="Jürgen")
    for query in ["müller", "MÜL*^J*", "Müller^jürgen"]:
        response = api.get(URL, {"name": query})
        assert [row["id"] for row in response.data["results"]] == [wanted.pk], query


def test_search_by_id_issuer_and_birth_date(api):
    wanted = PatientFactory(patient_id="77", issuer_of_patient_id="A", birth_date="1980-01-02")
    PatientFactory(patient_id="77", issuer_of_patient_id="B", birth_date="1980-01-02")
    PatientFactory(patient_id="78", issuer_of_patient_id="A", birth_date="1981-01-02")
    response = api.get(URL, {"patient_id": "77", "issuer": "A", "birth_date": "1980-01-02"})
    assert [row["id"] for row in response.data["results"]] == [wanted.pk]


def test_search_refuses_a_bad_birth_date(api):
    response = api.get(URL, {"birth_date": "yesterday"})
    assert response.status_code == 400
    assert "birth_date" in response.data


def test_list_is_paginated(api):
    """Pages of page_size with the count and a link to the next page."""
    PatientFactory.create_batch(3)
    first = api.get(URL, {"page_size": 2}).data
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["next"]
    assert len(api.get(first["next"]).data["results"]) == 1
    assert api.get(URL, {"page": 9}).status_code == 404


def test_merge_moves_every_order_to_the_surviving_patient(api):
    """The survivor keeps both records' orders; the other record goes, its ID kept."""
    surviving = PatientFactory(patient_id="KEEP", issuer_of_patient_id="H")
    merged = PatientFactory(patient_id="GONE", issuer_of_patient_id="H")
    kept_order, moved_order = OrderFactory(patient=surviving), OrderFactory(patient=merged)

    response = api.post(f"{URL}{surviving.pk}/merge/", {"merged_patient": merged.pk}, format="json")

    assert response.status_code == 200, response.data
    assert set(Order.objects.filter(patient=surviving)) == {kept_order, moved_order}
    assert not Patient.objects.filter(pk=merged.pk).exists()
    assert {"patient_id": "GONE", "issuer_of_patient_id": "H", "type_of_patient_id": "TEXT"} in [
        dict(other) for other in response.data["other_ids"]
    ]


def test_merge_refuses_an_unknown_or_the_same_patient(api):
    patient = PatientFactory()
    unknown = api.post(f"{URL}{patient.pk}/merge/", {"merged_patient": 999999}, format="json")
    assert unknown.status_code == 400
    assert "merged_patient" in unknown.data
    itself = api.post(f"{URL}{patient.pk}/merge/", {"merged_patient": patient.pk}, format="json")
    assert itself.status_code == 400
    assert "merged_patient" in itself.data
    missing = api.post(f"{URL}999999/merge/", {"merged_patient": patient.pk}, format="json")
    assert missing.status_code == 404


def test_a_merge_of_a_patient_merged_meanwhile_is_a_conflict():
    """Two merges of one pair at once: the second finds a record gone (409, not 500)."""
    surviving, merged = PatientFactory(), PatientFactory()
    Patient.objects.filter(pk=merged.pk).delete()  # what the first merge did
    with pytest.raises(SchedulingConflict):
        patient_merge(surviving=surviving, merged=merged)
