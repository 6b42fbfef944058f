"""Page caching: the one module that decides what the pages about a case keep, where, and for how long.

The busiest pages (home, a case page, "check your inbox", the confirmation button and its thanks) make no
database query once warm and skip the templates, in four layers:

Layer | key | lifetime | cleared by
----- | --- | -------- | ----------
1. the case a request is about, in this process (`ProcessCache`) | `case:<campaign>:<slug>`, `case-id:<pk>` |
   1 s | a case or campaign saved in this process; elsewhere, the second running out
2. the same case in the shared cache (Redis), with a random stamp | `pages:case:<campaign>:<slug>`,
   `pages:case-id:<pk>` | PAGES_CACHE_SECONDS | saving the case or its campaign (`forget_cached_pages`)
3. a whole page about a case, per-visitor values cut out |
   `pages:case-page:<pk>:<stamp>:<language>:<template>:<variant>` | PAGES_CACHE_SECONDS | a new stamp (the case
   saved), a new variant (the total moved)
4. the case page's panels (the petition and letter forms) | `pages:panels:<campaign>:<slug>:<language>:<open>` |
   PAGES_CACHE_SECONDS | saving the case or its campaign

The home page's campaign and cases are kept like the case (`pages:home:<slug>`). What each layer gains is
measured by `BENCH_STAGES=pages make bench` (docs/performance.md, "Page caching").

Per-visitor values (the CSRF token, the signed time a form was shown, the language form's `next` path) are
cut out of a page before it is cached and filled in per request (`campaign.lib.slots`).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
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


def _cached(key: str, compute: Callable) -> object:
    return cached(f"pages:{key}", compute, PAGES_CACHE_SECONDS)


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
        html = _cached(f"case-page:{case.pk}:{stamp}:{get_language()}:{template}:{variant}", render_cut)
    return HttpResponse(fill_per_request(html, request))


def case_panels(request: HttpRequest, case: Case, is_open: bool) -> list[SafeString]:
    """What other apps show on the case page, rendered once per case, language and open state: the page is
    rendered anew each time its total moves, and the forms are its costly part."""
    panels = _cached(
        _panels_key(case.campaign.slug, case.slug, get_language(), is_open),
        lambda: [cut_per_request(html) for html in render_case_panels(request, case)],
    )
    return [mark_safe(html) for html in panels]  # noqa: S308 (template output, cut for the cache)


def _panels_key(campaign: str, slug: str, language: str, is_open: bool) -> str:
    return f"panels:{campaign}:{slug}:{language}:{int(is_open)}"


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
