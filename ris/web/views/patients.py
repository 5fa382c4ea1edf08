"""A patient's exams: what the front desk answers when a patient calls to ask
when (and where) their appointment is."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ris.scheduling.models import Patient
from ris.scheduling.selectors import scheduled_steps_of_patient
from ris.web.views.board import mark_status

PAST_SHOWN = 20


@login_required
@permission_required("scheduling.view_patient", raise_exception=True)
def patient(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    steps = scheduled_steps_of_patient(patient=patient)
    now = timezone.now()
    upcoming = list(steps.filter(start__gte=now).order_by("start", "pk"))
    past = list(steps.filter(start__lt=now).order_by("-start", "-pk")[:PAST_SHOWN])
    for step in upcoming + past:
        mark_status(step)
    return render(
        request,
        "web/patient.html",
        {"nav": "book", "patient": patient, "upcoming": upcoming, "past": past},
    )
