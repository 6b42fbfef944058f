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


def default_language() -> str:
    """The site's default language (the first of LANGUAGES), as a model field's default: a function, so that
    a site offering other languages needs no migration."""
    return settings.LANGUAGE_CODE


def language_choices() -> list[tuple[str, str]]:
    """Every language Plume ships (AVAILABLE_LANGUAGES), as a model field's choices: rows keep their language
    when a site offers fewer."""
    return list(settings.AVAILABLE_LANGUAGES.items())
