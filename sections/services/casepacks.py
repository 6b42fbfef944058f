"""Case packs: a campaign's cases shared from one place (the hub) with every installation of the movement.

A pack is a ZIP file: `pack.json` (format "plume-case-pack", version 1) with the campaign and its cases, their
texts in every language, the ask, the authority and its address, goals and keys, and `photos/` with the cases'
photos. `export_case_pack` writes it; `import_case_pack` (sections.services.casepack_import) reads it into
another installation, which gets the same keys, so its totals are matched to the hub's cases.

Each export carries a `revision` (when it was made). Importing a newer one updates only what the installation
has not changed itself since the pack it imported last (the values that pack brought are kept as the base),
and reports what it left.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from django.conf import settings
from django.utils import timezone

from campaign.models import Campaign, Case

FORMAT = "plume-case-pack"
VERSION = 1
PACK_FILE = "pack.json"

# Per language (django-modeltranslation columns), and as they are.
CAMPAIGN_TEXTS = ("name", "intro")
CAMPAIGN_FIELDS = ("hashtag", "default_language", "opens_at", "closes_at")
CASE_TEXTS = (
    "name",
    "role",
    "photo_alt",
    "summary",
    "story",
    "ask",
    "outcome",
    "authority",
    "authority_address",
    "post_text",
)
CASE_FIELDS = (
    "slug",
    "country",
    "goal",
    "display_order",
    "status",
    "outcome_date",
    "closes_at",
    "petition_closed_at",
    "authority_language",
)


def _value(obj: object, field: str) -> object:
    value = getattr(obj, field)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if field == "country":
        return value.code
    return value


def _texts(obj: object, fields: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {
        field: {
            code: value for code in settings.AVAILABLE_LANGUAGES if (value := getattr(obj, f"{field}_{code}") or "")
        }
        for field in fields
    }


def photo_name(case: Case) -> str:
    """The photo's name inside the pack: made here from the key, never from what a file was called."""
    suffix = case.photo.name.rsplit(".", 1)[-1].lower() if "." in case.photo.name else "jpg"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in case.key)
    return f"photos/{safe}.{suffix if suffix in ('jpg', 'jpeg', 'png', 'webp') else 'jpg'}"


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_case_pack(campaign: Campaign) -> bytes:
    """The campaign's case pack, as the bytes of a ZIP file."""
    pack = {
        "format": FORMAT,
        "version": VERSION,
        "revision": timezone.now().isoformat(),
        "campaign": {
            "key": campaign.key,
            "slug": campaign.slug,
            **{field: _value(campaign, field) for field in CAMPAIGN_FIELDS},
            "texts": _texts(campaign, CAMPAIGN_TEXTS),
        },
        "cases": [],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for case in campaign.cases.order_by("display_order", "pk"):
            entry = {"key": case.key, **{field: _value(case, field) for field in CASE_FIELDS}}
            entry["texts"] = _texts(case, CASE_TEXTS)
            entry["photo"] = None
            if case.photo:
                try:
                    with case.photo.open("rb") as photo:
                        data = photo.read()
                except OSError:
                    data = None  # a photo missing on disk: the pack goes without it
                if data:
                    entry["photo"] = photo_name(case)
                    archive.writestr(entry["photo"], data)
            pack["cases"].append(entry)
        archive.writestr(PACK_FILE, json.dumps(pack, ensure_ascii=False, indent=1))
    return buffer.getvalue()


def file_name(campaign: Campaign) -> str:
    return f"case-pack-{campaign.key}-{timezone.now():%Y%m%d-%H%M}.zip"
