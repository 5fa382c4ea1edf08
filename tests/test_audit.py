"""The audit trail: who changed what, through which door, and how it is read."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import transaction
from django.urls import include, path
from django.utils import timezone
from rest_framework.test import APIClient

from ris.audit.context import SYSTEM, Actor, acting_as, current_actor
from ris.audit.models import ActorKind, AuditEvent
from ris.audit.services import audit_record
from ris.dicom.errors import DicomError
from ris.nodes.models import RemoteAE
from ris.scheduling.models import StepStatus
from ris.scheduling.services import (
    order_cancel,
    scheduled_step_mark_arrived,
    scheduled_step_reschedule,
)
from ris.ups import GLOBAL_SUBSCRIPTION_UID
from ris.ups.models import Delivery
from ris.ups.services import ups_unsubscribe
from ris.web import roles
from ris.web.roles import user_assign_roles
from tests.api_helpers import his_client, order_payload
from tests.factories import (
    PatientFactory,
    ProcedureCodeFactory,
    ScheduledProcedureStepFactory,
    StationFactory,
)
from tests.test_dimse_mpps import Modality, completed, in_progress

# The audit list alone, with stand-ins for the web UI's base template and login
# page: these tests are about the audit view, not the pages around it.
urlpatterns = [path("audit/", include("ris.audit.urls"))]
LIST_URL = "/audit/"


@pytest.fixture
def web_base(settings, tmp_path):
    settings.LOGIN_URL = "/login/"
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "base.html").write_text(
        "<title>{% block title %}{% endblock %}</title>{% block content %}{% endblock %}"
    )
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [tmp_path, *engine["DIRS"]]}]


@pytest.fixture
def auditor(db):
    user = User.objects.create_user(username="auditor")
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return user


def event(**lookup) -> AuditEvent:
    return AuditEvent.objects.get(**lookup)


def record(action: str, object_id: str, actor: Actor = SYSTEM, **fields) -> AuditEvent:
    with acting_as(actor):
        created = audit_record(action=action, object_type="step", object_id=object_id)
    if fields:
        AuditEvent.objects.filter(pk=created.pk).update(**fields)
    return created


# --- Who: each door names its actor


@pytest.mark.django_db
def test_a_rest_booking_is_recorded_as_the_api_client():
    """The HIS's token names the API client (set by DRF inside the view), and
    the event says what was booked: steps, stations, starts, procedure codes."""
    api = his_client(name="HIS-EAST")
    code, station = ProcedureCodeFactory(), StationFactory()
    payload = order_payload(patient=PatientFactory(), code=code, station=station)

    response = api.post("/api/v1/orders/", payload, format="json")

    assert response.status_code == 201, response.data
    booked = event(action="order.create")
    assert (booked.actor_kind, booked.actor, booked.address) == (
        ActorKind.API_CLIENT,
        "HIS-EAST",
        "127.0.0.1",
    )
    assert (booked.object_type, booked.object_id) == ("order", response.data["accession_number"])
    [step] = booked.detail["steps"]
    assert (step["station"], step["procedure_code"]) == (station.ae_title, code.code_value)
    asked = payload["requested_procedures"][0]["scheduled_steps"][0]["start"]
    assert datetime.fromisoformat(step["start"]) == datetime.fromisoformat(asked)


@pytest.mark.django_db
def test_a_signed_in_user_is_recorded_by_user_name():
    step = ScheduledProcedureStepFactory()
    client = APIClient()
    alice = User.objects.create_user(username="alice")
    user_assign_roles(alice, [roles.SCHEDULER])
    client.force_login(alice)

    response = client.post(
        f"/api/v1/scheduled-steps/{step.pk}/reschedule/",
        {"start": (step.start + timedelta(hours=1)).isoformat()},
        format="json",
    )

    assert response.status_code == 200, response.data
    moved = event(action="step.reschedule")
    assert (moved.actor_kind, moved.actor, moved.address) == (ActorKind.USER, "alice", "127.0.0.1")


def test_an_mpps_over_dicom_is_recorded_as_the_calling_ae(dicom_service):
    """The AE title and address of the association; the step's and order's
    status changes it causes are the AE's too."""
    step = ScheduledProcedureStepFactory()
    modality = Modality(dicom_service, ae_title="CT_WEST")
    try:
        status, uid = modality.create(in_progress(step))
        assert status.Status == 0x0000
        assert modality.set(uid, completed()).Status == 0x0000
    finally:
        modality.release()

    created = event(action="mpps.create")
    assert (created.actor_kind, created.actor, created.address) == (
        ActorKind.AE,
        "CT_WEST",
        "127.0.0.1",
    )
    assert (created.object_type, created.object_id) == ("mpps", uid)
    assert event(action="mpps.set").detail == {"status": ["IN PROGRESS", "COMPLETED"]}
    changes = AuditEvent.objects.filter(action__endswith=".status").order_by("pk")
    assert [(e.action, e.detail["status"]) for e in changes] == [
        ("step.status", ["SCHEDULED", "STARTED"]),
        ("order.status", ["SCHEDULED", "IN_PROGRESS"]),
        ("step.status", ["STARTED", "COMPLETED"]),
        ("order.status", ["IN_PROGRESS", "COMPLETED"]),
    ]
    assert {e.actor for e in AuditEvent.objects.all()} == {"CT_WEST"}


