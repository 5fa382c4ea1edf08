"""Workitems (UPS): the worklist as the RIS manages it, and asking for a
workitem's cancellation as the RIS itself (PS3.4 CC.2.2.3)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from pydicom import Dataset

from ris.dicom import statuses
from ris.dicom.errors import DicomError
from ris.ups.models import Workitem
from ris.ups.selectors import workitem_subscribers, workitems_active
from ris.ups.services import stored_dataset, ups_request_cancel
from ris.ups.states import CANCELED, IN_PROGRESS, STATES
from ris.web.views.common import back_to, name_shown

PAGE_SIZE = 50


@login_required
@permission_required("ups.view_workitem", raise_exception=True)
def workitems(request):
    state = request.GET.get("state", "")
    if state not in STATES:
        state = ""
    listed = workitems_active()
    if state:
        listed = listed.filter(state=state)
    page = Paginator(listed.order_by("scheduled_start", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for workitem in page:
        _add_shown(workitem)
    return render(
        request,
        "web/workitems.html",
        {
            "nav": "workitems",
            "page": page,
            "state": state,
            "state_query": urlencode({"state": state}) if state else "",
            "states": STATES,
        },
    )


@require_POST
@login_required
@permission_required("ups.change_workitem", raise_exception=True)
def workitem_cancel(request, pk: int):
    """Request UPS Cancel from the RIS's own AE title (CC.2.2.3): a SCHEDULED
    workitem is canceled at once; for one IN PROGRESS the performer decides,
    told through its subscribers (0xC312 when nobody subscribed can tell it)."""
    workitem = get_object_or_404(Workitem, pk=pk)
    label = _label(workitem)
    try:
        status = ups_request_cancel(
            sop_instance_uid=workitem.sop_instance_uid, requesting_ae=settings.RIS_AE_TITLE
        )
    except DicomError as error:
        messages.error(
            request,
            f"Could not request cancellation of {label}: {error.comment} "
            f"(DICOM status 0x{error.status:04X}).",
        )
        return back_to(request, "web:workitems")
    workitem.refresh_from_db(fields=["state"])
    if status == statuses.UPS_ALREADY_CANCELED:
        messages.info(request, f"{label} was canceled already.")
    elif workitem.state == CANCELED:
        messages.success(request, f"Canceled {label}.")
    else:
        messages.success(
            request,
            f"Asked the performer of {label} to cancel it; it stays {workitem.state} "
            "until the performer does.",
        )
    return back_to(request, "web:workitems")


def _add_shown(workitem: Workitem) -> None:
    """What the list shows of the workitem besides its columns."""
    dataset = stored_dataset(workitem)
    workitem.patient_shown = name_shown(workitem.patient_name)
    workitem.performers = _performers(dataset)
    workitem.performed_by = _performed_by(dataset)
    workitem.subscriber_titles = [
        subscriber.ae_title for subscriber in workitem_subscribers(workitem)
    ]
    workitem.cancel_asks_performer = workitem.state == IN_PROGRESS


def _performers(dataset: Dataset) -> list[str]:
    """Who is to do it: each Scheduled Human Performers item (0040,4034) by its
    name, else its code's meaning, with the organization; the scheduled station
    (0040,4025) for a workitem a system performs."""
    shown = []
    for item in dataset.get("ScheduledHumanPerformersSequence") or []:
        who = name_shown(item.get("HumanPerformerName") or "") or _meanings(
            item.get("HumanPerformerCodeSequence")
        )
        organization = item.get("HumanPerformerOrganization") or ""
        shown.append(f"{who} ({organization})" if who and organization else who or organization)
    station = _meanings(dataset.get("ScheduledStationNameCodeSequence"))
    if station:
        shown.append(f"Station {station}")
    return [text for text in shown if text]


def _performed_by(dataset: Dataset) -> list[str]:
    """Who did it, as the performer reported it in its Unified Procedure Step
    Performed Procedure Sequence (0074,1216): the actual human performers
    (0040,4035) and the performed station (0040,4028). The workitem keeps no
    record of which AE claimed it, only its Transaction UID (the audit trail
    has the claim, as that AE's)."""
    shown = []
    for performed in dataset.get("UnifiedProcedureStepPerformedProcedureSequence") or []:
        for item in performed.get("ActualHumanPerformersSequence") or []:
            who = name_shown(item.get("HumanPerformerName") or "") or _meanings(
                item.get("HumanPerformerCodeSequence")
            )
            shown.append(who)
        station = _meanings(performed.get("PerformedStationNameCodeSequence"))
        if station:
            shown.append(f"Station {station}")
    return [text for text in shown if text]


def _meanings(codes) -> str:
    return ", ".join(
        str(code.get("CodeMeaning") or code.get("CodeValue") or "") for code in codes or []
    )


def _label(workitem: Workitem) -> str:
    patient = name_shown(workitem.patient_name) or "no patient"
    label = workitem.procedure_step_label or workitem.sop_instance_uid
    return f"{label} for {patient}"
