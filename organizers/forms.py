"""Organizers' forms: offline reports (admin), export requests (staff pages), the lists for the authority."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from campaign.models import Campaign, Case, ExportJob, OfflineReport

from . import offline_reports
from .exports import base as exports
from .exports.totals import BY_DAY


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
            offline_reports.validate_offline_report(data["case"], data["kind"], data["day"], data["count"])
        return data


class ExportRequestForm(forms.Form):
    """An export of the totals for one campaign or all: the kinds this organizer may request."""

    kind = forms.ChoiceField(label=_("Export"), widget=forms.RadioSelect)
    format = forms.ChoiceField(label=_("Format"), choices=ExportJob.Format.choices, widget=forms.RadioSelect)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.all(), required=False, empty_label=_("Every campaign")
    )

    def __init__(self, *args, user: AbstractBaseUser, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = exports.kinds_for(user)
        self.fields["kind"].initial = BY_DAY.kind
        self.fields["format"].initial = ExportJob.Format.CSV
        self.helper = FormHelper()
        self.helper.form_tag = False


def _country_or_all() -> list[tuple[str, str]]:
    return [("", _("Every country")), *countries]


class SignatureListExportForm(forms.Form):
    """The organizers' request for a case's list of signatures as a file (the lists for the authority)."""

    case = forms.ModelChoiceField(
        label=_("Case"),
        queryset=Case.objects.select_related("campaign"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    country = forms.ChoiceField(
        label=_("Country"),
        choices=_country_or_all,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    format = forms.ChoiceField(choices=ExportJob.Format.choices, initial=ExportJob.Format.CSV)