@pytest.mark.django_db
def test_outside_any_door_the_system_acts():
    """Management commands and dispatchers; and a door's actor ends with it."""
    with acting_as(Actor(kind=ActorKind.AE, name="CT1", address="10.0.0.1")):
        assert current_actor().name == "CT1"
    assert current_actor() == SYSTEM
    scheduled_step_mark_arrived(step=ScheduledProcedureStepFactory())
    arrived = event(action="step.status")
    assert (arrived.actor_kind, arrived.actor, arrived.address) == (ActorKind.SYSTEM, "system", "")


# --- What: the changes and their detail


@pytest.mark.django_db
def test_a_reschedule_records_the_old_and_new_start_and_station():
    step = ScheduledProcedureStepFactory()
    old_start, old_station = step.start, step.scheduled_station_ae_title
    new_station = StationFactory()
    new_start = old_start + timedelta(days=2)

    scheduled_step_reschedule(step=step, start=new_start, station=new_station)

    moved = event(action="step.reschedule")
    assert moved.object_id == step.sps_id
    assert [datetime.fromisoformat(start) for start in moved.detail["start"]] == [
        old_start,
        new_start,
    ]
    assert moved.detail["station"] == [old_station, new_station.ae_title]


@pytest.mark.django_db
def test_a_status_change_is_recorded_once_whatever_caused_it():
    """Canceling an order: one step.status per step and one order.status, and
    no second event for the cancel itself."""
    step = ScheduledProcedureStepFactory()
    order = step.requested_procedure.order

    order_cancel(order=order)

    events = AuditEvent.objects.order_by("pk")
    assert [(e.action, e.object_id, e.detail) for e in events] == [
        ("step.status", step.sps_id, {"status": ["SCHEDULED", "CANCELED"]}),
        ("order.status", order.accession_number, {"status": ["SCHEDULED", "CANCELED"]}),
    ]
    order_cancel(order=order)  # already canceled: nothing changes, nothing is recorded
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_change_that_rolls_back_leaves_no_event():
    """The event is written in the change's transaction."""
    step = ScheduledProcedureStepFactory()

    def reschedule_then_fail():
        with transaction.atomic():
            scheduled_step_reschedule(step=step, start=step.start + timedelta(hours=1))
            assert AuditEvent.objects.count() == 1
            raise RuntimeError("the caller's transaction fails after the change")

    with pytest.raises(RuntimeError):
        reschedule_then_fail()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_refused_change_leaves_no_event_even_if_recorded_before_the_refusal():
    """ups_unsubscribe records first and refuses afterwards (no such WebSocket
    subscription): the refusal rolls the event back with the rest."""
    owner = User.objects.create_user(username="viewer")
    with pytest.raises(DicomError):
        ups_unsubscribe(
            sop_instance_uid=GLOBAL_SUBSCRIPTION_UID,
            receiving_ae="VIEWER",
            delivery=Delivery.WEBSOCKET,
            owner=owner,
        )
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_no_patient_name_or_birth_date_goes_into_any_detail():
    """Registering, correcting, booking and canceling over REST: identifiers,
    field names and statuses only."""
    api = his_client()
    patient_id = api.post(
        "/api/v1/patients/",
        {
            "patient_id": "4711",
            "family_name": "Zebedee",
            "given_name": "Quentin",
            "birth_date": "1970-03-01",
        },
        format="json",
    ).data["id"]
    api.patch(f"/api/v1/patients/{patient_id}/", {"family_name": "Xylander"}, format="json")
    payload = order_payload(
        patient=PatientFactory.build(pk=patient_id),
        code=ProcedureCodeFactory(),
        station=StationFactory(),
    )
    order_id = api.post("/api/v1/orders/", payload, format="json").data["id"]
    api.post(f"/api/v1/orders/{order_id}/cancel/")

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"patient.create", "patient.update", "order.create", "step.status"} <= actions
    assert event(action="patient.update").detail == {"fields": ["family_name"]}
    for recorded in AuditEvent.objects.all():
        text = recorded.detail_as_json()
        for secret in ("Zebedee", "Quentin", "Xylander", "1970", "19700301"):
            assert secret not in text, (recorded.action, text)


