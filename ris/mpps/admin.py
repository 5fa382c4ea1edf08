"""Performed procedure steps in the admin: their state, and linking unmatched ones."""

import json

from django.contrib import admin
from django.utils.html import format_html

from ris.mpps.models import PerformedProcedureStep
from ris.mpps.services import mpps_link


class MatchedFilter(admin.SimpleListFilter):
    title = "schedule"
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("no", "Unmatched (to reconcile)"), ("yes", "Matched")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(scheduled_steps__isnull=True)
        if self.value() == "yes":
            return queryset.filter(scheduled_steps__isnull=False).distinct()
        return queryset


@admin.register(PerformedProcedureStep)
class PerformedProcedureStepAdmin(admin.ModelAdmin):
    list_display = [
        "start",
        "performed_station_ae_title",
        "modality",
        "patient_name",
        "patient_id",
        "accession_number",
        "status",
        "matched",
    ]
    list_filter = ["status", MatchedFilter, "modality", "performed_station_ae_title"]
    search_fields = ["=sop_instance_uid", "=accession_number", "=patient_id", "patient_name"]
    date_hierarchy = "start"
    show_full_result_count = False
    raw_id_fields = ["scheduled_steps"]
    readonly_fields = [
        field.name
        for field in PerformedProcedureStep._meta.fields
        if field.name not in ("id", "dataset")
    ] + ["dataset_as_sent"]
    exclude = ["dataset"]

    @admin.display(boolean=True)
    def matched(self, performed):
        return performed.scheduled_steps.exists()

    @admin.display(description="dataset (DICOM JSON)")
    def dataset_as_sent(self, performed):
        return format_html("<pre>{}</pre>", json.dumps(performed.dataset, indent=1))

    def has_add_permission(self, request):
        return False  # MPPS instances come from the modalities

    def save_related(self, request, form, formsets, change):
        # The steps ticked anew are linked by the service first (the schedule
        # moves as if the MPPS had named them, and the audit trail has it);
        # the form then saves the links as ticked, unlinking what was unticked.
        performed = form.instance
        ticked = set(form.cleaned_data.get("scheduled_steps", []))
        mpps_link(performed=performed, steps=sorted(ticked, key=lambda step: step.pk))
        super().save_related(request, form, formsets, change)
