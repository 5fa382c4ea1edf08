"""Unmatched MPPS: performed steps that referenced nothing the RIS scheduled,
and linking each to the scheduled steps it performed."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from ris.mpps.models import PerformedProcedureStep
from ris.mpps.selectors import (
    CandidateMatch,
    mpps_link_candidates,
    performed_step_day,
    performed_steps_unmatched,
)
from ris.mpps.services import AlreadyLinked, mpps_reconcile, stored_dataset
from ris.scheduling.models import ScheduledProcedureStep
from ris.web.views.common import name_shown, step_shown

PAGE_SIZE = 50
CAN_LINK = "mpps.change_performedprocedurestep"

can_see_mpps = permission_required("mpps.view_performedprocedurestep", raise_exception=True)


class LinkForm(forms.Form):
    """The scheduled steps an MPPS performed: one, or several in the group case
    (PS3.4 F.7.2.1.1: one MPPS may reference several scheduled steps)."""

    steps = forms.ModelMultipleChoiceField(
        queryset=ScheduledProcedureStep.objects.none(),
        error_messages={
            "required": "Choose the scheduled step (or steps) this MPPS performed.",
            "invalid_choice": "A chosen step can no longer be linked (it was completed or "
            "canceled meanwhile); choose again.",
            "invalid_pk_value": "Choose steps from the list.",
        },
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["steps"].queryset = candidates


@login_required
@can_see_mpps
def unmatched_mpps(request):
    page = Paginator(performed_steps_unmatched(), PAGE_SIZE).get_page(request.GET.get("page"))
    for performed in page:
        performed.patient_shown = name_shown(performed.patient_name)
    return render(request, "web/mpps_unmatched.html", {"nav": "mpps", "page": page})


@login_required
@can_see_mpps
def mpps_link(request, pk: int):
    """GET: the MPPS and the steps it may have performed; POST: link the chosen ones."""
    if request.method == "POST" and not request.user.has_perm(CAN_LINK):
        raise PermissionDenied
    performed = get_object_or_404(PerformedProcedureStep, pk=pk)
    if performed.scheduled_steps.exists():
        return _already_linked(request, performed)
    candidates = mpps_link_candidates(performed=performed)
    # Bound on every POST, an empty one too: no step ticked is an error to show.
    data = request.POST if request.method == "POST" else None
    form = LinkForm(data, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        steps = list(form.cleaned_data["steps"])
        try:
            mpps_reconcile(performed=performed, steps=steps)
        except AlreadyLinked:
            return _already_linked(request, performed)
        names = ", ".join(step_shown(step) for step in steps)
        messages.success(request, f"Linked {_performed_shown(performed)} to {names}.")
        return redirect("web:unmatched_mpps")
    return render(request, "web/mpps_link.html", _link_context(performed, candidates, form))


def _already_linked(request, performed: PerformedProcedureStep):
    """Linked meanwhile (another scheduler, or the admin): said, not linked twice."""
    names = ", ".join(step_shown(step) for step in performed.scheduled_steps.all())
    messages.error(request, f"{_performed_shown(performed)} is already linked to {names}.")
    return redirect("web:unmatched_mpps")


def _link_context(performed: PerformedProcedureStep, candidates, form: LinkForm) -> dict:
    chosen = {str(value) for value in form["steps"].value() or []}
    candidates = list(candidates)
    for step in candidates:
        step.match_label = CandidateMatch(step.match).label
        step.chosen = str(step.pk) in chosen
    performed.patient_shown = name_shown(performed.patient_name)
    return {
        "nav": "mpps",
        "performed": performed,
        "sent": _as_sent(performed),
        "day": performed_step_day(performed),
        "candidates": candidates,
        "form": form,
    }


def _as_sent(performed: PerformedProcedureStep) -> dict:
    """What the modality sent that the columns do not keep: its description, its
    station's name, and the references of each Scheduled Step Attributes item
    (0040,0270), which are why it matched nothing."""
    dataset = stored_dataset(performed)
    references = [
        {
            "accession_number": item.get("AccessionNumber") or "",
            "requested_procedure_id": item.get("RequestedProcedureID") or "",
            "sps_id": item.get("ScheduledProcedureStepID") or "",
            "study_instance_uid": item.get("StudyInstanceUID") or "",
        }
        for item in dataset.get("ScheduledStepAttributesSequence") or []
    ]
    return {
        "description": dataset.get("PerformedProcedureStepDescription") or "",
        "station_name": dataset.get("PerformedStationName") or "",
        "references": references,
    }


def _performed_shown(performed: PerformedProcedureStep) -> str:
    patient = name_shown(performed.patient_name) or "no patient name"
    ident = performed.performed_procedure_step_id or performed.sop_instance_uid
    return f"MPPS {ident} ({patient}, {performed.performed_station_ae_title or 'no station'})"
