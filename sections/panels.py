"""What the sections app shows on a case page: the whole movement's total for the case, on a hub (a site that
follows sections). Rendered with the page and cached with it, so it is at most a minute behind the summary."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from campaign.models import Case

from .services import movement


def movement_panel(request: HttpRequest, case: Case) -> str:
    total = movement.case_total(case)
    if total is None:
        return ""
    data = movement.summary()
    return render_to_string(
        "sections/_movement_panel.html",
        {"case": case, "total": total, "sections": len(data["sections"]) + 1},
        request=request,
    )
