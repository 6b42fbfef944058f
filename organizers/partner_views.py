"""For partner sites and open data: the public totals JSON and the embeddable counter.

No personal data in either: only counts per case, kind of action and country, from the ledger.
"""

from __future__ import annotations

import hashlib
import json

from csp.decorators import csp_replace
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.clickjacking import xframe_options_exempt

from campaign.lib import ledger
from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.lib.cache import cached
from campaign.lib.pages import public_case
from campaign.models import ActionKind, Case, Tally
from sections.services import movement

OPEN_DATA_CACHE_KEY = "opendata:totals:v1"
OPEN_DATA_VERSION = 1
# The key public JSON uses for tallies whose country is not known.
UNKNOWN_COUNTRY = "unknown"


def compute_open_data() -> dict:
    """Totals per case, kind and country for every public case (two queries). Documented in docs/organizers.md."""
    cases = list(Case.objects.public().select_related("campaign").order_by("campaign__opens_at", "display_order"))
    by_country: dict[int, dict[str, dict[str, int]]] = {}
    rows = (
        Tally.objects.filter(case__in=[c.pk for c in cases])
        .values("case_id", "kind", "country")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by()
    )
    for row in rows:
        countries = by_country.setdefault(row["case_id"], {})
        entry = countries.setdefault(row["country"] or UNKNOWN_COUNTRY, {})
        entry[row["kind"]] = row["n"]
    out = []
    with translation.override(settings.LANGUAGE_CODE):
        for case in cases:
            per_country = by_country.get(case.pk, {})
            by_kind: dict[str, int] = {}
            for kinds in per_country.values():
                for kind, n in kinds.items():
                    by_kind[kind] = by_kind.get(kind, 0) + n
            out.append(
                {
                    "id": case.pk,
                    # The same case in every installation: hubs add sections' figures up by it.
                    "key": case.key,
                    "campaign": case.campaign.slug,
                    "slug": case.slug,
                    "name": case.name,
                    "country": case.country.code,
                    "url": settings.SITE_URL + case.get_absolute_url(),
                    "goal": case.goal,
                    "total": sum(by_kind.values()),
                    "by_kind": by_kind,
                    "by_country": {
                        code: {"total": sum(kinds.values()), "by_kind": kinds}
                        for code, kinds in sorted(per_country.items())
                    },
                }
            )
    total = sum(c["total"] for c in out)
    # Of the figures, not of the moment they were computed: a hub asking again (If-None-Match) is answered 304
    # while nothing changed.
    etag = hashlib.sha256(json.dumps([total, out], sort_keys=True, default=str).encode()).hexdigest()[:32]
    return {
        "version": OPEN_DATA_VERSION,
        "generated_at": timezone.now().isoformat(),
        "kinds": list(ActionKind.values),
        "total": total,
        "cases": out,
        "_etag": f'"{etag}"',
    }


def open_data() -> dict:
    """The open data, cached as long as the ledger's totals (TOTALS_CACHE_SECONDS)."""
    return cached(OPEN_DATA_CACHE_KEY, compute_open_data, settings.TOTALS_CACHE_SECONDS)


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    return response


def open_data_totals(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/totals: public totals per case, kind and country. Rate-limited per IP address."""
    if request.method == "OPTIONS":
        response = _cors(HttpResponse(status=204))
        response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response["Access-Control-Max-Age"] = "86400"
        return response
    if request.method not in ("GET", "HEAD"):
        response = _cors(JsonResponse({"error": "Only GET is allowed."}, status=405))
        response["Allow"] = "GET, HEAD, OPTIONS"
        return response
    if hit_rate_limit(RateLimit("open-data", client_ip(request), settings.OPEN_DATA_RATE_LIMIT_PER_MINUTE, 60)):
        response = _cors(JsonResponse({"error": "Too many requests: try again in a minute."}, status=429))
        response["Retry-After"] = "60"
        return response
    data = dict(open_data())
    etag = data.pop("_etag", "")
    if etag and etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = _cors(HttpResponse(status=304))
    else:
        response = _cors(JsonResponse(data, json_dumps_params={"ensure_ascii": False}))
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.TOTALS_CACHE_SECONDS}"
    return response


@xframe_options_exempt
# Any site may frame the counter: no frame-ancestors at all (CSP's "*" would still refuse some parents).
@csp_replace({"frame-ancestors": None})
def widget(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    """The counter partner sites show in an iframe: the case's live total and a link to its page."""
    case_obj = public_case(campaign, case)  # from the cache: partner sites' visitors never reach the database
    response = render(
        request,
        "organizers/widget.html",
        {
            "case": case_obj,
            "total": ledger.case_total(case_obj.pk),
            # On a hub, the whole movement's total for the case too (None elsewhere); from the cache as well.
            "movement_total": movement.case_total(case_obj),
            "case_url": settings.SITE_URL + case_obj.get_absolute_url(),
            "totals_url": reverse("public-totals"),
        },
    )
    response["Cache-Control"] = f"public, max-age={settings.TOTALS_CACHE_SECONDS}"
    return response
