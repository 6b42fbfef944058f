"""Page caching: the one module that decides what the pages about a case keep, where, and for how long.

The busiest pages (home, a case page, "check your inbox", the confirmation button and its thanks) make no
database query once warm and skip the templates, in three layers. Gain: what turning the layer off costs, in
gunicorn's CPU milliseconds a page, measured by `BENCH_STAGES=pages make bench` on 2 cores while the case's
total moves every 5 s as in a surge (docs/performance.md, "Page caching"; ranges over three runs):

layer                 | key                             | lives | cleared by                | gain
--------------------- | ------------------------------- | ----- | ------------------------- | --------------------------
1. the case a request | case:<campaign>:<slug>,         | 1 s   | saving the case or its    | 0.4 to 0.7 ms of 2.5 to
   is about, in this  | case-id:<pk>                    |       | campaign in this process; | 3.4 (a case page, "check
   process            |                                 |       | elsewhere, time           | your inbox")
2. the same case in   | pages:case:<campaign>:<slug>,   | 60 s  | saving the case or its    | 2.6 to 2.9 ms of 7.1 to
   Redis, with a      | pages:case-id:<pk>              |       | campaign                  | 7.5 (a 404); within the
   stamp; or False    |                                 |       | (forget_cached_pages)     | noise on a known case,
   for no such case   |                                 |       |                           | where layer 1 answers
3. a whole page about | pages:case-page:<pk>:<stamp>:   | 60 s  | a new stamp (the case     | 2.7 to 3.3 ms of 5.4 to
   a case, with the   | <language>:<template>:<variant> |       | saved), a new variant     | 6.3 (a case page); 1.2 to
   per-visitor values |                                 |       | (the total moved)         | 1.4 of 3.9 to 4.0 ("check
   cut out            |                                 |       |                           | your inbox")

60 s is PAGES_CACHE_SECONDS. Layer 2 also gives the case its stamp, so the pages of layer 3 are shared by every
process and rendered anew as soon as the case is saved. A fourth layer, the case page's panels (the petition and
letter forms) cached apart from the page so that a page rendered anew for a new total would not render its forms
again, was removed: it saved 0.01 to 0.12 ms of 2.7 to 3.1 a case page, within the noise, since the page is
rendered once per total and language (every 5 s in a surge) for thousands of requests. The home page's campaign
and cases are kept like the case (`pages:home:<slug>`).

Per-visitor values (the CSRF token, the signed time a form was shown, the language form's `next` path) are
cut out of a page before it is cached and filled in per request (`campaign.lib.slots`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Callable

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from campaign.models import Campaign, Case

from .abuse import sign_form_time
from .cache import ProcessCache, cached
from .panels import render_case_panels
from .slots import fill, slot

log = logging.getLogger(__name__)

# Anything changed without saving a case or a campaign through the ORM shows within this many seconds.
PAGES_CACHE_SECONDS = 60
# A case saved in another process shows here up to a second later.
_cases = ProcessCache(seconds=1.0)


# The layers by the names the bench switch below uses, in the order of the table above.
LAYERS = ("process", "shared", "page")
# A bench switch, never set in production: the `pages` stage of `make bench` starts gunicorns of its own with
# PLUME_BENCH_PAGE_LAYERS_OFF="page" (say) to measure what that layer gains. Read once here, so a layer that is
# on costs nothing more than before. A server with layers off keeps its entries apart, so that servers measured
# side by side never serve each other's pages.
_OFF = frozenset(os.environ.get("PLUME_BENCH_PAGE_LAYERS_OFF", "").replace(",", " ").split())
if _OFF - set(LAYERS):
    raise ImproperlyConfigured(f"PLUME_BENCH_PAGE_LAYERS_OFF names layers among {LAYERS}, not {sorted(_OFF)}.")
_PREFIX = f"pages-without-{'-'.join(sorted(_OFF))}:" if _OFF else "pages:"


def _cached(key: str, compute: Callable) -> object:
    return cached(_PREFIX + key, compute, PAGES_CACHE_SECONDS)


def _layer(name: str, keep: Callable[[str, Callable], object]) -> Callable[[str, Callable], object]:
    """`keep(key, compute)`, or `compute()` every time for a layer the bench switch turned off."""
    return keep if name not in _OFF else lambda key, compute: compute()


_in_process = _layer("process", _cases.get)
_shared = _layer("shared", _cached)
_whole_page = _layer("page", _cached)


def _stamped(case: Case | None) -> Case | bool:
    """A case as it goes into the cache, with a stamp of its own: pages rendered from it are cached under that
    stamp (render_case_page), so when the case is forgotten (saved) or expires, they are rendered anew."""
    if case is None:
        return False  # cached too, so a flood of bad addresses does not reach the database
    case.page_stamp = secrets.token_hex(8)
    return case


def public_case(campaign: str, slug: str) -> Case:
    """A published case with its campaign, from the cache once warm; Http404 when there is none. For every
    view that acts on a case from its address (the case page, signing, writing). Shared with other requests
    of this process: read it, never write on it."""
    key = f"case:{campaign}:{slug}"
    case = _in_process(
        key,
        lambda: _shared(
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
    found = _in_process(
        key, lambda: _shared(key, lambda: _stamped(Case.objects.select_related("campaign").filter(pk=pk).first()))
    )
    return found or None


def home(slug: str | None) -> tuple[Campaign, list[Case]] | None:
    """The campaign a home page shows (the current one when `slug` is None) and its cases, or None."""

    def load() -> tuple[Campaign, list[Case]] | bool:
        found = Campaign.objects.current() if slug is None else Campaign.objects.public().filter(slug=slug).first()
        # An unknown campaign is cached too (as False), so a flood of bad addresses does not reach the database.
        return False if found is None else (found, list(found.cases.all()))

    return _cached(f"home:{slug or ''}", load) or None


def forget_cached_pages(sender, instance: Campaign | Case, **kwargs) -> None:
    """Connected to saving and deleting a campaign or a case (CampaignConfig.ready): its pages are rendered
    anew at the next request."""
    campaign = instance if isinstance(instance, Campaign) else instance.campaign
    keys = ["home:", f"home:{campaign.slug}"]
    cases = list(campaign.cases.values_list("pk", "slug"))
    if isinstance(instance, Case):
        cases.append((instance.pk, instance.slug))
    for pk, slug in cases:
        keys += [f"case:{campaign.slug}:{slug}", f"case-id:{pk}"]
    _cases.forget()
    try:
        cache.delete_many([_PREFIX + key for key in keys])
    except Exception:
        log.exception("Could not forget the cached pages of %s", campaign)


def render_case_page(
    request: HttpRequest, case: Case, template: str, context: Callable[[], dict], variant: str = ""
) -> HttpResponse:
    """A page about `case` that every visitor sees alike but for the per-visitor values (`fill_per_request`).
    It is rendered once per case, language and `variant` (whatever else the page shows that can change: a
    total, a state) and cached. `context` is called only when the page is rendered."""

    def render_cut() -> str:
        return cut_per_request(render_to_string(template, context(), request=request))

    stamp = getattr(case, "page_stamp", "")
    if not stamp or len(get_messages(request)):  # A message is this visitor's own: not for the cache.
        html = render_cut()
    else:
        html = _whole_page(f"case-page:{case.pk}:{stamp}:{get_language()}:{template}:{variant}", render_cut)
    return HttpResponse(fill_per_request(html, request))


def case_panels(request: HttpRequest, case: Case, is_open: bool) -> list[SafeString]:
    """What other apps show on the case page (`campaign.lib.panels`), rendered with the page and cached with it.
    `is_open` is no longer used: the panels had a cache of their own, which gained nothing measurable and was
    removed (see the table above)."""
    return render_case_panels(request, case)


# The per-visitor values of a page all come from Django's own rendering or from base.html, so their markup is
# known exactly: the hidden inputs of the CSRF token, of the signed time a form was shown, and of the
# language form's `next` path.
_PER_REQUEST = re.compile(r'(<input type="hidden" name="(csrfmiddlewaretoken|started|next)" value=")[^"]*(")')


def cut_per_request(html: str) -> str:
    """The HTML with the visitor's CSRF token, form time and `next` path replaced by slots, for the cache."""
    return _PER_REQUEST.sub(lambda m: m.group(1) + slot(m.group(2)) + m.group(3), html)


def fill_per_request(html: str, request: HttpRequest) -> SafeString:
    """Cached HTML with this visitor's CSRF token (which also sets the CSRF cookie), form time and path."""
    values = {
        "csrfmiddlewaretoken": lambda: get_token(request),
        "started": lambda: sign_form_time(time.time()),
        "next": request.get_full_path,
    }
    # Template output; the token and the form time are URL-safe, the path is escaped.
    return mark_safe(fill(html, values, html=True))  # noqa: S308
