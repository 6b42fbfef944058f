"""The country field every supporters' form uses (the petition, the letter)."""

from __future__ import annotations

import functools

from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries


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
