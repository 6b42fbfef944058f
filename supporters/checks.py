"""System checks: the share images' font, and a site that still names the demo's organisation."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register()
def share_image_font(app_configs, **kwargs) -> list:
    problems = []
    for name in ("SUPPORTERS_SHARE_IMAGE_FONT", "SUPPORTERS_SHARE_IMAGE_BOLD_FONT"):
        path = getattr(settings, name)
        if not Path(path).is_file():
            problems.append(
                Warning(
                    f"{name} names {path}, which does not exist: link previews of cases without a photo get an "
                    "image in a fallback font that cannot write Arabic.",
                    hint="Install Debian's fonts-dejavu-core, or point the setting at a TrueType font that covers "
                    "every script of LANGUAGES.",
                    id="supporters.W001",
                )
            )
    return problems


@register(Tags.security, deploy=True)
def organisation_named(app_configs, **kwargs) -> list:
    if settings.ORGANISATION_CONTACT == "contact@example.org" or settings.ORGANISATION_NAME == "Plume demo":
        return [
            Warning(
                "ORGANISATION_NAME and ORGANISATION_CONTACT still have the demo's values: the footer, the privacy "
                "notice and every mail name them as who runs the site and where to write.",
                hint="Set ORGANISATION_NAME, ORGANISATION_CONTACT and PRIVACY_CONTACT (README, Configuration).",
                id="supporters.W002",
            )
        ]
    return []
