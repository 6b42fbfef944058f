"""Every language Plume ships has a complete, safe catalogue, and the demo cases have texts in it.

"Complete" is measured against the source, not against a catalogue: every string the code and the templates
mark for translation (extracted here as `make makemessages` would, without GNU gettext) must have a translation
in one of the catalogues Django reads for that language (the project's locale/, each app's locale/, Django's
own). So a string added anywhere without its translation fails here, whichever catalogue it belongs in.
"""

from __future__ import annotations

import contextlib
import gettext
import io
import json
import re
from functools import cache
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import extract
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
# Every language Plume ships but the one its source strings are written in; a site offers any of them.
LANGUAGES = [code for code in settings.AVAILABLE_LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
# What `makemessages` reads, as xgettext's keywords for Django.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
SKIPPED = {".venv", "var", "bench", "tests", "node_modules", "static", "migrations", "locale"}


def _sources() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if set(path.relative_to(ROOT).parts) & SKIPPED or not path.is_file():
            continue
        if path.suffix == ".py" or (path.suffix in (".html", ".txt") and "templates" in path.parts):
            found.append(path)
    return sorted(found)


@cache
def source_strings() -> dict[tuple[str | None, str], str]:
    """(context, msgid) of every string marked for translation, with the first file that has it."""
    strings: dict[tuple[str | None, str], str] = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            # Django's own step before xgettext; Python's tokenizer then wants no indentation at all.
            text = "\n".join(line.lstrip() for line in templatize(text, origin=str(path)).splitlines())
        elif "gettext" not in text:
            continue
        for _line, message, _comments, context in extract(
            "python", io.BytesIO(text.encode("utf-8")), keywords=KEYWORDS, options={"encoding": "utf-8"}
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                strings.setdefault((context, msgid), str(path.relative_to(ROOT)))
    return strings


def catalogue_files(language: str, ours_only: bool = False) -> list[Path]:
    """The .po files Django reads for `language`: LOCALE_PATHS, each installed app's locale/ and Django's own."""
    folders = [Path(p) for p in settings.LOCALE_PATHS]
    folders += [Path(config.path) / "locale" for config in apps.get_app_configs()]
    if not ours_only:
        import django

        folders.append(Path(django.__file__).parent / "conf" / "locale")
    files = [folder / language / "LC_MESSAGES" / "django.po" for folder in folders]
    return [f for f in files if f.exists() and (not ours_only or (ROOT in f.parents and ".venv" not in f.parts))]


def read(path: Path, language: str):
    with path.open("rb") as po:
        if ".venv" in path.parts:
            # Django's own catalogues may count plural forms their own way (Spanish: three), which Babel's reader
            # prints a warning about for every plural: read them quietly, as they are.
            with contextlib.redirect_stdout(io.StringIO()):
                return read_po(po)
        return read_po(po, locale=language)


@cache
def translated(language: str) -> set[tuple[str | None, str]]:
    done = set()
    for path in catalogue_files(language):
        for message in read(path, language):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id and not message.fuzzy and all(strings):
                done.add((message.context, message.id[0] if isinstance(message.id, tuple) else message.id))
    return done


def test_the_source_strings_are_found():
    """The extraction itself works: it finds strings of Python code, of templates, with a context and plurals."""
    strings = source_strings()
    assert (None, "Sign the petition") in strings  # petitions/forms.py
    assert (None, "What we ask") in strings  # a template
    assert (None, "%(count)s signature") in strings  # ngettext, in campaign/templatetags/plume.py
    assert len(strings) > 500


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language):
    missing = sorted(
        f"{where}: {key[1]!r}" for key, where in source_strings().items() if key not in translated(language)
    )
    assert not missing, f"{len(missing)} strings have no {language} translation:\n" + "\n".join(missing[:60])


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shipped_language_has_a_catalogue_of_its_own(language):
    assert (LOCALE / language / "LC_MESSAGES" / "django.po").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    wrong = []
    for path in catalogue_files(language, ours_only=True):
        for message in read(path, language):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            wanted = set(PLACEHOLDER.findall(ids[-1]))
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for form in strings:
                found = set(PLACEHOLDER.findall(form))
                # Arabic's forms for zero, one and two may say the number in words ("توقيعان") and leave it out.
                if found - wanted or (not isinstance(message.string, tuple) and found != wanted):
                    wrong.append((str(path.relative_to(ROOT)), message.id, form))
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_follow_the_language(language):
    """Each catalogue's Plural-Forms is the language's (Babel's, from CLDR), gives one index to all the numbers
    CLDR puts in one category, and every plural string has that many forms, all written."""
    expected = get_plural(language)
    rule = Locale.parse(language).plural_form
    wrong = []
    for path in catalogue_files(language, ours_only=True):
        catalogue = read(path, language)
        where = str(path.relative_to(ROOT))
        if (catalogue.num_plurals, catalogue.plural_expr) != (expected.num_plurals, expected.plural_expr):
            wrong.append((where, catalogue.plural_forms))
            continue
        plural = gettext.c2py(catalogue.plural_expr)
        index_of: dict[str, set[int]] = {}
        for n in range(0, 1200):
            index_of.setdefault(rule(n), set()).add(plural(n))
        wrong += [(where, category, indexes) for category, indexes in index_of.items() if len(indexes) > 1]
        for message in catalogue:
            if isinstance(message.id, tuple) and (
                len(message.string) != expected.num_plurals or not all(message.string)
            ):
                wrong.append((where, message.id[0], message.string))
    assert wrong == []


def test_arabic_has_its_six_plural_forms():
    assert read(LOCALE / "ar" / "LC_MESSAGES" / "django.po", "ar").num_plurals == 6


def test_the_site_offers_only_languages_plume_ships():
    assert {code for code, _name in settings.LANGUAGES} <= set(settings.AVAILABLE_LANGUAGES)


DEMO = json.loads((ROOT / "campaign" / "data" / "write-for-rights-2020.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", list(settings.AVAILABLE_LANGUAGES))
def test_every_demo_case_has_texts_in_each_language_or_a_declared_fallback(language):
    """A language Plume ships either has every text of the demo (what the English has) or falls back to the
    language the data file declares, which must have them all."""
    shown = language if language in DEMO["campaign"]["text"] else DEMO["fallback"]
    assert set(DEMO["campaign"]["text"]["en"]) <= set(DEMO["campaign"]["text"][shown])
    missing = [
        (case["slug"], sorted(set(case["text"]["en"]) - set(case["text"].get(shown, {}))))
        for case in DEMO["cases"]
        if set(case["text"]["en"]) - set(case["text"].get(shown, {}))
    ]
    assert missing == []
    empty = [(case["slug"], field) for case in DEMO["cases"] for field, text in case["text"][shown].items() if not text]
    assert empty == []
