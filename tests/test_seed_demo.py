"""The demo seed: its counts, its names, its calendar, and that it adds on each run."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from ris.scheduling.models import (
    Order,
    Patient,
    RequestedProcedure,
    ScheduledProcedureStep,
    StepStatus,
)
from ris.ups.models import Workitem

pytestmark = pytest.mark.django_db


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_creates_the_requested_number_of_steps():
    """--procedures N gives N requested procedures with one step each, in whole orders."""
    output = seed("--procedures", "120", "--days", "3", "--seed", "1")

    assert ScheduledProcedureStep.objects.count() == 120
    assert RequestedProcedure.objects.count() == 120
    assert 40 <= Order.objects.count() <= 120
    assert Patient.objects.count() <= Order.objects.count()
    assert "Added 120 scheduled steps" in output


def test_running_again_adds_more_without_clashing_identifiers():
    seed("--procedures", "60", "--days", "2", "--seed", "1")
    seed("--procedures", "60", "--days", "2", "--seed", "1")

    assert ScheduledProcedureStep.objects.count() == 120
    accessions = Order.objects.values_list("accession_number", flat=True)
    assert len(set(accessions)) == len(accessions)
    uids = RequestedProcedure.objects.values_list("study_instance_uid", flat=True)
    assert len(set(uids)) == 120


def test_steps_fall_within_the_days_from_today_and_do_not_overlap():
    """A schedule that fits is packed without double bookings on any station."""
    seed("--procedures", "150", "--days", "4", "--seed", "2")
    today = timezone.localdate()
    steps = ScheduledProcedureStep.objects.order_by("station", "start")
    previous = None
    for step in steps:
        assert today <= timezone.localdate(step.start) < today + timedelta(days=4)
        assert step.status == StepStatus.SCHEDULED
        assert (
            step.modality
            == step.station.modality
            == step.requested_procedure.procedure_code.default_modality
        )
        if previous and previous.station_id == step.station_id:
            assert step.start >= previous.end
        previous = step


def test_seed_writes_names_from_several_scripts():
    """Real worklists carry umlauts and Japanese names; so does the demo."""
    seed("--procedures", "400", "--days", "3", "--seed", "3")
    families = set(Patient.objects.values_list("family_name", flat=True))
    assert families & {"Müller", "Schäfer", "Größer", "Weiß"}
    japanese = Patient.objects.filter(name_ideographic__contains="^").first()
    assert japanese is not None
    assert japanese.name_phonetic


def test_seed_refuses_nonsense_arguments():
    with pytest.raises(CommandError):
        seed("--procedures", "-1")
    with pytest.raises(CommandError):
        seed("--days", "0")


def test_demo_setup_seeds_once_and_prints_a_working_login(settings, tmp_path, client):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("demo_setup", "--procedures", "30", stdout=out)
    call_command("demo_setup", "--procedures", "30", stdout=out)

    assert ScheduledProcedureStep.objects.count() == 30
    workitems = Workitem.objects.all()
    cross_sectional = ScheduledProcedureStep.objects.filter(modality__in=["CT", "MR"])
    assert workitems.count() == cross_sectional.count()  # one for each CT and MR step, once
    assert all(workitem.state == "SCHEDULED" for workitem in workitems)
    logins = [line for line in out.getvalue().splitlines() if line.startswith("Login ")]
    assert len(logins) == 6  # one per role, twice, the same each time
    assert logins[:3] == logins[3:]
    for login in logins[:3]:
        username, password = login.removeprefix("Login ").split(" (")[0].split(" / ")
        assert client.login(username=username, password=password)
    technologist = get_user_model().objects.get(username="technologist")
    assert technologist.has_perm("scheduling.mark_arrived")
    assert not technologist.has_perm("scheduling.add_order")
    assert not technologist.is_staff
    assert get_user_model().objects.get(username="admin").is_staff
