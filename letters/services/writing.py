"""Writing: a supporter's letter is screened and stored, pending moderation."""

from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from campaign.models import Case

from ..models import Letter
from .screening import screen_letter, text_fingerprint


def submit_letter(
    case: Case, data: dict, image: ContentFile | None, suspicion: str = "", writer_language: str = ""
) -> Letter:
    """Store a supporter's letter (from LetterForm.cleaned_data), screened and pending moderation. Call once
    the form is valid and the writer's rate limits passed (letters.views.write_letter)."""
    letter = Letter(
        case=case,
        addressed_to=data["addressed_to"],
        first_name=data["first_name"].strip(),
        country=data["country"],
        language=data["language"],
        text=data["text"].strip(),
        writer_email=(data.get("writer_email") or "") if data.get("writer_consent") else "",
        writer_consent=bool(data.get("writer_email") and data.get("writer_consent")),
        writer_language=writer_language or settings.LANGUAGE_CODE,
    )
    letter.text_hash = text_fingerprint(letter.text)
    screening = screen_letter(letter.text, letter.language, letter.text_hash)
    if suspicion:
        screening.flags.append(Letter.Flag.BOT)
        screening.notes.append(_("Automatic check: %(rule)s") % {"rule": suspicion})
    letter.flags = " ".join(screening.flags)
    letter.flag_notes = "\n".join(screening.notes)
    if image is not None:
        letter.image.save(image.name, image, save=False)
    letter.save()
    return letter
