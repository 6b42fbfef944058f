"""Where the case page shows what other apps add to it (the petition form, the letter form).

Apps register a renderer in their AppConfig.ready(); the case page calls them in order. This keeps imports
flowing one way: `petitions` and `letters` know `campaign`, never the reverse.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .abuse import sign_form_time
from .models import Case

PanelRenderer = Callable[[HttpRequest, Case], str]

_panels: dict[str, tuple[int, PanelRenderer]] = {}


def register_case_panel(name: str, order: int, render: PanelRenderer) -> None:
    """Show `render(request, case)` (HTML rendered from an autoescaping template) on every case page."""
    _panels[name] = (order, render)


def render_case_panels(request: HttpRequest, case: Case) -> list[SafeString]:
    # The renderers return template output, which is already escaped.
    return [mark_safe(render(request, case)) for _, render in sorted(_panels.values(), key=lambda p: p[0])]  # noqa: S308


# Rendering the panels (crispy forms, field by field) is most of a case page's time, and they are the same for
# every visitor but for two values in each form: the CSRF token and the signed time at which the form was
# shown. The same goes for whole pages about a case (campaign.views.render_case_page), where base.html adds
# the language form's CSRF token and `next` path. They are cached with those values cut out
# (`cut_per_request`) and filled in for each visitor (`fill_per_request`). All come from Django's own
# rendering or from base.html, so their markup is known exactly.
_PER_REQUEST = re.compile(r'(<input type="hidden" name="(csrfmiddlewaretoken|started|next)" value=")[^"]*(")')
# NUL never appears in rendered templates (Django's forms and the admin refuse it in text).
_SLOTS = {"csrfmiddlewaretoken": "\x00csrf\x00", "started": "\x00started\x00", "next": "\x00next\x00"}


def cut_per_request(html: str) -> str:
    """The HTML with the visitor's CSRF token, form time and `next` path replaced by slots, for the cache."""
    return _PER_REQUEST.sub(lambda m: m.group(1) + _SLOTS[m.group(2)] + m.group(3), html)


def fill_per_request(html: str, request: HttpRequest) -> SafeString:
    """Cached HTML with this visitor's CSRF token (which also sets the CSRF cookie), form time and path."""
    if _SLOTS["csrfmiddlewaretoken"] in html:
        html = html.replace(_SLOTS["csrfmiddlewaretoken"], get_token(request))
    if _SLOTS["started"] in html:
        html = html.replace(_SLOTS["started"], sign_form_time(time.time()))
    if _SLOTS["next"] in html:
        html = html.replace(_SLOTS["next"], escape(request.get_full_path()))
    # Template output; the token and the form time are URL-safe, the path is escaped.
    return mark_safe(html)  # noqa: S308
