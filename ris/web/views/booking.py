"""Booking an exam: find the patient (or register one), then procedures, station
and start; the RIS makes the accession number and Study Instance UIDs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from ris.scheduling.models import Patient, Station
from ris.scheduling.selectors import patients_list, patients_named
from ris.scheduling.services import (
    ProcedureRequest,
    SchedulingConflict,
    StepRequest,
    order_create,
    patient_create,
)
from ris.web.forms import BookingForm, PatientForm, next_quarter_hour
from ris.web.models import usual_modality
from ris.web.views.common import day_asked, to_board

MATCHES_SHOWN = 25

can_book = permission_required("scheduling.add_order", raise_exception=True)


@login_required
@can_book
def patient_choose(request):
    """Step one: the patient, by name (DICOM wildcards allowed) or ID."""
    query = request.GET.get("q", "").strip()
    matches = _patients_matching(query) if query else None
    return render(
        request,
        "web/book_patient.html",
        {
            "nav": "book",
            "query": query,
            "matches": None if matches is None else matches[:MATCHES_SHOWN],
            "more": matches is not None and len(matches) > MATCHES_SHOWN,
            "date": request.GET.get("date", ""),
            "form": PatientForm(),
        },
    )


def _patients_matching(query: str) -> list[Patient]:
    by_id = patients_list().filter(patient_id=query)
    named = patients_named(patients=patients_list(), name=query if "*" in query else f"{query}*")
    found = list(by_id) + [
        patient for patient in named[: MATCHES_SHOWN + 1] if patient not in by_id
    ]
    return found[: MATCHES_SHOWN + 1]


@login_required
@permission_required("scheduling.add_patient", raise_exception=True)
def patient_new(request):
    """Register a patient, then go on booking for them."""
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_create(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Registered {patient} with Patient ID {patient.patient_id}.")
            return redirect(_book_url(patient, request.POST.get("date", "")))
    return render(
        request,
        "web/book_patient.html",
        {"nav": "book", "form": form, "date": request.POST.get("date", ""), "matches": None},
    )


def _book_url(patient: Patient, day: str) -> str:
    url = reverse("web:book_for", args=[patient.pk])
    return f"{url}?date={day}" if day else url


@login_required
@can_book
def book(request, patient_pk: int):
    """Step two: procedures, station and start; a double booking is refused."""
    patient = get_object_or_404(Patient, pk=patient_pk)
    form = BookingForm(request.POST or None, initial=_booking_defaults(request))
    if request.method == "POST" and form.is_valid():
        try:
            order = _order_book(patient, form)
        except SchedulingConflict as conflict:
            form.refuse(conflict)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _booked(request, order, form)
    return render(request, "web/book.html", {"nav": "book", "patient": patient, "form": form})


def _booking_defaults(request) -> dict:
    """Today (or the board's day) at the next quarter hour, on the first station
    of the user's usual modality."""
    start = next_quarter_hour()
    day = day_asked(request.GET.get("date", ""))
    initial = {"day": day, "start_time": start.time() if day == start.date() else "08:00"}
    modality = usual_modality(request.user)
    station = Station.objects.filter(active=True, modality=modality).first() if modality else None
    if station:
        initial["station"] = station.pk
    return initial


@transaction.atomic
def _order_book(patient: Patient, form: BookingForm):
    """One order; its procedures one after the other on the station."""
    data = form.cleaned_data
    start = form.start()
    procedures = []
    for code in sorted(data["procedures"], key=lambda code: code.code_meaning):
        step = StepRequest(start=start, station=data["station"])
        procedures.append(
            ProcedureRequest(procedure_code=code, steps=[step], priority=data["priority"])
        )
        start += code.default_duration
    return order_create(
        patient=patient,
        procedures=procedures,
        priority=data["priority"],
        referring_physician_name=data["referring_physician_name"],
        reason_for_request=data["reason_for_request"],
        comments=data["comments"],
    )


def _booked(request, order, form: BookingForm):
    procedures = list(order.requested_procedures.order_by("pk"))
    studies = ", ".join(procedure.study_instance_uid for procedure in procedures)
    messages.success(
        request,
        f"Booked {order.patient} on {form.cleaned_data['station'].name}: "
        f"accession number {order.accession_number}, Study Instance UID {studies}.",
    )
    return to_board(procedures[0].scheduled_steps.first())
