"""Forms of the campaign app: the country field every supporters' form uses, and organizers' forms
(offline reports in the admin, export requests on the staff pages)."""

from __future__ import annotations

import functools

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from . import services
from .models import Campaign, ExportJob, OfflineReport


@functools.cache
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries)


def _country_choices() -> list[tuple[str, str]]:
    # Called when the form is rendered: translated and sorted in the visitor's language.
    return [("", _("Choose your country")), *countries]


class CountrySelect(forms.Select):
    """Renders the ~250 translated, sorted options once per language and process, not on every page view
    (they were most of the case page's time). A form shown again with the visitor's choice renders anew."""

    _rendered: dict[tuple, str] = {}

    def render(self, name, value, attrs=None, renderer=None) -> str:
        if value not in (None, ""):
            return super().render(name, value, attrs, renderer)
        final_attrs = self.build_attrs(self.attrs, attrs)
        key = (get_language(), name, tuple(sorted((k, str(v)) for k, v in final_attrs.items())))
        html = self._rendered.get(key)
        if html is None:
            html = self._rendered[key] = super().render(name, value, attrs, renderer)
        # Rendered by Django's own (escaping) widget template above.
        return mark_safe(html)  # noqa: S308


class CountryChoiceField(forms.ChoiceField):
    """The visitor's country, listed in their language. The list is built only when shown; a submitted code
    is checked against a set, without building and sorting the ~250 translated names on every POST."""

    widget = CountrySelect

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=_country_choices, **kwargs)

    def valid_value(self, value: str) -> bool:
        return value in _country_codes()


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
