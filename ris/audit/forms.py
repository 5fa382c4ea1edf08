from django import forms


class AuditFilterForm(forms.Form):
    """The filters of the audit list, from the query string; all optional."""

    actor = forms.CharField(required=False, help_text="User, API client or AE title.")
    action = forms.CharField(required=False, help_text='Or its start, e.g. "step."')
    object = forms.CharField(
        required=False, label="Object", help_text="Accession number, SPS ID, patient ID or UID."
    )
    outcome = forms.ChoiceField(
        required=False,
        choices=[
            ("", "any"),
            ("success", "success"),
            ("warning", "warning"),
            ("failure", "failure"),
            ("rejected", "rejected association"),
            ("aborted", "aborted"),
        ],
        help_text="Refusals are failures.",
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict:
        """The keyword arguments of ris.audit.selectors.audit_events."""
        data = self.cleaned_data
        return {
            "actor": data["actor"],
            "action": data["action"],
            "object_id": data["object"],
            "outcome": data["outcome"],
            "since": data["since"],
            "until": data["until"],
        }
