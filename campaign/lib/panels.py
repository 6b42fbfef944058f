"""Where the case page shows what other apps add to it (the petition form, the letter form).

Apps register a renderer in their AppConfig.ready(); the case page calls them in order. This keeps imports
flowing one way: `petitions` and `letters` know `campaign`, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from campaign.models import Case

PanelRenderer = Callable[[HttpRequest, Case], str]

_panels: dict[str, tuple[int, PanelRenderer]] = {}


def register_case_panel(name: str, order: int, render: PanelRenderer) -> None:
    """Show `render(request, case)` (HTML rendered from an autoescaping template) on every case page."""
    _panels[name] = (order, render)


def render_case_panels(request: HttpRequest, case: Case) -> list[SafeString]:
    # The renderers return template output, which is already escaped.
    return [mark_safe(render(request, case)) for _, render in sorted(_panels.values(), key=lambda p: p[0])]  # noqa: S308
