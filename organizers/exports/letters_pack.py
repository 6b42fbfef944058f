"""The letters pack: the approved letters of a case printed for one family contact reached by post, as an
export job (organizers/exports/base.py).

Registered in OrganizersConfig.ready(). Which letters, and exactly once per contact, is the letters app's
business (`letters.services.packs`); this module lays them out: a cover page with the case, the contact and
the count, then each letter with its writer's first name and country, in its own script and direction
(Arabic right to left and shaped, Chinese, Cyrillic, mixed lines), a moderator's translation beside it when
there is one in the contact's language, and the drawing scaled to fit the page. In the contact's language,
on A4 or US Letter, rendered PART_LETTERS letters at a time (organizers/exports/pdf.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from campaign.models import ExportJob
from letters.models import FamilyContact, Letter
from letters.services import packs

from .base import PDF_A4, PDF_FORMATS, Exporter, paper_size, request_export
from .pdf import PdfBook, text_direction

log = logging.getLogger(__name__)

KIND = "letters_pack"
PART_LETTERS = 25
TEMPLATE = "organizers/packs/letters.html"


def _lang(code: str) -> str:
    """The HTML `lang` of a letter's language (fonts for Chinese, Japanese and Korean are chosen by it)."""
    return "" if code == "other" else code


def _entry(letter: Letter, contact_language: str, country_names: dict[str, str]) -> tuple[dict, Path | None]:
    image = None
    if letter.image:
        try:
            image = Path(letter.image.path)
            if not image.is_file():
                raise FileNotFoundError(letter.image.name)
        except (OSError, ValueError):
            # A lost file must not hold back every letter of the pack: print the words without the drawing.
            log.error("Drawing of letter %s is missing from private storage (%s)", letter.pk, letter.image.name)
            image = None
    translation_text = ""
    if letter.language != contact_language:
        translation_text = next((t.text for t in letter.translations.all() if t.language == contact_language), "")
    entry = {
        "letter": letter,
        "lang": _lang(letter.language),
        "dir": text_direction(letter.text, letter.language),
        "name_dir": text_direction(letter.first_name),
        "country": country_names.get(letter.country.code, ""),
        "image": f"letter-{letter.pk}" if image else "",
        "translation": translation_text,
        "translation_dir": text_direction(translation_text, contact_language),
    }
    return entry, image


def count_letters(job: ExportJob) -> int:
    return packs.pack_for_job(job.pk).letter_count


def write_letters_pack(job: ExportJob, path: Path, progress: Callable[[int], None]) -> tuple[int, str]:
    """Write the pack's PDF; the lease of the pack is renewed after each part (packs.renew_lease raises when the
    pack was given up meanwhile, which fails the export)."""
    pack = packs.pack_for_job(job.pk)
    packs.renew_lease(pack.pk)
    contact: FamilyContact = pack.contact
    case = contact.case
    ids = list(packs.pack_letters(pack).values_list("pk", flat=True))
    language = contact.language
    with translation.override(language):
        country_names = {code: str(name) for code, name in countries}
        footer = _("Letters for %(contact)s · %(case)s") % {"contact": contact.name, "case": case.name}
        context = {
            "case": case,
            "contact": contact,
            "language": language,
            "direction": "rtl" if translation.get_language_bidi() else "ltr",
            "footer": footer,
            "today": timezone.localdate(),
        }
        book = PdfBook(path, paper_size(job.format))
        countries_seen = set(packs.pack_letters(pack).values_list("country", flat=True).distinct())
        book.add(
            TEMPLATE,
            {**context, "part": "cover", "letter_count": len(ids), "country_count": len(countries_seen)},
        )
        done = 0
        for start in range(0, len(ids), PART_LETTERS):
            letters = packs.pack_letters(pack).filter(pk__in=ids[start : start + PART_LETTERS])
            entries, images = [], {}
            for letter in letters:
                entry, image = _entry(letter, language, country_names)
                entries.append(entry)
                if image is not None:
                    images[entry["image"]] = image
            book.add(TEMPLATE, {**context, "part": "letters", "entries": entries}, images)
            done += len(entries)
            progress(done)
            packs.renew_lease(pack.pk)
        book.close(title=footer)
    return done, "pdf"


LETTERS_PACK = Exporter(
    kind=KIND,
    label=gettext_lazy("Letters pack to print (PDF)"),
    permission="letters.print_letters",
    sheet_title=lambda: _("Letters"),
    count=count_letters,
    rows=lambda job: iter(()),
    needs_case=True,
    formats=PDF_FORMATS,
    write_file=write_letters_pack,
    finish=lambda job: packs.mark_pack_ready(job.pk),
    fail=lambda job: packs.give_back_pack(job.pk),
)


@transaction.atomic
def request_letters_pack(*, requested_by: AbstractBaseUser, contact: FamilyContact, format: str = PDF_A4) -> ExportJob:
    """Ask a worker for the next letters pack of a family contact reached by post: the letters it has not had
    printed are recorded for it now (letters.services.packs.start_letters_pack), the file follows on the
    export page. Raises packs.PackRefused, with nothing created, when there is nothing to print or a pack is
    being prepared."""
    job = request_export(requested_by=requested_by, kind=KIND, format=format, case=contact.case)
    packs.start_letters_pack(contact.pk, job, requested_by)
    return job
