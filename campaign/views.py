"""Public pages of the campaign: the home grid, a case page, and the operators' health check."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from . import ledger
from .cache import ProcessCache
from .models import Campaign, Case
from .panels import cut_per_request, fill_per_request, render_case_panels
from .tasks import BEAT_TICK_KEY

log = logging.getLogger(__name__)
T = TypeVar("T")


# The busiest pages (home and case pages) read their rows from the cache and make no query once warm. Saving a
# campaign or a case forgets them at once (forget_cached_pages, connected in apps.py); anything changed
# another way shows within this many seconds.
PAGES_CACHE_SECONDS = 60
# The case a request is about is also kept a second in the process (campaign.cache.ProcessCache): a case saved
# in another process shows here up to a second later.
_cases = ProcessCache(seconds=1.0)


def _cached(key: str, compute: Callable[[], T]) -> T:
    key = f"pages:{key}"
    try:
        value = cache.get(key)
    except Exception:  # The cache is a speed-up: the database still has the answer.
        log.exception("Could not read %s from the cache", key)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, PAGES_CACHE_SECONDS)
        except Exception:
            log.exception("Could not store %s in the cache", key)
    return value


def forget_cached_pages(sender, instance: Campaign | Case, **kwargs) -> None:
    campaign = instance if isinstance(instance, Campaign) else instance.campaign
    keys = ["pages:home:", f"pages:home:{campaign.slug}"]
    cases = list(campaign.cases.values_list("pk", "slug"))
    if isinstance(instance, Case):
        cases.append((instance.pk, instance.slug))
    for pk, slug in cases:
        keys += [f"pages:case:{campaign.slug}:{slug}", f"pages:case-id:{pk}"]
        keys += [
            f"pages:{_panels_key(campaign.slug, slug, language, is_open)}"
            for language, _name in settings.LANGUAGES
            for is_open in (True, False)
        ]
    _cases.forget()
    try:
        cache.delete_many(keys)
    except Exception:
        log.exception("Could not forget the cached pages of %s", campaign)


def _home(slug: str | None) -> tuple[Campaign, list[Case]] | None:
    campaign = Campaign.objects.current() if slug is None else Campaign.objects.public().filter(slug=slug).first()
    return None if campaign is None else (campaign, list(campaign.cases.all()))


def campaign_home(request: HttpRequest, campaign: str | None = None) -> HttpResponse:
    # An unknown campaign is cached too (as False), so a flood of bad addresses does not reach the database.
    found = _cached(f"home:{campaign or ''}", lambda: _home(campaign) or False)
    if not found:
        raise Http404("No such campaign is published.")
    current, cases = found
    totals = ledger.totals()["cases"]
    for case in cases:
        case.total = totals.get(case.pk, {}).get("total", 0)
    return render(request, "campaign/home.html", {"campaign": current, "cases": cases})


def _stamped(case: Case | None) -> Case | bool:
    """A case as it goes into the cache, with a stamp of its own: pages rendered from it are cached under that
    stamp (render_case_page), so when the case is forgotten (saved) or expires, they are rendered anew."""
    if case is None:
        return False  # cached too, so a flood of bad addresses does not reach the database
    case.page_stamp = secrets.token_hex(8)
    return case


def public_case(campaign: str, slug: str) -> Case:
    """A published case with its campaign, from the cache once warm; Http404 when there is none. For every
    view that acts on a case from its address (the case page, signing, writing)."""
    key = f"case:{campaign}:{slug}"
    case = _cases.get(
        key,
        lambda: _cached(
            key,
            lambda: _stamped(
                Case.objects.public().select_related("campaign").filter(campaign__slug=campaign, slug=slug).first()
            ),
        ),
    )
    if not case:
        raise Http404("No such case.")
    return case


def case_by_id(pk: int) -> Case | None:
    """A case (published or not) with its campaign, from the cache once warm: for pages that reach a case
    through one of its rows (a signature's confirmation link)."""
    key = f"case-id:{pk}"
    found = _cases.get(
        key, lambda: _cached(key, lambda: _stamped(Case.objects.select_related("campaign").filter(pk=pk).first()))
    )
    return found or None


def render_case_page(
    request: HttpRequest, case: Case, template: str, context: Callable[[], dict], variant: str = ""
) -> HttpResponse:
    """A page about `case` that every visitor sees alike but for a few values filled in per request (CSRF
    tokens, a form's time, the language form's path: campaign.panels). It is rendered once per case, language
    and `variant` (whatever else the page shows that can change: a total, a state) and cached, so the
    busiest pages of a surge (the case page, "check your inbox", the confirmation pages) skip the templates.
    `context` is called only when the page is rendered."""

    def render_cut() -> str:
        return cut_per_request(render_to_string(template, context(), request=request))

    stamp = getattr(case, "page_stamp", "")
    if not stamp or len(get_messages(request)):  # A message is this visitor's own: not for the cache.
        html = render_cut()
    else:
        html = _cached(f"case-page:{case.pk}:{stamp}:{get_language()}:{template}:{variant}", render_cut)
    return HttpResponse(fill_per_request(html, request))


def case_detail(request: HttpRequest, campaign: str, slug: str) -> HttpResponse:
    case = public_case(campaign, slug)  # shared with other requests of this process: read, never written
    total = ledger.case_total(case.pk)
    is_open = case.is_open()

    def context() -> dict:
        # The panels (the petition and letter forms) are rendered once per case, language and open state: the
        # page is rendered anew each time the total moves, and they are the costly part.
        panels = _cached(
            _panels_key(campaign, slug, get_language(), is_open),
            lambda: [cut_per_request(html) for html in render_case_panels(request, case)],
        )
        panels = [mark_safe(html) for html in panels]  # noqa: S308 (template output, cut for the cache)
        return {"campaign": case.campaign, "case": case, "total": total, "panels": panels}

    return render_case_page(request, case, "campaign/case_detail.html", context, f"{total}:{int(is_open)}")


def _panels_key(campaign: str, slug: str, language: str, is_open: bool) -> str:
    return f"panels:{campaign}:{slug}:{language}:{int(is_open)}"


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
            conn.ensure_connection(max_retries=1, timeout=2)
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
