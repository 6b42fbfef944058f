"""The automatic pre-screen: reasons for a moderator to look closer at a letter, never a decision.

`screen_letter` flags links, email addresses, phone numbers, words from the editable list and repeats (the
same text reduced to its words: `text_fingerprint`). The invisible characters that can make a text read
differently from what it is are `campaign.lib.text`'s: the letter form refuses them in a first name and
removes them from a message (`letters.forms.LetterForm`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..models import FlaggedWord, Letter

_LINK = re.compile(
    r"https?://|www\.|\b[\w-]+\.(?:com|org|net|info|io|ly|me|co|xyz|ru|cn|top|biz|site|online|link|app)\b", re.I
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Eight digits or more, whatever separates them (spaces, dots, dashes, brackets, a leading +); \d also matches
# Arabic-Indic digits.
_PHONE = re.compile(r"(?<!\d)\+?\d(?:[\s().\-/]*\d){7,}")


def normalise_text(text: str) -> str:
    """The text reduced to its words: case, accents' forms, punctuation and spacing do not matter."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()


@dataclass
class Screening:
    flags: list[str]
    notes: list[str]


def screen_letter(text: str, language: str, text_hash: str, exclude_pk: int | None = None) -> Screening:
    """Reasons for a closer look at this text (never a decision: a flagged letter is still pending)."""
    result = Screening([], [])

    def flag(code: str, note: str) -> None:
        if code not in result.flags:
            result.flags.append(code)
        result.notes.append(note)

    if match := _LINK.search(text):
        flag(Letter.Flag.LINK, _("Link: %(found)s") % {"found": match.group(0)})
    if match := _EMAIL.search(text):
        flag(Letter.Flag.EMAIL, _("Email address: %(found)s") % {"found": match.group(0)})
    if match := _PHONE.search(text):
        flag(Letter.Flag.PHONE, _("Phone number: %(found)s") % {"found": match.group(0).strip()})
    folded = unicodedata.normalize("NFKC", text).casefold()
    for word in FlaggedWord.objects.filter(language=language).values_list("word", flat=True):
        needle = unicodedata.normalize("NFKC", word).casefold().strip()
        if needle and re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", folded):
            flag(Letter.Flag.WORD, _("Word from the list: %(found)s") % {"found": word})
    repeats = Letter.objects.filter(text_hash=text_hash)
    if exclude_pk is not None:
        repeats = repeats.exclude(pk=exclude_pk)
    if n := repeats.count():
        flag(Letter.Flag.REPEAT, _("Same text as %(n)d other letter(s)") % {"n": n})
    return result
