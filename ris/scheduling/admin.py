"""The admin: reference data, and a scheduler's view of orders and the day's steps."""

from datetime import datetime, time, timedelta

import nested_admin
from django import forms
from django.contrib import admin
from django.utils import timezone

from ris.audit.admin import AuditedAdmin
from ris.scheduling.models import (
    Order,
    OtherPatientID,
    Patient,
    ProcedureCode,
    ProtocolCode,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
)
from ris.scheduling.services import (
    CALLED_OFF_STEP_STATUSES,
    SchedulingConflict,
    check_station_free,
    order_refresh_status,
    scheduled_step_take_default_protocols,
)


@admin.register(ProtocolCode)
class ProtocolCodeAdmin(AuditedAdmin):
    list_display = ["code_meaning", "code_value", "coding_scheme_designator", "active"]
    list_filter = ["active", "coding_scheme_designator"]
    search_fields = ["code_value", "code_meaning"]


@admin.register(ProcedureCode)
class ProcedureCodeAdmin(AuditedAdmin):
    list_display = [
        "code_meaning",
        "code_value",
        "coding_scheme_designator",
        "default_modality",
        "default_duration",
        "active",
    ]
    list_filter = ["active", "default_modality", "coding_scheme_designator"]
    search_fields = ["code_value", "code_meaning"]
    filter_horizontal = ["default_protocol_codes"]


@admin.register(Station)
class StationAdmin(AuditedAdmin):
    list_display = ["ae_title", "name", "modality", "location", "capacity", "active"]
    list_filter = ["active", "modality"]
    search_fields = ["ae_title", "name", "location"]


class OtherPatientIDInline(admin.TabularInline):
    model = OtherPatientID
    extra = 0


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["patient_id", "issuer_of_patient_id", "name_display", "birth_date", "sex"]
    list_filter = ["sex", "issuer_of_patient_id"]
    search_fields = [
        "patient_id",
        "family_name",
        "given_name",
        "name_ideographic",
        "name_phonetic",
        "other_ids__other_patient_id",
    ]
    show_full_result_count = False
    inlines = [OtherPatientIDInline]
    fieldsets = [
        (None, {"fields": [("patient_id", "issuer_of_patient_id")]}),
        (
            "Patient's Name (0010,0010)",
            {
                "fields": [
                    ("family_name", "given_name", "middle_name"),
                    ("name_prefix", "name_suffix"),
                    ("name_ideographic", "name_phonetic"),
                ]
            },
        ),
        ("Demographics", {"fields": [("birth_date", "sex"), ("weight_kg", "size_m")]}),
        ("Medical", {"fields": ["medical_alerts", "allergies", "pregnancy_status"]}),
    ]

    @admin.display(description="name", ordering="family_name")
    def name_display(self, patient):
        return str(patient.name)


class StepForm(forms.ModelForm):
    """A step booked or moved in the admin keeps to its station's capacity, as
    everywhere else (ris.scheduling.services.booking.check_station_free)."""

    def _post_clean(self):
        super()._post_clean()
        step = self.instance
        if self.errors or not self.has_changed() or step.station_id is None or not step.start:
            return
        if step.status in CALLED_OFF_STEP_STATUSES:
            return
        if not step.expected_duration:
            procedure = getattr(step, "requested_procedure", None)
            code = getattr(procedure, "procedure_code", None) if procedure else None
            if code is None:
                return  # the procedure's own errors are shown instead
            step.expected_duration = code.default_duration  # what saving fills in
        try:
            check_station_free(step)
        except SchedulingConflict as conflict:
            self.add_error(None, conflict.comment)


class ScheduledStepInline(nested_admin.NestedTabularInline):
    model = ScheduledProcedureStep
    form = StepForm
    extra = 0
    min_num = 1
    # Modality, station name and room come from the station when left empty.
    fields = [
        "sps_id",
        "start",
        "expected_duration",
        "station",
        "description",
        "performing_physician_name",
        "status",
    ]
    autocomplete_fields = ["station"]


class RequestedProcedureInline(nested_admin.NestedStackedInline):
    model = RequestedProcedure
    extra = 0
    min_num = 1
    fields = [
        ("procedure_code", "priority"),
        ("requested_procedure_id", "description"),
        "study_instance_uid",
    ]
    readonly_fields = ["study_instance_uid"]
    autocomplete_fields = ["procedure_code"]
    inlines = [ScheduledStepInline]


def _steps_of(order):
    return ScheduledProcedureStep.objects.filter(requested_procedure__order=order)


