"""Importing a case pack (sections.services.casepacks says what one is) from a file or from an address.

What is valid is imported; what is not is reported and left: a photo missing from the pack or that is not an
image, a text in a language Plume does not ship, a photo's name that tries to leave the pack's folder, a field
too long or of the wrong kind. Nothing in a pack is ever written to disk under a name it chose, and nothing it
names is fetched. A pack older than (or the same as) the last one imported for its campaign is refused whole.

The report (kept on the CasePackImport row and shown in the admin): cases created and updated, and per case the
fields left as this installation changed them.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from campaign.models import RESERVED_SLUGS, Campaign, Case, validate_case_key

from ..models import CasePackImport
from . import casepacks
from .casepacks import CAMPAIGN_FIELDS, CAMPAIGN_TEXTS, CASE_FIELDS, CASE_TEXTS, FORMAT, PACK_FILE, VERSION
from .http import FetchProblem, fetch

MAX_ENTRIES = 2000
MAX_PACK_JSON_BYTES = 5 * 1024 * 1024
_PHOTO = re.compile(r"photos/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")

# The organizer's words for what a pack could not bring (translated where shown).
PROBLEMS = {
    "not_a_pack": _("This is not a case pack (a ZIP file with pack.json, or pack.json itself)."),
    "too_large": _("The pack is larger than this installation reads."),
    "version": _("The pack is in another version of the format than this installation reads."),
    "older": _("A pack as new or newer was imported already for this campaign: nothing was changed."),
    "fetch": _("The pack could not be fetched from its address."),
    "malformed": _("The pack is not in the documented format."),
    "bad_key": _("A key is not in the form campaign/case."),
    "language": _("A text is in a language Plume does not ship: it was left out."),
    "photo_missing": _("The photo named in the pack is not in it: the case keeps its photo."),
    "photo_name": _("A photo's name is not allowed (it must be photos/<name>): it was left out."),
    "photo_invalid": _("The photo is not an image this installation reads, or is too large: it was left out."),
    "field": _("A value is not valid for its field: it was left out."),
}


class PackRefused(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code, self.detail = code, detail[:300]


@dataclass
class Report:
    campaign_created: bool = False
    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, list[str]] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)

    def problem(self, code: str, case: str = "", detail: str = "") -> None:
        self.problems.append({"code": code, "case": case, "detail": detail[:200]})

    def as_dict(self) -> dict:
        return {
            "campaign_created": self.campaign_created,
            "created": self.created,
            "updated": self.updated,
            "kept": self.kept,
            "problems": self.problems,
        }


def read_source(source: str) -> bytes:
    """A pack's bytes from an http(s) address (fetched as a section's totals are: one address, a deadline, a
    size limit) or a file path (the management command)."""
    if source.startswith(("http://", "https://")):
        try:
            return fetch(
                source, accept="application/zip, application/json", max_bytes=settings.CASE_PACK_MAX_BYTES
            ).body
        except FetchProblem as exc:
            raise PackRefused("fetch", exc.code) from exc
    with open(source, "rb") as handle:
        data = handle.read(settings.CASE_PACK_MAX_BYTES + 1)
    if len(data) > settings.CASE_PACK_MAX_BYTES:
        raise PackRefused("too_large")
    return data


def import_from_source(source: str, *, imported_by: AbstractBaseUser | None = None) -> tuple[CasePackImport, Report]:
    """Fetch or read a pack (see read_source) and import it; one that cannot be read is recorded as refused."""
    try:
        data = read_source(source)
    except PackRefused as refused:
        return _refused(refused, source=source, key="", imported_by=imported_by)
    return import_case_pack(data, source=source, imported_by=imported_by)


def _refused(
    refused: PackRefused, *, source: str, key: str, imported_by: AbstractBaseUser | None, report: Report | None = None
) -> tuple[CasePackImport, Report]:
    report = report or Report()
    report.problem(refused.code, detail=refused.detail)
    row = CasePackImport.objects.create(
        campaign_key=key,
        source=source[:500],
        status=CasePackImport.Status.FAILED,
        imported_by=imported_by,
        report=report.as_dict(),
    )
    return row, report


def _open(data: bytes) -> tuple[dict, zipfile.ZipFile | None]:
    if len(data) > settings.CASE_PACK_MAX_BYTES:
        raise PackRefused("too_large")
    if data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{"):
        raw, archive = data, None
    else:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise PackRefused("malformed", "too many files")
            info = archive.getinfo(PACK_FILE)
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise PackRefused("not_a_pack") from exc
        if info.file_size > MAX_PACK_JSON_BYTES:
            raise PackRefused("too_large", PACK_FILE)
        raw = archive.read(info)
    try:
        pack = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackRefused("not_a_pack") from exc
    if not isinstance(pack, dict) or pack.get("format") != FORMAT:
        raise PackRefused("not_a_pack")
    if pack.get("version") != VERSION:
        raise PackRefused("version", str(pack.get("version"))[:20])
    if not isinstance(pack.get("campaign"), dict) or not isinstance(pack.get("cases"), list):
        raise PackRefused("malformed")
    return pack, archive


def _revision(pack: dict) -> datetime.datetime:
    revision = parse_datetime(str(pack.get("revision", ""))[:40])
    if revision is None:
        raise PackRefused("malformed", "revision")
    return revision


def import_case_pack(
    data: bytes, *, source: str, imported_by: AbstractBaseUser | None = None
) -> tuple[CasePackImport, Report]:
    """Import a pack's bytes (see the module's docstring). A refused pack is recorded too (status failed, with
    why) and changes nothing else. Views, the admin and the management command call this."""
    report = Report()
    key = ""
    try:
        pack, archive = _open(data)
        revision = _revision(pack)
        key = str(pack["campaign"].get("key", ""))[:100]
        if not _SLUG.fullmatch(key):
            raise PackRefused("bad_key", key[:60])
        last = CasePackImport.objects.filter(campaign_key=key, status=CasePackImport.Status.DONE).first()
        if last is not None and (parse_datetime(last.revision) or revision) >= revision:
            raise PackRefused("older", last.revision)
        with transaction.atomic():
            campaign, base = _import(pack, archive, key, last, report)
            done = CasePackImport.objects.create(
                campaign=campaign,
                campaign_key=key,
                revision=revision.isoformat(),
                source=source[:500],
                status=CasePackImport.Status.DONE,
                imported_by=imported_by,
                report=report.as_dict(),
                base=base,
            )
        return done, report
    except PackRefused as refused:
        return _refused(refused, source=source, key=key, imported_by=imported_by, report=report)


def _import(pack: dict, archive, key: str, last: CasePackImport | None, report: Report) -> tuple[Campaign, dict]:
    base_before = last.base if last else {}
    base: dict[str, dict] = {}
    campaign = Campaign.objects.filter(key=key).first()
    given = pack["campaign"]
    if campaign is None:
        campaign = _new_campaign(given, key)
        report.campaign_created = True
    values = _values(given, CAMPAIGN_FIELDS, CAMPAIGN_TEXTS, report, key)
    base["campaign"] = values
    _merge(campaign, values, base_before.get("campaign"), report, key, new=report.campaign_created)
    campaign.save()
    for i, entry in enumerate(pack["cases"]):
        if not isinstance(entry, dict):
            report.problem("malformed", detail=f"cases[{i}]")
            continue
        case_key = str(entry.get("key", ""))
        try:
            validate_case_key(case_key)
        except ValidationError:
            report.problem("bad_key", detail=case_key[:60])
            continue
        if case_key.split("/")[0] != key:
            report.problem("bad_key", case_key, key)
            continue
        values = _values(entry, CASE_FIELDS, CASE_TEXTS, report, case_key)
        case = Case.objects.filter(key=case_key).first()
        new = case is None
        if new:
            case = Case(campaign=campaign, key=case_key, slug=_free_case_slug(campaign, values.pop("slug", "")))
        else:
            values.pop("slug", None)  # a case keeps its address
        base[case_key] = dict(values)
        original = {name: getattr(case, name) for name in values}
        _merge(case, values, base_before.get(case_key), report, case_key, new=new)
        if not _valid(case, original, report):
            continue
        case.save()
        if new:
            report.created.append(case_key)
        base[case_key]["photo"] = _photo(case, entry.get("photo"), archive, (base_before.get(case_key) or {}), report)
    return campaign, base


def _valid(case: Case, original: dict, report: Report) -> bool:
    """Whether the case can be saved; a value its field refuses is put back as it was and reported, once."""
    for _attempt in range(2):
        try:
            case.full_clean(exclude=["campaign", "photo"])
            return True
        except ValidationError as exc:
            ours = [name for name in exc.message_dict if name in original]
            if not ours:
                report.problem("field", case.key, ", ".join(exc.message_dict))
                return False
            for name in ours:
                report.problem("field", case.key, name)
                setattr(case, name, original[name])
    return False


def _new_campaign(given: dict, key: str) -> Campaign:
    slug = str(given.get("slug") or key)[:50]
    if not _SLUG.fullmatch(slug) or slug in RESERVED_SLUGS or Campaign.objects.filter(slug=slug).exists():
        slug = key if not Campaign.objects.filter(slug=key).exists() else f"{key[:40]}-{Campaign.objects.count()}"
    opens = parse_datetime(str(given.get("opens_at", ""))) or datetime.datetime.now(tz=datetime.UTC)
    closes = parse_datetime(str(given.get("closes_at", ""))) or opens + datetime.timedelta(days=60)
    # A draft: the section publishes it once its texts are ready.
    return Campaign(key=key, slug=slug, opens_at=opens, closes_at=max(closes, opens + datetime.timedelta(days=1)))


def _free_case_slug(campaign: Campaign, slug: str) -> str:
    slug = slug if _SLUG.fullmatch(slug or "") else "case"
    taken = set(Case.objects.filter(campaign=campaign).values_list("slug", flat=True)) if campaign.pk else set()
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


def _values(given: dict, fields: tuple, texts: tuple, report: Report, key: str) -> dict:
    """The pack's values for one row: {field: value} and {"<text>_<language>": text}, each checked for its type;
    what is not valid is reported and left out."""
    out: dict[str, object] = {}
    for name in fields:
        if name in given:
            out[name] = given[name]
    for name, per_language in (given.get("texts") or {}).items():
        if name not in texts or not isinstance(per_language, dict):
            report.problem("field", key, str(name)[:40])
            continue
        for code, text in per_language.items():
            if code not in settings.AVAILABLE_LANGUAGES:
                report.problem("language", key, f"{name}: {str(code)[:20]}")
                continue
            if not isinstance(text, str):
                report.problem("field", key, f"{name}_{code}")
                continue
            out[f"{name}_{code}"] = text
    return out


_DATES = {"opens_at": parse_datetime, "closes_at": parse_datetime, "petition_closed_at": parse_datetime}


def _converted(name: str, value: object) -> object:
    if value is None:
        return None
    if name in _DATES:
        return _DATES[name](str(value))
    if name == "outcome_date":
        return parse_date(str(value))
    return value


def _merge(obj: object, values: dict, base: dict | None, report: Report, key: str, *, new: bool) -> None:
    """Set each value the pack brings unless this installation changed it since the last pack (its value is
    neither the last pack's nor empty): that one is left and reported."""
    changed, kept = [], []
    for name, value in values.items():
        current = casepacks._value(obj, name)
        if current == value:
            continue
        before = (base or {}).get(name)
        if new or current in ("", None) or (base is not None and current == before):
            try:
                setattr(obj, name, _converted(name, value))
            except (TypeError, ValueError):
                report.problem("field", key, name)
                continue
            changed.append(name)
        else:
            kept.append(name)
    if changed and not new:
        report.updated.setdefault(key, []).extend(changed)
    if kept:
        report.kept.setdefault(key, []).extend(kept)


def _photo(case: Case, name: object, archive, base: dict, report: Report) -> str | None:
    """Set the case's photo from the pack when this installation did not change it; the digest of the pack's
    photo (the base for the next pack), or the previous base when the pack brings none that is valid."""
    if name is None:
        return base.get("photo")
    if not isinstance(name, str) or not _PHOTO.fullmatch(name) or ".." in name:
        report.problem("photo_name", case.key, str(name)[:80])
        return base.get("photo")
    try:
        info = archive.getinfo(name) if archive is not None else None
    except KeyError:
        info = None
    if info is None:
        report.problem("photo_missing", case.key, name)
        return base.get("photo")
    if info.file_size > settings.CASE_PACK_PHOTO_MAX_BYTES:
        report.problem("photo_invalid", case.key, name)
        return base.get("photo")
    data = archive.read(info)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        report.problem("photo_invalid", case.key, name)
        return base.get("photo")
    if kind not in ("JPEG", "PNG", "WEBP"):
        report.problem("photo_invalid", case.key, name)
        return base.get("photo")
    digest = casepacks.file_digest(data)
    current = _current_photo_digest(case)
    if current == digest:
        return digest
    if current is None or current == base.get("photo"):
        # Named here, from the key: never from the pack.
        stem = casepacks.photo_name(case).removeprefix("photos/").rsplit(".", 1)[0]
        case.photo.save(f"{stem}.{kind.lower()}", ContentFile(data), save=True)
        if case.key not in report.created:
            report.updated.setdefault(case.key, []).append("photo")
    else:
        report.kept.setdefault(case.key, []).append("photo")
    return digest


def _current_photo_digest(case: Case) -> str | None:
    if not case.photo:
        return None
    try:
        with case.photo.open("rb") as photo:
            return casepacks.file_digest(photo.read())
    except OSError:
        return None
