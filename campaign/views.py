"""Public pages of the campaign: the home grid, a case page, and the operators' health check."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .lib import ledger, pages
from .tasks import BEAT_TICK_KEY


def campaign_home(request: HttpRequest, campaign: str | None = None) -> HttpResponse:
    found = pages.home(campaign)
    if found is None:
        raise Http404("No such campaign is published.")
    current, cases = found
    totals = ledger.totals()["cases"]
    for case in cases:
        case.total = totals.get(case.pk, {}).get("total", 0)
    return render(request, "campaign/home.html", {"campaign": current, "cases": cases})


def case_detail(request: HttpRequest, campaign: str, slug: str) -> HttpResponse:
    case = pages.public_case(campaign, slug)
    total = ledger.case_total(case.pk)
    is_open = case.is_open()

    def context() -> dict:
        return {
            "campaign": case.campaign,
            "case": case,
            "total": total,
            "panels": pages.case_panels(request, case, is_open),
        }

    return pages.render_case_page(request, case, "campaign/case_detail.html", context, f"{total}:{int(is_open)}")


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "campaign/privacy.html")


def public_totals(request: HttpRequest) -> JsonResponse:
    """Totals per case and kind of action, from the cache (at most TOTALS_CACHE_SECONDS old). No personal data."""
    data = ledger.totals()
    response = JsonResponse(
        {
            "total": data["total"],
            "computed_at": data["computed_at"],
            "cases": {str(case_id): entry for case_id, entry in data["cases"].items()},
        }
    )
    response["Cache-Control"] = f"public, max-age={settings.TOTALS_CACHE_SECONDS}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The state of the database, the broker and the last beat tick; 200 when all are healthy, else 503."""
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}

    from campaign.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        checks["broker"] = {"ok": True}
    except Exception as exc:
        checks["broker"] = {"ok": False, "error": type(exc).__name__}

    try:
        last_tick = cache.get(BEAT_TICK_KEY)
    except Exception as exc:
        last_tick = None
        checks["beat"] = {"ok": False, "error": type(exc).__name__}
    if "beat" not in checks:
        age = None if last_tick is None else round(time.time() - last_tick, 1)
        checks["beat"] = {"ok": age is not None and age < settings.BEAT_STALE_AFTER_SECONDS, "seconds_since_tick": age}

    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503)
