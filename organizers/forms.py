"""Organizers' forms: offline reports (admin), export requests (staff pages), the lists for the authority, and
the reports of events that local groups and event links send."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout, Submit
from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from campaign.forms import CountryChoiceField
from campaign.lib.abuse import HumanCheckFormMixin
from campaign.lib.text import without_bidi_controls
from campaign.models import ActionKind, Campaign, Case, ExportJob, OfflineReport

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


# --- Reports of events sent by local groups and from an event's link --------------------------------------

# "Posts started here" are counted by the site itself: nobody reports them from an event.
EVENT_KINDS = [(value, label) for value, label in ActionKind.choices if value != ActionKind.POST]


def _plain(text: str) -> str:
    """What a reporter typed, without the characters that reorder what follows them in the admin."""
    return without_bidi_controls(text).strip()


class EventReportForm(forms.Form):
    """What an event's report says: the same for a local group's member (who also picks the case) and for
    the public link of a tally sheet (whose case is in the address)."""

    kind = forms.ChoiceField(label=_("Kind of action"), choices=EVENT_KINDS, initial=ActionKind.LETTER)
    count = forms.IntegerField(label=_("How many"), min_value=1)
    day = forms.DateField(label=_("Day of the event"), widget=forms.DateInput(attrs={"type": "date"}))
    country = CountryChoiceField(label=_("Country where the actions were taken"), required=False)
    event_name = forms.CharField(
        label=_("Event or organisation"),
        max_length=200,
        help_text=_("For example: Lycée Victor Hugo, Lyon."),
    )
    note = forms.CharField(
        label=_("Anything the organizers should know (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, case: Case | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        # Read at each form, so a site (or a test) can change it without restarting.
        self.fields["count"].validators.append(
            MaxValueValidator(
                settings.EVENT_REPORT_MAX_COUNT,
                message=_("That is more than one event counts: send one report per event, or ask an organizer."),
            )
        )
        self.fields["count"].widget.attrs["max"] = settings.EVENT_REPORT_MAX_COUNT
        self.fields["day"].initial = timezone.localdate

    def clean_event_name(self) -> str:
        return " ".join(_plain(self.cleaned_data["event_name"]).split())

    def clean_note(self) -> str:
        return _plain(self.cleaned_data["note"])

    def report_case(self) -> Case | None:
        return self.cleaned_data.get("case") or self.case

    def clean(self) -> dict:
        data = super().clean()
        case = self.report_case()
        if case is not None and all(data.get(f) is not None for f in ("kind", "day", "count")):
            try:
                offline_reports.validate_offline_report(case, data["kind"], data["day"], data["count"])
            except ValidationError as exc:
                self.add_error("day", exc)
        return data


class PublicEventReportForm(HumanCheckFormMixin, EventReportForm):
    """The form the link on an event's tally sheet opens: anyone may send it, an organizer approves it."""

    min_seconds_to_fill = 3

    @property
    def helper(self) -> FormHelper:
        helper = FormHelper()
        helper.form_method = "post"
        helper.layout = Layout(
            Field("kind"),
            Field("count"),
            Field("day"),
            Field("country"),
            Field("event_name"),
            Field("note"),
            # Hidden from people by CSS and from screen readers; bots fill it in.
            Div(Field("website"), css_class="plume-hp", aria_hidden="true"),
            Field("started"),
            HTML('<p class="small">{% include "campaign/_privacy_link.html" %}</p>'),
            Submit("send", _("Send the report"), css_class="btn-dark btn-lg"),
        )
        return helper


class GroupEventReportForm(EventReportForm):
    """A local group member's report: they choose the case among the public ones."""

    case = forms.ModelChoiceField(
        label=_("Case"), queryset=Case.objects.public().select_related("campaign").order_by("-campaign__opens_at")
    )
    field_order = ["case"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.add_input(Submit("send", _("Send the report"), css_class="btn-dark"))
