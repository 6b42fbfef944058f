"""What a section sends: the JSON of /api/v1/totals (version 1, docs/organizers.md), or a CSV of the same
aggregates. Read into `Figures`: per case key, country and kind of action, a count; nothing else is kept.

Only aggregates may cross: a document with any field that is not in the documented format (a name, an address,
a message, or anything unknown) is refused whole, as are another version of the format, numbers that are not
whole, negative or absurd (above SECTIONS_MAX_COUNT), totals that do not add up, unknown kinds or countries, and
cases unknown to this hub in a campaign it follows. Cases of campaigns the hub does not have are left out and
noted (a section's own national cases, say).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django_countries import countries

from campaign.models import ActionKind, Campaign, Case

VERSION = 1
UNKNOWN_COUNTRY = "unknown"
MAX_CASES = 5000

# Every field version 1 of /api/v1/totals has (organizers.partner_views.compute_open_data), by level. A field
# added to that document must be added here before sections send it: the hub refuses what it does not know.
TOP_FIELDS = {"version", "generated_at", "kinds", "total", "cases"}
CASE_FIELDS = {"id", "key", "campaign", "slug", "name", "country", "url", "goal", "total", "by_kind", "by_country"}
COUNTRY_FIELDS = {"total", "by_kind"}
CSV_COLUMNS = ("case", "kind", "country", "count")
# Once: Django's `ActionKind.values` builds its list anew at each access, most of a document's reading time.
KINDS = frozenset(ActionKind.values)


class DocumentProblem(Exception):
    """Why figures were refused: `code` (translated for the organizer by sections.services.problems) and a
    plain `detail` (where in the document)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:300]


@dataclass
class Figures:
    """A section's aggregates, matched to this hub's cases by key."""

    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    generated_at: object = None
    notes: list[dict] = field(default_factory=list)

    @functools.cached_property
    def by_case(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for key, per_country in self.counts.items():
            kinds = out.setdefault(key, {})
            for per_kind in per_country.values():
                for kind, n in per_kind.items():
                    kinds[kind] = kinds.get(kind, 0) + n
        return out

    @property
    def total(self) -> int:
        return sum(n for kinds in self.by_case.values() for n in kinds.values())

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.counts, sort_keys=True).encode()).hexdigest()


def _count(value: object, where: str) -> int:
    # bool is an int in Python: true is not a count.
    if not isinstance(value, int) or isinstance(value, bool):
        raise DocumentProblem("bad_number", f"{where}: {str(value)[:40]!r}")
    if value < 0 or value > settings.SECTIONS_MAX_COUNT:
        raise DocumentProblem("bad_number", f"{where}: {value}")
    return value


def _only(found: Iterable[str], allowed: set[str], where: str) -> None:
    extra = sorted(set(found) - allowed)
    if extra:
        raise DocumentProblem("not_aggregate", f"{where}: {', '.join(str(e)[:40] for e in extra[:5])}")


