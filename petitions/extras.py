"""What other apps show on the petition's own pages after signing ("check your inbox") and after confirming (the
thanks page): a registry, like the case page's panels (`campaign.lib.panels`), so that this app never imports
the apps that fill it (supporters proposes the next step there).

A renderer is `render(request, case, stage)` with `stage` "signed" or "confirmed", and returns HTML rendered
from an autoescaping template. It is rendered with the page, and cached with it: it must not depend on the
visitor.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from campaign.models import Case

AfterSigning = Callable[[HttpRequest, Case, str], str]

_renderers: dict[str, AfterSigning] = {}


def register_after_signing(name: str, render: AfterSigning) -> None:
    _renderers[name] = render


def render_after_signing(request: HttpRequest, case: Case, stage: str) -> SafeString:
    # The renderers return template output, which is already escaped.
    return mark_safe("".join(render(request, case, stage) for render in _renderers.values()))  # noqa: S308
