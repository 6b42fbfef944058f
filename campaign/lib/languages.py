"""The one language fallback: the language a mail or a page about a person is written in."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_supported_language_variant


def supported_language(code: str | None) -> str:
    """`code` if the site speaks it (or a variant of it: "fr-ca" gives "fr"), else the default LANGUAGE_CODE.

    For mails and pages in a language stored on a row (a signer's, a writer's, a family's), which may no
    longer be one of LANGUAGES after an operator changed them.
    """
    try:
        return get_supported_language_variant(code or "")
    except LookupError:
        return settings.LANGUAGE_CODE
