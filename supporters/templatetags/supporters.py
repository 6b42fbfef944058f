"""Template tags of the supporters app: who runs the site (footer, privacy notice, mails) and a case's tags
for link previews (Open Graph and cards)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import get_language, to_locale

register = template.Library()

# Open Graph wants language_TERRITORY; Facebook reads Arabic as ar_AR.
_OG_LOCALES = {"en": "en_GB", "fr": "fr_FR", "es": "es_ES", "ar": "ar_AR"}


@register.simple_tag
def organisation() -> dict:
    """`{% organisation as org %}`: org.name, org.contact and org.privacy_contact (settings)."""
    return {
        "name": settings.ORGANISATION_NAME,
        "contact": settings.ORGANISATION_CONTACT,
        "privacy_contact": settings.PRIVACY_CONTACT,
    }


@register.simple_tag
def og_locale() -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return _OG_LOCALES.get(language, to_locale(language))


@register.simple_tag
def site_url() -> str:
    return settings.SITE_URL


@register.simple_tag
def share_image_url(case) -> str:
    """The absolute address of the image a link preview shows for `case`: its photo, else the generated image
    in the active language (supporters.views.share_image)."""
    from django.urls import reverse

    if case.photo:
        return settings.SITE_URL + case.photo.url
    return settings.SITE_URL + reverse(
        "supporters:share-image", kwargs={"campaign": case.campaign.slug, "case": case.slug}
    )
