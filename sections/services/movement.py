"""The whole movement's figures: this site's own ledger plus the counted snapshot of every followed section.

`summary()` is what the hub's pages, its public JSON, the case page's panel and the embedded counter read: it is
computed from three queries and kept in the shared cache for TOTALS_CACHE_SECONDS, and computed again as soon
as a section's figures change (`refresh`, after the commit that changed them). Once warm, reading it makes no
database query.

The sections' figures never go into this site's ledger: /api/v1/totals keeps answering with this site's own
actions only, so a hub that follows another hub never counts a section twice.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.cache import ProcessCache, cached, store
from campaign.models import Case

from ..models import Section, Snapshot

CACHE_KEY = "sections:movement:v1"
_in_process = ProcessCache(seconds=1.0)


def _add(into: dict[str, int], kinds: dict[str, int]) -> None:
    for kind, n in kinds.items():
        into[kind] = into.get(kind, 0) + n


def compute(now: datetime.datetime | None = None) -> dict:
    """The summary (see the module's docstring), from the database."""
    now = now or timezone.now()
    followed = list(Section.objects.filter(is_active=True).order_by("name"))
    if not followed:
        # Not a hub: nothing to add up (one query, and none once cached).
        return {"generated_at": now.isoformat(), "total": 0, "own": {}, "sections": [], "cases": {}}
    keys = dict(Case.objects.values_list("pk", "key"))
    own_cases: dict[str, dict[str, int]] = {}
    for case_id, entry in ledger.totals()["cases"].items():
        if case_id in keys and entry["total"]:
            own_cases[keys[case_id]] = dict(entry["by_kind"])
    snapshots = {
        (s.section_id, s.status): s
        for s in Snapshot.objects.only("section_id", "status", "total", "by_case", "received_at", "channel")
    }
    cases: dict[str, dict] = {}
    for key, kinds in own_cases.items():
        entry = cases.setdefault(key, {"total": 0, "by_kind": {}})
        _add(entry["by_kind"], kinds)
    sections = []
    for section in followed:
        counted = snapshots.get((section.pk, Snapshot.Status.CURRENT))
        held = snapshots.get((section.pk, Snapshot.Status.HELD))
        by_kind: dict[str, int] = {}
        by_case: dict[str, int] = {}
        for key, kinds in (counted.by_case if counted else {}).items():
            _add(by_kind, kinds)
            by_case[key] = sum(kinds.values())
            _add(cases.setdefault(key, {"total": 0, "by_kind": {}})["by_kind"], kinds)
        sections.append(
            {
                "id": section.pk,
                "name": section.name,
                "countries": [c.code for c in section.countries],
                "fetched": bool(section.totals_url),
                "total": counted.total if counted else 0,
                "by_kind": by_kind,
                "by_case": by_case,
                "received_at": section.last_received_at.isoformat() if section.last_received_at else None,
                "stale": section.is_stale(now),
                "held_total": held.total if held else None,
                "held_at": held.received_at.isoformat() if held else None,
                "problem": section.problem,
                "problem_detail": section.problem_detail,
                "problem_at": section.problem_at.isoformat() if section.problem_at else None,
            }
        )
    for entry in cases.values():
        entry["total"] = sum(entry["by_kind"].values())
    own_total = sum(sum(kinds.values()) for kinds in own_cases.values())
    return {
        "generated_at": now.isoformat(),
        "total": own_total + sum(s["total"] for s in sections),
        "own": {
            "name": settings.SECTIONS_OWN_NAME,
            "total": own_total,
            "by_case": {key: sum(kinds.values()) for key, kinds in own_cases.items()},
        },
        "sections": sections,
        "cases": cases,
    }


def refresh() -> dict:
    """Compute the summary again and put it in the cache: after a section's figures changed."""
    data = compute()
    store(CACHE_KEY, data, settings.TOTALS_CACHE_SECONDS)
    _in_process.forget()
    return data


def summary() -> dict:
    """The cached summary, at most TOTALS_CACHE_SECONDS (and a second) old."""
    return _in_process.get(CACHE_KEY, lambda: cached(CACHE_KEY, compute, settings.TOTALS_CACHE_SECONDS))


def follows_sections() -> bool:
    """Whether this site is a hub: it follows at least one section."""
    return bool(summary()["sections"])


def case_total(case: Case) -> int | None:
    """The movement's total for a case, or None when this site follows no section (it is not a hub)."""
    data = summary()
    if not data["sections"]:
        return None
    return data["cases"].get(case.key, {}).get("total", 0)
