"""The scheduler's day in a real Chromium against the live server: log in, book
an exam, see it on the board, watch an MPPS over DICOM move it without a
reload, reschedule, cancel; the technologist's view."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ris.scheduling.models import ScheduledProcedureStep, StepStatus
from ris.scheduling.services import scheduled_steps_set_status
from ris.web import roles
from ris.web.forms import procedure_label
from tests.factories import PatientFactory, ProcedureCodeFactory, StationFactory
from tests.test_dimse_mpps import Modality, in_progress
from tests.web_helpers import log_in, needs_chromium, user_with_roles

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def department(settings):
    settings.RIS_WEB_BOARD_REFRESH = 0.5
    station = StationFactory(name="CT ONE", ae_title="CT1", location="Room 3")
    StationFactory(name="CT TWO", ae_title="CT2", location="Room 4")
    code = ProcedureCodeFactory(code_meaning="CT head without contrast")
    patient = PatientFactory(family_name="Lindqvist", given_name="Astrid", patient_id="P-4711")
    return station, code, patient


def tomorrow() -> str:
    return f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}"


def book_exam(page, *, patient_query, procedure, station, day, at):
    page.get_by_role("link", name="Book an exam").first.click()
    page.get_by_label("Name or Patient ID").fill(patient_query)
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=re.compile("^Book for ")).first.click()
    page.get_by_label("Procedures").select_option(label=procedure)
    page.get_by_label("Station").select_option(label=station)
    page.get_by_label("Date").fill(day)
    page.get_by_label("Start").fill(at)
    page.get_by_role("button", name="Book", exact=True).click()


def card(page, patient_family_name: str):
    return page.locator("li.step", has_text=patient_family_name.upper())


def test_everything_is_behind_login(new_page, db):
    user_with_roles("tech", roles.TECHNOLOGIST)
    page = new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    log_in(page, "tech")
    expect(page.get_by_role("heading", name=re.compile("^Day board"))).to_be_visible()


def test_book_watch_mpps_reschedule_and_cancel(new_page, department, dicom_service):
    station, code, _ = department
    user_with_roles("sam", roles.SCHEDULER)
    page = new_page()
    log_in(page, "sam")

    book_exam(
        page,
        patient_query="lindq",
        procedure=procedure_label(code),
        station=str(station),
        day=tomorrow(),
        at="10:00",
    )
    step = ScheduledProcedureStep.objects.select_related("requested_procedure__order").get()
    accession = step.requested_procedure.order.accession_number
    expect(page.get_by_role("status")).to_contain_text(f"accession number {accession}")
    booked = card(page, "Lindqvist")
    expect(booked).to_contain_text("10:00")
    expect(booked).to_contain_text("Scheduled")
    expect(page.locator("section.station", has=booked)).to_contain_text("CT ONE")

    # The same slot again: refused, and said why.
    book_exam(
        page,
        patient_query="P-4711",
        procedure=procedure_label(code),
        station=str(station),
        day=tomorrow(),
        at="10:10",
    )
    expect(page.get_by_role("alert")).to_contain_text("CT ONE is already booked from 10:00")
    assert ScheduledProcedureStep.objects.count() == 1

    # The modality starts the exam: the board shows it without being reloaded.
    page.goto(f"/?date={tomorrow()}")
    page.evaluate("window.notReloaded = true")
    modality = Modality(dicom_service, ae_title="CT1")
    status, _ = modality.create(in_progress(step))
    modality.release()
    assert status.Status == 0x0000
    expect(card(page, "Lindqvist")).to_contain_text("In progress")
    assert page.evaluate("window.notReloaded") is True
    expect(card(page, "Lindqvist").get_by_role("button", name=re.compile("^Cancel"))).to_have_count(
        0
    )

    # A second exam, moved to the other room, then canceled.
    other = PatientFactory(family_name="Okafor", given_name="Chidi")
    book_exam(
        page,
        patient_query=other.patient_id,
        procedure=procedure_label(code),
        station=str(station),
        day=tomorrow(),
        at="11:00",
    )
    card(page, "Okafor").get_by_role("link", name=re.compile("^Reschedule")).click()
    page.get_by_label("Station").select_option(label="CT TWO (CT2, CT)")
    page.get_by_label("Start").fill("11:30")
    page.get_by_role("button", name="Move").click()
    moved = card(page, "Okafor")
    expect(moved).to_contain_text("11:30")
    expect(page.locator("section.station", has=moved)).to_contain_text("CT TWO")

    page.once("dialog", lambda dialog: dialog.accept())
    moved.get_by_role("button", name=re.compile("^Cancel")).click()
    expect(card(page, "Okafor")).to_contain_text("Canceled")
    canceled = ScheduledProcedureStep.objects.get(requested_procedure__order__patient=other)
    assert canceled.status == StepStatus.CANCELED


def test_the_technologist_marks_arrivals_and_books_nothing(new_page, department):
    station, code, patient = department
    user_with_roles("tess", roles.TECHNOLOGIST)
    step = _booked(patient, code, station)
    page = new_page()
    log_in(page, "tess", then=f"/?date={timezone.localdate(step.start):%Y-%m-%d}")

    expect(page.get_by_role("link", name="Book an exam")).to_have_count(0)
    booked = card(page, "Lindqvist")
    expect(booked.get_by_role("link", name=re.compile("^Reschedule"))).to_have_count(0)
    booked.get_by_role("button", name=re.compile("^Mark Lindqvist arrived")).click()
    expect(card(page, "Lindqvist")).to_contain_text("Arrived")
    step.refresh_from_db()
    assert step.status == StepStatus.ARRIVED


def _booked(patient, code, station):
    from ris.scheduling.services import ProcedureRequest, StepRequest, order_create

    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    order = order_create(
        patient=patient,
        procedures=[
            ProcedureRequest(procedure_code=code, steps=[StepRequest(start=start, station=station)])
        ],
    )
    return order.requested_procedures.get().scheduled_steps.get()


def test_reconcile_an_unmatched_mpps(new_page, department, dicom_service):
    """An exam the modality started without picking the worklist item: the MPPS
    names the patient but no step; the scheduler links it, and the board moves."""
    station, code, patient = department
    user_with_roles("sam", roles.SCHEDULER)
    step = _booked(patient, code, station)
    unscheduled = in_progress(study_uid="1.2.826.0.1.3680043.8.498.1")
    unscheduled.PatientID = patient.patient_id
    unscheduled.PerformedProcedureStepStartDate = f"{timezone.localdate(step.start):%Y%m%d}"
    modality = Modality(dicom_service, ae_title="CT1")
    status, _ = modality.create(unscheduled)
    modality.release()
    assert status.Status == 0x0000
    assert ScheduledProcedureStep.objects.get().status == StepStatus.SCHEDULED

    page = new_page()
    log_in(page, "sam")
    page.get_by_role("link", name="Unmatched MPPS").click()
    page.get_by_role("link", name=re.compile("^Link the MPPS of ")).click()
    page.get_by_label(re.compile(f"^Performed {code.code_meaning} of LINDQVIST")).check()
    page.get_by_role("button", name=re.compile("^Link the MPPS")).click()
    linked = f"to {code.code_meaning} of Astrid Lindqvist"
    expect(page.get_by_role("status")).to_contain_text(linked)
    expect(page.get_by_role("link", name=re.compile("^Link the MPPS of "))).to_have_count(0)

    page.goto(f"/?date={timezone.localdate(step.start):%Y-%m-%d}")
    expect(card(page, "Lindqvist")).to_contain_text("In progress")


def test_workitem_cancellation_and_the_audit_trail(new_page, department, dicom_service):
    from pydicom.uid import generate_uid

    from tests.ups_helpers import create, ups_associate, workitem

    user_with_roles("sam", roles.SCHEDULER)
    user_with_roles("ada", roles.ADMINISTRATOR)
    performer = ups_associate(dicom_service, calling_ae_title="CADNODE")
    uid = str(generate_uid())
    assert create(performer, uid, workitem(ProcedureStepLabel="Lung CAD")) == 0x0000
    performer.release()

    page = new_page()
    log_in(page, "sam")
    page.get_by_role("link", name="Workitems").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^Request cancellation of Lung CAD")).click()
    expect(page.get_by_role("status")).to_contain_text("Canceled")

    audit = new_page()
    log_in(audit, "ada")
    audit.get_by_role("link", name="Audit").click()
    trail = audit.get_by_role("table")
    expect(trail).to_contain_text("CADNODE")  # the creation, over DICOM
    expect(trail.locator("tr", has_text="sam")).not_to_have_count(0)  # the cancellation


def test_the_live_refresh_keeps_the_keyboard_where_it_was(new_page, department):
    """A change elsewhere on the board swaps it in; the focused button of
    another patient's step keeps the focus, by its step, not its label."""
    station, code, patient = department
    user_with_roles("sam", roles.SCHEDULER)
    stays = _booked(patient, code, station)
    changes = _booked(PatientFactory(family_name="Okafor"), code, StationFactory(name="CT TWO"))
    page = new_page()
    log_in(page, "sam", then=f"/?date={timezone.localdate(stays.start):%Y-%m-%d}")
    version = page.locator("#board").get_attribute("data-version")
    card(page, "Lindqvist").get_by_role("button", name=re.compile("^Cancel")).focus()

    scheduled_steps_set_status(statuses={changes: StepStatus.ARRIVED})
    expect(page.locator("#board")).not_to_have_attribute("data-version", version)
    expect(card(page, "Okafor")).to_contain_text("Arrived")
    focused = page.evaluate("document.activeElement.dataset.focusKey")
    assert focused == f"cancel-{stays.pk}"
