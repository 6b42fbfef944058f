"""The French and Arabic catalogs are complete and safe to format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_string_is_translated(language):
    missing = []
    for message in catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id)
    assert missing == []


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_translations_keep_the_placeholders(language):
    wrong = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in strings:
            found = set(PLACEHOLDER.findall(form))
            # Arabic's forms for zero, one and two may say the number in words ("توقيعان") and leave it out.
            if found - wanted or (not isinstance(message.string, tuple) and found != wanted):
                wrong.append((message.id, form))
    assert wrong == []


def test_arabic_has_its_six_plural_forms():
    assert catalog("ar").num_plurals == 6
