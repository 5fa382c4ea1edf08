"""Workitems in the admin: listed, shown, and cancelled through the UPS services."""

from ris.dicom.uids import new_uid
from ris.ups.models import Workitem
from ris.ups.services import ups_create
from tests.ups_helpers import workitem

URL = "/admin/ups/workitem/"


def test_workitems_are_listed_and_shown_without_the_transaction_uid(admin_client):
    created = ups_create(sop_instance_uid=new_uid(), attributes=workitem())
    created.transaction_uid = "1.2.3.4.5"
    created.save()
    assert "Lung CAD" in admin_client.get(URL).content.decode()
    page = admin_client.get(f"{URL}{created.pk}/change/").content.decode()
    assert created.sop_instance_uid in page
    assert "1.2.3.4.5" not in page


def test_request_cancellation_from_the_admin_cancels_a_scheduled_workitem(admin_client):
    created = ups_create(sop_instance_uid=new_uid(), attributes=workitem())
    response = admin_client.post(
        URL, {"action": "request_cancellation", "_selected_action": [created.pk]}, follow=True
    )
    assert "cancellation requested" in response.content.decode()
    assert Workitem.objects.get(pk=created.pk).state == "CANCELED"