# --- Where to see it: the list and its CSV


@pytest.mark.urls(__name__)
def test_the_list_is_for_those_allowed_to_see_it(client, web_base, db):
    """Signed out: to the login page; signed in without the permission: 403."""
    assert client.get(LIST_URL)["Location"] == "/login/?next=/audit/"
    client.force_login(User.objects.create_user(username="scheduler"))
    assert client.get(LIST_URL).status_code == 403


@pytest.mark.urls(__name__)
def test_the_list_shows_and_filters_events(client, web_base, auditor):
    alice = Actor(kind=ActorKind.USER, name="alice")
    record("step.status", "SPS1", alice)
    record("step.reschedule", "SPS2", alice)
    record("order.status", "A100", alice)
    record("step.status", "SPS3", Actor(kind=ActorKind.AE, name="CT1"))
    record("step.status", "SPS4", alice, at=timezone.now() - timedelta(days=10))
    client.force_login(auditor)

    def shown(**query) -> set[str]:
        response = client.get(LIST_URL, query)
        assert response.status_code == 200
        return {e.object_id for e in response.context["page"]}

    assert shown() == {"SPS1", "SPS2", "A100", "SPS3", "SPS4"}
    assert shown(action="step.") == {"SPS1", "SPS2", "SPS3", "SPS4"}
    assert shown(action="step.status", actor="alice") == {"SPS1", "SPS4"}
    assert shown(object="SPS") == {"SPS1", "SPS2", "SPS3", "SPS4"}
    assert shown(object="a100") == {"A100"}
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert shown(actor="alice", since=since) == {"SPS1", "SPS2", "A100"}
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert shown(until=until) == {"SPS4"}
    assert shown(since="not a date") == set()
    AuditEvent.objects.filter(object_id="SPS3").update(outcome="rejected")
    assert shown(outcome="rejected") == {"SPS3"}
    assert shown(outcome="no such outcome") == set()


@pytest.mark.urls(__name__)
def test_the_list_page_is_an_accessible_table_with_a_csv_link(client, web_base, auditor):
    record("step.status", "SPS1", Actor(kind=ActorKind.AE, name="CT1", address="10.1.1.1"))
    client.force_login(auditor)

    html = client.get(LIST_URL, {"action": "step."}).content.decode()

    assert "<caption>" in html
    assert '<label for="id_actor">' in html
    assert 'id="id_actor_helptext"' in html  # what the input's aria-describedby names
    assert "<td>10.1.1.1</td>" in html
    assert 'href="?action=step.&amp;format=csv"' in html


