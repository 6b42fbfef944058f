"""Tally sheets for events: one printable page (or more) per case and language, blank or filled in for one
event, that a school or a local group prints, signs and types up afterwards.

The ask in the sheet's language, a QR code to the case page and another to the event report form
(`organizers:event-report`, where a local group reports what it did; held for an organizer's approval),
numbered lines for name, country and signature, whose headers are the columns the paper import reads in
that language (`petitions.services.paper.column_header`), so that the typed-up sheet imports as it is.
Small enough to be rendered in the request (about a second), as one PDF.
"""

from __future__ import annotations

import datetime

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from campaign.models import Case
from petitions.services.paper import column_header

from .pdf import css_string, render_pdf

TEMPLATE = "organizers/packs/tally_sheet.html"


def _qr(url: str) -> str:
    # Our own URL drawn as SVG paths by segno: nothing in it comes from a supporter.
    return mark_safe(segno.make(url, error="m").svg_inline(scale=0.75, unit="mm", border=2))  # noqa: S308


def tally_sheet_pdf(
    case: Case,
    *,
    language: str,
    paper: str,
    lines: int = 25,
    event: str = "",
    place: str = "",
    day: datetime.date | None = None,
) -> bytes:
    """The tally sheet of `case` in `language` as PDF bytes: blank, or filled in for an event."""
    from django.template.loader import render_to_string

    with translation.override(language):
        case_url = settings.SITE_URL + case.get_absolute_url()
        report_url = settings.SITE_URL + reverse(
            "organizers:event-report", kwargs={"campaign": case.campaign.slug, "case": case.slug}
        )
        footer = _("Petition for %(case)s · tally sheet") % {"case": case.name}
        context = {
            "case": case,
            "language": language,
            "direction": "rtl" if translation.get_language_bidi() else "ltr",
            "paper": paper,
            "first_page": 1,
            "footer_css": mark_safe(css_string(footer)),  # noqa: S308 (escaped by css_string)
            "case_url": case_url,
            "report_url": report_url,
            "case_qr": _qr(case_url),
            "report_qr": _qr(report_url),
            "columns": {name: column_header(name) for name in ("name", "country", "email", "count")},
            "lines": range(1, lines + 1),
            "event": event,
            "place": place,
            "day": day,
            "organisation": getattr(settings, "ORGANISATION_NAME", "") or case.campaign.name,
        }
        html = render_to_string(TEMPLATE, context)
    data, _pages = render_pdf(html)
    return data
