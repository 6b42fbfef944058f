"""What the organizers' dashboard shows, summed straight from the ledger (a handful of GROUP BY queries).

The ledger counts per day, so "today" is since midnight in TIME_ZONE and the recent figures are whole days.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Sum
from django.utils import timezone
from django_countries import countries

from campaign.models import ActionKind, Campaign, OfflineReport, Tally
from sections.services import movement
from supporters.services.referrals import referral_summary

from . import local_groups

TOP_COUNTRIES = 10
CHART_DAYS = 60
CHART_WIDTH, CHART_HEIGHT = 600, 160


def summary(campaign: Campaign, today: datetime.date | None = None) -> dict:
    today = today or timezone.localdate()
    week_start = today - datetime.timedelta(days=6)
    cases = list(campaign.cases.all())
    tallies = Tally.objects.filter(case__campaign=campaign).order_by()

    by_case: dict[int, dict[str, int]] = defaultdict(dict)
    kinds_seen: set[str] = set()
    for row in tallies.values("case_id", "kind").annotate(n=Sum("count")):
        by_case[row["case_id"]][row["kind"]] = row["n"]
        kinds_seen.add(row["kind"])
    recent: dict[int, dict[str, int]] = defaultdict(lambda: {"today": 0, "week": 0})
    for row in tallies.filter(day__gte=week_start, day__lte=today).values("case_id", "day").annotate(n=Sum("count")):
        recent[row["case_id"]]["week"] += row["n"]
        if row["day"] == today:
            recent[row["case_id"]]["today"] += row["n"]
    kinds = [(value, label) for value, label in ActionKind.choices if value in kinds_seen]

    rows = []
    for case in cases:
        counts = by_case.get(case.pk, {})
        total = sum(counts.values())
        rows.append(
            {
                "case": case,
                "by_kind": [counts.get(kind, 0) for kind, _ in kinds],
                "total": total,
                "today": recent[case.pk]["today"],
                "week": recent[case.pk]["week"],
                "goal": case.goal,
                "percent": min(100, int(100 * total / case.goal)) if case.goal else 0,
            }
        )

    top = list(tallies.values("country").annotate(n=Sum("count")).filter(n__gt=0).order_by("-n", "country"))
    top_countries = [
        {"code": r["country"], "name": countries.name(r["country"]) if r["country"] else "", "total": r["n"]}
        for r in top[:TOP_COUNTRIES]
    ]

    return {
        "kinds": kinds,
        "rows": rows,
        "kind_totals": [sum(r["by_kind"][i] for r in rows) for i in range(len(kinds))],
        "grand_total": sum(r["total"] for r in rows),
        "today_total": sum(r["today"] for r in rows),
        "week_total": sum(r["week"] for r in rows),
        "today": today,
        "top_countries": top_countries,
        "country_count": len(top),
        "chart": _chart(campaign, tallies, today),
        # Local groups' approved totals and the reports that wait for an organizer (theirs and events' links).
        "groups": local_groups.all_group_totals(),
        "pending_reports": OfflineReport.objects.current().filter(status=OfflineReport.Status.PENDING).count(),
        # On a hub, the whole movement (cached: no query once warm).
        "movement": movement.summary() if movement.follows_sections() else None,
        # --- Supporters (#12): signatures by channel and recruits per share code, never who ------------------
        "referrals": referral_summary(campaign),
    }


def _chart(campaign: Campaign, tallies, today: datetime.date) -> dict:
    """Bars of actions per day, laid out here so that the template draws a plain SVG (no script, no CDN)."""
    last = min(today, timezone.localtime(campaign.closes_at).date())
    earliest = last - datetime.timedelta(days=CHART_DAYS - 1)
    per_day = {
        r["day"]: r["n"]
        for r in tallies.filter(day__gte=earliest, day__lte=last).values("day").annotate(n=Sum("count"))
    }
    # From the opening day, or earlier when actions were counted before it (events reported ahead).
    first = max(earliest, min([timezone.localtime(campaign.opens_at).date(), *per_day]))
    days = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)] if first <= last else []
    peak = max(per_day.values(), default=0) or 1
    width = CHART_WIDTH / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        n = per_day.get(day, 0)
        height = round(CHART_HEIGHT * n / peak, 1)
        bars.append(
            {
                "day": day,
                "count": n,
                "x": round(i * width, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(max(width - 1, 1), 1),
                "height": height,
            }
        )
    return {"bars": bars, "peak": max(per_day.values(), default=0), "width": CHART_WIDTH, "height": CHART_HEIGHT}
