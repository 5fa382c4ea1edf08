"""Booking an order is idempotent by placer order number, also when two identical
requests race: one order, both answered with it."""

import threading

import pytest
from django.db import connection

from ris.scheduling.models import Order, ScheduledProcedureStep
from ris.scheduling.services import booking
from tests.api_helpers import his_client, order_payload
from tests.factories import PatientFactory, ProcedureCodeFactory, StationFactory

URL = "/api/v1/orders/"


@pytest.fixture
def payload(db):
    return order_payload(
        patient=PatientFactory(), code=ProcedureCodeFactory(), station=StationFactory()
    )


def test_a_request_whose_look_up_raced_finds_the_order_after_all(db, payload, monkeypatch):
    """The look-up misses (the other request had not committed yet), the insert
    fails on the unique constraint: the answer is the existing order, 200."""
    api = his_client()
    first = api.post(URL, payload, format="json").data
    looked_up = booking._placer_order
    calls = []

    def missing_once(**identity):
        calls.append(identity)
        return None if len(calls) == 1 else looked_up(**identity)

    monkeypatch.setattr(booking, "_placer_order", missing_once)
    response = api.post(URL, payload, format="json")

    assert len(calls) == 2
    assert response.status_code == 200, response.data
    assert response.data["id"] == first["id"]
    assert Order.objects.count() == 1


def test_a_raced_request_with_other_content_is_409(db, payload, monkeypatch):
    api = his_client()
    api.post(URL, payload, format="json")
    looked_up = booking._placer_order
    calls = []

    def missing_once(**identity):
        calls.append(identity)
        return None if len(calls) == 1 else looked_up(**identity)

    monkeypatch.setattr(booking, "_placer_order", missing_once)
    other = {**payload, "comments": "something else"}
    assert api.post(URL, other, format="json").status_code == 409
    assert Order.objects.count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_identical_requests_at_once_book_one_order(transactional_db, round_):
    """Two threads, each with its own connection, send the same request at the same
    moment: one order, one 201 and one 200, both with its id."""
    api_a, api_b = his_client(name="HIS-A"), his_client(name="HIS-B")
    payload = order_payload(
        patient=PatientFactory(), code=ProcedureCodeFactory(), station=StationFactory()
    )
    barrier = threading.Barrier(2)
    results = {}

    def book(name, api):
        try:
            barrier.wait(timeout=10)
            response = api.post(URL, payload, format="json")
            results[name] = (response.status_code, response.data.get("id"))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(n, a)) for n, a in [("a", api_a), ("b", api_b)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(status for status, _ in results.values()) == [200, 201], results
    assert len({order_id for _, order_id in results.values()}) == 1
    assert Order.objects.count() == 1
    assert ScheduledProcedureStep.objects.count() == 1
