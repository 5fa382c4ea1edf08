"""Query parameters of the list endpoints (django-filter)."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from ris.mpps.models import PerformedProcedureStep
from ris.scheduling import selectors
from ris.scheduling.models import (
    Modality,
    Order,
    OrderStatus,
    Patient,
    ScheduledProcedureStep,
    StepStatus,
)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, in UTC: PostgreSQL takes offsets only up to 15:59, where
    ISO 8601 (and Python) allow up to 23:59."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("The time is out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class IdField(forms.IntegerField):
    """A row's id: a whole number a database column holds (64 bits). A
    NumberFilter took any decimal, and SQLite fails on one over 64 bits."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -(2**63))
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class PatientFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        method="filter_name",
        help_text='Patient\'s Name as a DICOM PN query, case-insensitive: "Müller", "MÜL*^J*".',
    )
    patient_id = django_filters.CharFilter(help_text="Patient ID (0010,0020), exact.")
    issuer = django_filters.CharFilter(
        field_name="issuer_of_patient_id", help_text="Issuer of Patient ID (0010,0021), exact."
    )
    birth_date = django_filters.DateFilter(help_text="Birth date, YYYY-MM-DD.")

    class Meta:
        model = Patient
        fields = ["name", "patient_id", "issuer", "birth_date"]

    def filter_name(self, queryset, name, value):
        return selectors.patients_named(patients=queryset, name=value)


class OrderFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id", help_text="The patient's id.")
    patient_id = django_filters.CharFilter(
        field_name="patient__patient_id", help_text="Patient ID (0010,0020), exact."
    )
    accession_number = django_filters.CharFilter(help_text="Accession Number, exact.")
    placer_order_number = django_filters.CharFilter(help_text="Placer Order Number, exact.")
    placer_issuer = django_filters.CharFilter(help_text="Order Placer Identifier, exact.")
    status = django_filters.MultipleChoiceFilter(
        choices=OrderStatus.choices, help_text="Order status; repeat for several."
    )
    modality = django_filters.ChoiceFilter(
        choices=Modality.choices, method="filter_steps", help_text="A step's modality."
    )
    station = django_filters.CharFilter(
        method="filter_steps", help_text="A step's scheduled station AE title."
    )
    scheduled_from = UtcDateTimeFilter(
        method="filter_steps", help_text="A step starts at or after this time (ISO 8601)."
    )
    scheduled_to = UtcDateTimeFilter(
        method="filter_steps", help_text="A step starts before this time (ISO 8601)."
    )
    updated_since = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this time."
    )

    class Meta:
        model = Order
        fields = ["patient", "patient_id", "accession_number", "status"]

    def filter_steps(self, queryset, name, value):
        # The step conditions apply together, to one and the same step.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        step = _step_conditions(self.form.cleaned_data)
        if step:
            steps = ScheduledProcedureStep.objects.filter(step)
            queryset = queryset.filter(pk__in=steps.values("requested_procedure__order_id"))
        return queryset


class ScheduledStepFilter(django_filters.FilterSet):
    order = IdFilter(field_name="requested_procedure__order_id", help_text="The order's id.")
    accession_number = django_filters.CharFilter(
        field_name="requested_procedure__order__accession_number"
    )
    status = django_filters.MultipleChoiceFilter(choices=StepStatus.choices)
    modality = django_filters.ChoiceFilter(choices=Modality.choices)
    station = django_filters.CharFilter(field_name="scheduled_station_ae_title")
    scheduled_from = UtcDateTimeFilter(field_name="start", lookup_expr="gte")
    scheduled_to = UtcDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = ScheduledProcedureStep
        fields = ["order", "accession_number", "status", "modality", "station"]


class PerformedStepFilter(django_filters.FilterSet):
    order = IdFilter(
        field_name="scheduled_steps__requested_procedure__order_id",
        distinct=True,
        help_text="The id of an order whose steps it performs.",
    )
    accession_number = django_filters.CharFilter()
    study_instance_uid = django_filters.CharFilter()
    patient_id = django_filters.CharFilter()
    status = django_filters.CharFilter(help_text='"IN PROGRESS", "COMPLETED", "DISCONTINUED".')
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = PerformedProcedureStep
        fields = ["order", "accession_number", "study_instance_uid", "patient_id", "status"]


def _step_conditions(data: dict) -> Q:
    lookups = {
        "modality": "modality",
        "station": "scheduled_station_ae_title",
        "scheduled_from": "start__gte",
        "scheduled_to": "start__lt",
    }
    return Q(**{lookup: data[name] for name, lookup in lookups.items() if data.get(name)})
