"""The audit trail for administrators: a filtered list, and the same rows as CSV."""

import csv
from datetime import UTC
from itertools import chain

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ris.audit.forms import AuditFilterForm
from ris.audit.models import AuditEvent
from ris.audit.selectors import audit_events

PAGE_SIZE = 100
CSV_HEADER = [
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


@require_safe
@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_list(request):
    form = AuditFilterForm(request.GET)
    # Bad filter values (a date that is none) show nothing but the form's errors.
    events = audit_events(**form.filters()) if form.is_valid() else AuditEvent.objects.none()
    if request.GET.get("format") == "csv":
        return _csv_response(events)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {
        "nav": "audit",  # the web UI's menu marks its audit entry as the current page
        "form": form,
        "page": Paginator(events, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query.urlencode(),
    }
    return render(request, "audit/list.html", context)


class _Echo:
    """A file for csv.writer that hands each row back, to be streamed."""

    def write(self, value: str) -> str:
        return value


def _csv_response(events) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = chain([CSV_HEADER], (_csv_row(event) for event in events.iterator(chunk_size=1000)))
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


def _csv_row(event: AuditEvent) -> list[str]:
    return [_inert(value) for value in _csv_values(event)]


def _inert(value: str) -> str:
    """A cell a spreadsheet would run as a formula (an AE title or accession
    number sent as "=cmd|..."), quoted so that it stays text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_values(event: AuditEvent) -> list[str]:
    return [
        event.at.astimezone(UTC).isoformat(),
        event.actor_kind,
        event.actor,
        event.address,
        event.action,
        event.object_type,
        event.object_id,
        event.outcome,
        event.detail_as_json(),
    ]