@admin.register(Order)
class OrderAdmin(nested_admin.NestedModelAdmin):
    list_display = ["accession_number", "patient", "priority", "status", "created_at"]
    list_filter = ["status", "priority", "created_at"]
    list_select_related = ["patient"]
    search_fields = [
        "accession_number",
        "placer_order_number",
        "filler_order_number",
        "patient__patient_id",
        "patient__family_name",
    ]
    show_full_result_count = False
    autocomplete_fields = ["patient"]
    inlines = [RequestedProcedureInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._steps_before = set(_steps_of(obj))

    def save_related(self, request, form, formsets, change):
        """What order_create does beyond saving rows: steps booked here take their
        procedure's protocol codes, and the order's status follows its steps."""
        super().save_related(request, form, formsets, change)
        order = form.instance
        for step in set(_steps_of(order)) - self._steps_before:
            if not step.protocol_codes.exists():
                scheduled_step_take_default_protocols(step=step)
        order_refresh_status(order=order)

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "patient",
                    ("accession_number", "issuer_of_accession_number"),
                    ("priority", "status"),
                    "reason_for_request",
                ]
            },
        ),
        (
            "Placer and filler",
            {
                "fields": [
                    ("placer_order_number", "placer_issuer"),
                    ("filler_order_number", "filler_issuer"),
                ]
            },
        ),
        (
            "Physicians and visit",
            {
                "fields": [
                    ("referring_physician_name", "requesting_physician"),
                    "requesting_service",
                    ("admission_id", "current_patient_location"),
                    "comments",
                ]
            },
        ),
    ]


class ScheduleDayFilter(admin.SimpleListFilter):
    """Days as a scheduler counts them: today first, then ahead, then back."""

    title = "day"
    parameter_name = "day"
    DAYS = {"today": (0, 1), "tomorrow": (1, 1), "next7": (0, 7), "yesterday": (-1, 1)}

    def lookups(self, request, model_admin):
        return [
            ("today", "Today"),
            ("tomorrow", "Tomorrow"),
            ("next7", "Next 7 days"),
            ("yesterday", "Yesterday"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in self.DAYS:
            return queryset
        offset, days = self.DAYS[self.value()]
        midnight = timezone.make_aware(
            datetime.combine(timezone.localdate() + timedelta(days=offset), time())
        )
        return queryset.filter(start__gte=midnight, start__lt=midnight + timedelta(days=days))


@admin.register(ScheduledProcedureStep)
class ScheduledProcedureStepAdmin(admin.ModelAdmin):
    form = StepForm
    list_display = [
        "start",
        "scheduled_station_ae_title",
        "modality_code",
        "patient_name",
        "patient_id",
        "accession_number",
        "description",
        "status",
    ]
    list_filter = [
        ScheduleDayFilter,
        "modality",
        "scheduled_station_ae_title",
        "status",
    ]
    list_select_related = ["requested_procedure__order__patient"]
    search_fields = [
        "=sps_id",
        "=requested_procedure__order__accession_number",
        "=requested_procedure__order__patient__patient_id",
        "requested_procedure__order__patient__family_name",
        "requested_procedure__order__patient__given_name",
    ]
    date_hierarchy = "start"
    show_full_result_count = False
    list_per_page = 50
    raw_id_fields = ["requested_procedure"]
    autocomplete_fields = ["station"]
    filter_horizontal = ["protocol_codes"]

    @admin.display(description="modality", ordering="modality")
    def modality_code(self, step):
        return step.modality

    @admin.display(
        description="patient", ordering="requested_procedure__order__patient__family_name"
    )
    def patient_name(self, step):
        return step.requested_procedure.order.patient.name.readable()

    @admin.display(description="patient ID")
    def patient_id(self, step):
        return step.requested_procedure.order.patient.patient_id

    @admin.display(description="accession", ordering="requested_procedure__order__accession_number")
    def accession_number(self, step):
        return step.requested_procedure.order.accession_number


@admin.register(RequestedProcedure)
class RequestedProcedureAdmin(admin.ModelAdmin):
    """For lookups by Study Instance UID; procedures are edited under their order."""

    list_display = ["requested_procedure_id", "description", "study_instance_uid", "order"]
    list_select_related = ["order__patient"]
    search_fields = ["=study_instance_uid", "=requested_procedure_id", "=order__accession_number"]
    show_full_result_count = False
    readonly_fields = ["study_instance_uid"]
    raw_id_fields = ["order"]
    autocomplete_fields = ["procedure_code"]
