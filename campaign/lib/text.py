"""Text a supporter types that must read in the admin and in mails as it really is.

Embeddings and overrides (U+202A..U+202E) and isolates (U+2066..U+2069) reorder every character up to their
end: "\u202egnp.exe" shows as "exe.png", and a first name can swallow the country shown after it in the admin.
Signers' names and letter writers' first names refuse them; a letter's text has them removed. The
left-to-right and right-to-left marks (U+200E, U+200F) and the Arabic letter mark (U+061C) stay allowed: they
only settle where neutral characters such as punctuation sit, and Arabic and Hebrew keyboards type them as
part of ordinary text.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_BIDI_CONTROL = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def bidi_controls_in(text: str) -> bool:
    """Whether `text` holds a character that reorders the text after it (see BIDI_CONTROLS)."""
    return _BIDI_CONTROL.search(text) is not None


def without_bidi_controls(text: str) -> str:
    return _BIDI_CONTROL.sub("", text)