def _kinds(value: object, where: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise DocumentProblem("malformed", where)
    out = {}
    for kind, n in value.items():
        if kind not in KINDS:
            raise DocumentProblem("unknown_kind", f"{where}.{str(kind)[:40]}")
        out[kind] = _count(n, f"{where}.{kind}")
    return out


@functools.cache
def _country_codes() -> frozenset[str]:
    # Built once: listing the countries translates ~250 names, which cost most of a round's CPU when done for
    # each of a document's thousands of entries.
    return frozenset(code for code, _name in countries)


def _country(code: object, where: str) -> str:
    if code == UNKNOWN_COUNTRY or code == "":
        return UNKNOWN_COUNTRY
    if not isinstance(code, str) or len(code) != 2 or code.upper() not in _country_codes():
        raise DocumentProblem("unknown_country", f"{where}: {str(code)[:20]!r}")
    return code.upper()


def parse_json(raw: bytes) -> Figures:
    """Read a /api/v1/totals document. Raises DocumentProblem."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DocumentProblem("invalid_json", type(exc).__name__) from exc
    if not isinstance(document, dict):
        raise DocumentProblem("malformed", "the document is not an object")
    if document.get("version") != VERSION:
        raise DocumentProblem("version", str(document.get("version"))[:20])
    _only(document, TOP_FIELDS, "document")
    cases = document.get("cases")
    if not isinstance(cases, list) or len(cases) > MAX_CASES:
        raise DocumentProblem("malformed", "cases")
    rows: dict[str, dict[str, dict[str, int]]] = {}
    for i, case in enumerate(cases):
        where = f"cases[{i}]"
        if not isinstance(case, dict):
            raise DocumentProblem("malformed", where)
        _only(case, CASE_FIELDS, where)
        key = _case_key(case, where)
        if key in rows:
            raise DocumentProblem("malformed", f"{where}: {key} twice")
        per_country = case.get("by_country", {})
        if not isinstance(per_country, dict):
            raise DocumentProblem("malformed", f"{where}.by_country")
        rows[key] = {}
        for code, entry in per_country.items():
            at = f"{where}.by_country.{str(code)[:8]}"
            if not isinstance(entry, dict):
                raise DocumentProblem("malformed", at)
            _only(entry, COUNTRY_FIELDS, at)
            kinds = _kinds(entry.get("by_kind", {}), f"{at}.by_kind")
            if "total" in entry and _count(entry["total"], f"{at}.total") != sum(kinds.values()):
                raise DocumentProblem("inconsistent", f"{at}.total")
            country = _country(code, at)
            merged = rows[key].setdefault(country, {})
            for kind, n in kinds.items():
                merged[kind] = merged.get(kind, 0) + n
        _check_case_sums(case, rows[key], where)
    figures = _figures(rows)
    if "total" in document and _count(document["total"], "document.total") != sum(
        n for per_country in rows.values() for kinds in per_country.values() for n in kinds.values()
    ):
        raise DocumentProblem("inconsistent", "document.total")
    generated = document.get("generated_at")
    figures.generated_at = parse_datetime(generated) if isinstance(generated, str) else None
    return _matched(figures)


def _case_key(case: dict, where: str) -> str:
    key = case.get("key")
    if key is None:
        # Plume before keys were published: a case's key was its campaign's slug and its own.
        campaign, slug = case.get("campaign"), case.get("slug")
        key = f"{campaign}/{slug}" if isinstance(campaign, str) and isinstance(slug, str) else None
    if not isinstance(key, str) or key.count("/") != 1 or len(key) > 150:
        raise DocumentProblem("malformed", f"{where}.key")
    return key


def _check_case_sums(case: dict, per_country: dict[str, dict[str, int]], where: str) -> None:
    summed: dict[str, int] = {}
    for kinds in per_country.values():
        for kind, n in kinds.items():
            summed[kind] = summed.get(kind, 0) + n
    if "by_kind" in case:
        declared = {k: n for k, n in _kinds(case["by_kind"], f"{where}.by_kind").items() if n}
        if declared != {k: n for k, n in summed.items() if n}:
            raise DocumentProblem("inconsistent", f"{where}.by_kind")
    if "total" in case and _count(case["total"], f"{where}.total") != sum(summed.values()):
        raise DocumentProblem("inconsistent", f"{where}.total")


def parse_csv(raw: bytes) -> Figures:
    """Read a CSV of aggregates: the columns `case` (its key), `kind`, `country` (ISO code, or empty) and
    `count`, separated by commas or semicolons, in UTF-8 (or Windows-1252). Raises DocumentProblem."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    _only(header, set(CSV_COLUMNS), "columns")
    if set(header) != set(CSV_COLUMNS):
        raise DocumentProblem("malformed", f"columns: {', '.join(CSV_COLUMNS)}")
    position = {name: header.index(name) for name in CSV_COLUMNS}
    rows: dict[str, dict[str, dict[str, int]]] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DocumentProblem("malformed", f"line {line}")
        cell = {name: row[i].strip() for name, i in position.items()}
        key = _case_key({"key": cell["case"]}, f"line {line}")
        if cell["kind"] not in KINDS:
            raise DocumentProblem("unknown_kind", f"line {line}: {cell['kind'][:40]!r}")
        try:
            number = int(cell["count"])
        except ValueError:
            raise DocumentProblem("bad_number", f"line {line}: {cell['count'][:40]!r}") from None
        n = _count(number, f"line {line}")
        country = _country(cell["country"], f"line {line}")
        kinds = rows.setdefault(key, {}).setdefault(country, {})
        kinds[cell["kind"]] = kinds.get(cell["kind"], 0) + n
        if kinds[cell["kind"]] > settings.SECTIONS_MAX_COUNT:
            raise DocumentProblem("bad_number", f"line {line}")
    return _matched(_figures(rows))


def _figures(rows: dict[str, dict[str, dict[str, int]]]) -> Figures:
    # Zeros carry nothing: left out, so that the same figures always have the same digest.
    counts = {}
    for key, per_country in rows.items():
        kept = {c: {k: n for k, n in kinds.items() if n} for c, kinds in per_country.items()}
        counts[key] = {c: kinds for c, kinds in sorted(kept.items()) if kinds}
    return Figures(counts=dict(sorted(counts.items())))


def _matched(figures: Figures) -> Figures:
    """Figures whose case keys this hub knows: a key unknown in a campaign the hub has refuses the figures (a
    case renamed on one side, a typing mistake); cases of campaigns it does not have are left out and noted."""
    keys = set(figures.counts)
    known = set(Case.objects.filter(key__in=keys).values_list("key", flat=True))
    campaigns = set(Campaign.objects.values_list("key", flat=True))
    unknown = sorted(k for k in keys - known if k.split("/")[0] in campaigns)
    if unknown:
        raise DocumentProblem("unknown_case", ", ".join(unknown[:5]))
    left_out = sorted(keys - known)
    for key in left_out:
        del figures.counts[key]
    if left_out:
        figures.notes.append({"code": "left_out", "count": len(left_out), "detail": ", ".join(left_out[:5])})
    return figures
