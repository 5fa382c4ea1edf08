"""The web UI's forms: what a scheduler types, checked before the services are called."""

from datetime import UTC, date, datetime, timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from ris.scheduling.models import Patient, Priority, ProcedureCode, Station
from ris.scheduling.services import SchedulingConflict


def grouped_by_modality(field: forms.ModelChoiceField, modality_of) -> None:
    """Choices under one heading per modality, as a scheduler looks for a station
    or a procedure (read when the form is made, not when this module loads)."""
    groups: dict[str, list] = {}
    for instance in field.queryset:
        groups.setdefault(modality_of(instance), []).append(
            (instance.pk, field.label_from_instance(instance))
        )
    empty = [("", field.empty_label)] if getattr(field, "empty_label", None) else []
    field.choices = empty + sorted(groups.items())


# Days a schedule can hold; outside them a date is a typo (and the day after
# 9999-12-31 cannot even be computed).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9000, 12, 31)


class SlotForm(forms.Form):
    """A station and a start: where and when a step is done."""

    station = forms.ModelChoiceField(queryset=Station.objects.filter(active=True))
    day = forms.DateField(
        label="Date",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
    )
    start_time = forms.TimeField(
        label="Start", widget=forms.TimeInput(attrs={"type": "time", "step": 300})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        grouped_by_modality(self.fields["station"], lambda station: station.modality)

    def clean(self):
        cleaned = super().clean()
        if "day" in cleaned and "start_time" in cleaned:
            zone = timezone.get_default_timezone()
            through_utc = self.start().astimezone(UTC).astimezone(zone)
            if through_utc.replace(tzinfo=None) != self._naive_start():
                # 02:30 on the night the clocks go forward: there is no such time.
                self.add_error("start_time", "There is no such time on that day (clock change).")
        return cleaned

    def start(self) -> datetime:
        """The start in the department's zone (TIME_ZONE), as the board shows it."""
        return timezone.make_aware(self._naive_start(), timezone.get_default_timezone())

    def _naive_start(self) -> datetime:
        return datetime.combine(self.cleaned_data["day"], self.cleaned_data["start_time"])

    def refuse(self, conflict: SchedulingConflict) -> None:
        """A double booking or a step that moved on meanwhile, shown above the form."""
        self.add_error(None, conflict.comment)


def next_quarter_hour() -> datetime:
    now = timezone.localtime()
    rounded = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return rounded + timedelta(minutes=15)


class BookingForm(SlotForm):
    """An exam: procedures from the catalog, one after the other on one station."""

    procedures = forms.ModelMultipleChoiceField(
        queryset=ProcedureCode.objects.filter(active=True),
        label="Procedures",
        help_text="Hold Ctrl (or ⌘) to choose more than one; they are booked one after "
        "the other, each for its usual duration.",
        widget=forms.SelectMultiple(attrs={"size": 8, "autofocus": True}),
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)
    referring_physician_name = forms.CharField(
        label="Referring physician",
        required=False,
        max_length=64,
        help_text="Family^Given, as in DICOM.",
    )
    reason_for_request = forms.CharField(label="Reason for the exam", required=False, max_length=64)
    comments = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        procedures = self.fields["procedures"]
        procedures.label_from_instance = procedure_label
        grouped_by_modality(procedures, lambda code: code.default_modality)


def procedure_label(code: ProcedureCode) -> str:
    """What a scheduler picks by: the meaning and how long it takes."""
    return f"{code.code_meaning} ({code.default_duration.total_seconds() // 60:.0f} min)"


class PatientForm(forms.ModelForm):
    """A new patient; the RIS assigns the Patient ID when none is typed."""

    class Meta:
        model = Patient
        fields = [
            "family_name",
            "given_name",
            "birth_date",
            "sex",
            "patient_id",
            "issuer_of_patient_id",
        ]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}
        help_texts = {"patient_id": "Left empty, the RIS assigns one."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient_id"].required = False
        self.fields["family_name"].required = True