@pytest.mark.urls(__name__)
def test_the_list_is_paged_by_a_hundred(client, web_base, auditor):
    for n in range(101):
        record("step.status", f"SPS{n}")
    client.force_login(auditor)
    assert len(client.get(LIST_URL).context["page"]) == 100
    assert len(client.get(LIST_URL, {"page": 2}).context["page"]) == 1


@pytest.mark.urls(__name__)
def test_csv_export_has_the_header_and_the_filtered_rows(client, web_base, auditor):
    ae = Actor(kind=ActorKind.AE, name="CT1", address="10.1.1.1")
    with acting_as(ae):
        audit_record(
            action="step.status",
            object_type="step",
            object_id="SPS1",
            detail={"status": [StepStatus.SCHEDULED, StepStatus.ARRIVED]},
        )
    record("order.status", "A100")
    client.force_login(auditor)

    response = client.get(LIST_URL, {"action": "step.", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "at",
        "actor_kind",
        "actor",
        "address",
        "action",
        "object_type",
        "object_id",
        "outcome",
        "detail",
    ]
    [row] = rows[1:]
    assert row[0].endswith("+00:00")
    assert row[1:] == [
        "ae",
        "CT1",
        "10.1.1.1",
        "step.status",
        "step",
        "SPS1",
        "success",
        '{"status": ["SCHEDULED", "ARRIVED"]}',
    ]


@pytest.mark.django_db
def test_dicom_peers_and_api_clients_are_recorded_by_their_commands():
    call_command("ae", "add", "CT9", "--host", "10.0.0.9", "--port", "104", stdout=io.StringIO())
    call_command("ae", "disable", "CT9", stdout=io.StringIO())
    call_command("api_client", "create", "HIS-Z", "--write", stdout=io.StringIO())
    events = [(e.action, e.object_id, e.actor) for e in AuditEvent.objects.order_by("pk")]
    assert events == [
        ("remote_ae.add", "CT9", "system"),
        ("remote_ae.disable", "CT9", "system"),
        ("api_client.create", "HIS-Z", "system"),
    ]
    created = AuditEvent.objects.get(action="api_client.create")
    assert "token" not in json.dumps(created.detail).lower()


@pytest.mark.django_db
def test_reference_data_changed_in_the_admin_is_recorded_as_the_user(admin_client):
    admin_client.post(
        "/admin/nodes/remoteae/add/",
        {
            "ae_title": "MR2",
            "host": "10.0.0.12",
            "port": "104",
            "enabled": "on",
            "may_query_worklist": "on",
        },
    )
    remote_ae = RemoteAE.objects.get(ae_title="MR2")
    admin_client.post(f"/admin/nodes/remoteae/{remote_ae.pk}/delete/", {"post": "yes"})
    events = [(e.action, e.object_id, e.actor) for e in AuditEvent.objects.order_by("pk")]
    assert events == [("remote_ae.add", "MR2", "admin"), ("remote_ae.delete", "MR2", "admin")]
    assert AuditEvent.objects.get(action="remote_ae.add").actor_kind == "user"


@pytest.mark.django_db
def test_events_past_the_retention_are_pruned_and_the_pruning_recorded(settings):
    old = audit_record(action="step.cancel", object_type="step", object_id="SPS-OLD")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=400))
    recent = audit_record(action="step.cancel", object_type="step", object_id="SPS-NEW")
    out = io.StringIO()
    call_command("audit_prune", stdout=out)  # no retention set: nothing goes
    assert "kept whole" in out.getvalue()
    assert AuditEvent.objects.filter(pk=old.pk).exists()
    settings.RIS_AUDIT_RETENTION_DAYS = 365
    call_command("audit_prune", stdout=out)
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    pruned = AuditEvent.objects.get(action="audit.prune")
    assert pruned.detail["deleted"] == 1
