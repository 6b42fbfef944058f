"""The organizers' forms for what Plume prints (#13): hand-over packs, letters packs and their hand-over, and
tally sheets for events."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from campaign.models import Case
from letters.models import FamilyContact

from .exports.base import PDF_A4, PDF_LETTER

PAPER_CHOICES = [(PDF_A4, _("A4")), (PDF_LETTER, _("US Letter"))]
SELECT = {"class": "form-select"}
PAPER_SELECT = forms.Select(attrs=SELECT)


class HandoverPackForm(forms.Form):
    case = forms.ModelChoiceField(
        label=_("Case"), queryset=Case.objects.select_related("campaign"), widget=forms.Select(attrs=SELECT)
    )
    country = forms.ChoiceField(
        label=_("Signatures from"),
        choices=lambda: [("", _("Every country")), *countries],
        required=False,
        widget=forms.Select(attrs=SELECT),
    )
    format = forms.ChoiceField(
        label=_("Paper"), choices=PAPER_CHOICES, initial=PDF_A4, widget=forms.Select(attrs=SELECT)
    )


class LettersPackForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=FamilyContact.objects.by_post(), widget=forms.HiddenInput)
    format = forms.ChoiceField(
        label=_("Paper"), choices=PAPER_CHOICES, initial=PDF_A4, widget=forms.Select(attrs=SELECT)
    )


class HandoverRecordForm(forms.Form):
    """ "Delivered by hand on 10 January to his brother": when, and how and to whom."""

    day = forms.DateField(
        label=_("Handed over or posted on"), widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    note = forms.CharField(
        label=_("How and to whom"),
        max_length=300,
        help_text=_("For example: by hand to his brother; posted by registered mail."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def clean_day(self) -> datetime.date:
        day = self.cleaned_data["day"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day


class TallySheetForm(forms.Form):
    """A tally sheet, blank or filled in for one event (its name, place and day printed at the top)."""

    case = forms.ModelChoiceField(
        label=_("Case"), queryset=Case.objects.select_related("campaign"), widget=forms.Select(attrs=SELECT)
    )
    language = forms.ChoiceField(label=_("Language of the sheet"), widget=forms.Select(attrs=SELECT))
    format = forms.ChoiceField(
        label=_("Paper"), choices=PAPER_CHOICES, initial=PDF_A4, widget=forms.Select(attrs=SELECT)
    )
    event = forms.CharField(
        label=_("Event"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    place = forms.CharField(
        label=_("Place"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    day = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    lines = forms.IntegerField(
        label=_("Lines"),
        min_value=5,
        max_value=500,
        initial=25,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES
