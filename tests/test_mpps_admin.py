"""Performed steps in the admin: listed with their state, unmatched ones linked there."""

import pytest

from ris.audit.models import AuditEvent
from ris.mpps.models import PerformedProcedureStep
from ris.mpps.services import mpps_create
from ris.scheduling.models import ScheduledProcedureStep, StepStatus
from tests.factories import ScheduledProcedureStepFactory
from tests.test_dimse_mpps import in_progress

pytestmark = pytest.mark.django_db
URL = "/admin/mpps/performedprocedurestep/"


def test_the_list_shows_unmatched_steps_for_reconciliation(admin_client):
    mpps_create(sop_instance_uid="1.2.3.1", attributes=in_progress())
    mpps_create(sop_instance_uid="1.2.3.2", attributes=in_progress(ScheduledProcedureStepFactory()))
    response = admin_client.get(URL, {"matched": "no"})
    assert [p.sop_instance_uid for p in response.context["cl"].result_list] == ["1.2.3.1"]
    assert admin_client.get(URL).status_code == 200


def test_linking_an_unmatched_step_in_the_admin_moves_the_schedule(admin_client):
    performed = mpps_create(sop_instance_uid="1.2.3.3", attributes=in_progress())
    step = ScheduledProcedureStepFactory()
    page = admin_client.get(f"{URL}{performed.pk}/change/")
    assert page.status_code == 200
    assert "DICOM JSON" in page.content.decode()

    response = admin_client.post(f"{URL}{performed.pk}/change/", {"scheduled_steps": [step.pk]})

    assert response.status_code == 302
    assert list(PerformedProcedureStep.objects.get(pk=performed.pk).scheduled_steps.all()) == [step]
    assert ScheduledProcedureStep.objects.get(pk=step.pk).status == StepStatus.STARTED
    [linked] = AuditEvent.objects.filter(action="mpps.link")
    assert linked.detail["steps"] == [step.sps_id]
