"""Organizers' forms: offline reports (admin) and export requests (staff pages)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Campaign, ExportJob, OfflineReport


class OfflineReportForm(forms.ModelForm):
    """What an organizer types for a report or its correction; the service does the writing."""

    class Meta:
        model = OfflineReport
        fields = ["case", "kind", "count", "day", "country", "event_name", "note"]
        widgets = {"day": forms.DateInput(attrs={"type": "date"})}

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk and not OfflineReport.objects.filter(pk=self.instance.pk, is_current=True).exists():
            raise ValidationError(_("This report was corrected meanwhile: open its latest revision and try again."))
        if all(data.get(f) is not None for f in ("case", "kind", "day", "count")):
            services.validate_offline_report(data["case"], data["kind"], data["day"], data["count"])
        return data


class ExportRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Export"), choices=ExportJob.Kind.choices, widget=forms.RadioSelect)
    format = forms.ChoiceField(label=_("Format"), choices=ExportJob.Format.choices, widget=forms.RadioSelect)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.all(), required=False, empty_label=_("Every campaign")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].initial = ExportJob.Kind.BY_DAY
        self.fields["format"].initial = ExportJob.Format.CSV
        self.helper = FormHelper()
        self.helper.form_tag = False
