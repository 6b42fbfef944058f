"""Public pages of the campaign: the home grid, a case page, the page not found, and the operators' health check."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from .lib import ledger, pages
from .models import ActionKind
from .tasks import BEAT_TICK_KEY


def not_found(request: HttpRequest) -> HttpResponse:
    """The site's own "page not found", in its layout and the visitor's language.

    Answered directly rather than by raising Http404, so that the demo (DEBUG on, `make run`) shows the page
    visitors see too: with DEBUG, Django answers a raised Http404 with its technical page. Errors keep theirs.
    The campaign's routes catch every address of one or two path segments under a language, so this is what
    a mistyped case or page gets.
    """
    return render(request, "404.html", status=404)


def campaign_home(request: HttpRequest, campaign: str | None = None) -> HttpResponse:
    found = pages.home(campaign)
    if found is None:
        return not_found(request)
    current, cases = found
    # Each card reads its counts from the cached totals ({% case_counts %}): no query.
    context = {"campaign": current, "cases": cases, "opens_later": timezone.now() < current.opens_at}
    return render(request, "campaign/home.html", context)


def case_detail(request: HttpRequest, campaign: str, slug: str) -> HttpResponse:
    try:
        case = pages.public_case(campaign, slug)
    except Http404:
        return not_found(request)
    is_open = case.is_open()
    # The page shows every kind's count (read from the cached totals, as the template's {% case_counts %}
    # does), so it is rendered anew when any of them moves, not only the total.
    by_kind = ledger.totals()["cases"].get(case.pk, {}).get("by_kind", {})
    variant = ",".join(f"{kind}={by_kind[kind]}" for kind in sorted(by_kind)) + f":{int(is_open)}"

    def context() -> dict:
        return {"campaign": case.campaign, "case": case, "panels": pages.case_panels(request, case, is_open)}

    return pages.render_case_page(request, case, "campaign/case_detail.html", context, variant)


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "campaign/privacy.html")


def public_totals(request: HttpRequest) -> JsonResponse:
    """Totals per case and kind of action (`kinds` lists them all; each case has every kind, zeros included),
    from the cache (at most TOTALS_CACHE_SECONDS old). No personal data."""
    data = ledger.totals()
    kinds = list(ActionKind.values)
    # Every kind in every case, zeros included, so that a reader never has to guess what a missing key means.
    cases = {
        str(case_id): {"total": entry["total"], "by_kind": {kind: entry["by_kind"].get(kind, 0) for kind in kinds}}
        for case_id, entry in data["cases"].items()
    }
    response = JsonResponse(
        {"total": data["total"], "computed_at": data["computed_at"], "kinds": kinds, "cases": cases}
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
