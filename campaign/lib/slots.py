"""The one slot-filling mechanism: text rendered once with named slots, filled in per use.

Rendering templates is the costly part of the busiest paths (a case page, a confirmation mail), and most of
what they render is the same for everyone. So they are rendered once with `slot(name)` where a per-visitor
or per-signer value goes (`campaign.lib.pages` for pages, `petitions.services.confirmations` for mails), kept, and
each use fills the slots with `fill`. NUL never appears in rendered templates (Django's forms and the admin
refuse it in text), so a slot cannot be confused with content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from django.utils.html import escape

_SLOT = re.compile("\x00([a-z_]+)\x00")


def slot(name: str) -> str:
    """The marker that stands for `name` in text rendered for later filling."""
    return f"\x00{name}\x00"


def fill(text: str, values: Mapping[str, str | Callable[[], str]], *, html: bool = False) -> str:
    """`text` with each slot replaced by its value (a callable is called only if its slot is there, once).

    `html=True` escapes the values, for the HTML part of a mail or a page; a slot with no value is an error.
    """
    computed: dict[str, str] = {}

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in computed:
            found = values[name]
            found = found() if callable(found) else found
            computed[name] = escape(found) if html else found
        return computed[name]

    return _SLOT.sub(value, text)
