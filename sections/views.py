"""The hub's pages: the movement's figures for organizers (/<lang>/staff/sections/), the public JSON of the
whole movement (/api/v1/movement), the endpoint sections push their totals to (/api/v1/sections/totals) and
the case packs other installations import (/api/v1/case-packs/<campaign key>.zip).

The organizers' page needs `campaign.export_totals` (the Organizers group), like the dashboard; accepting held
figures and uploading a section's file also need `sections.manage_sections`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.models import Campaign

from .models import Section, Snapshot
from .services import casepacks, movement, problems, receiving, snapshots, tokens

VIEW_PERMISSION = "campaign.export_totals"
MANAGE_PERMISSION = "sections.manage_sections"


def organizers_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(login_required(wrapper))


class UploadForm(forms.Form):
    # Its choices come from the cached summary: the page makes no query of its own once warm.
    section = forms.TypedChoiceField(label=gettext_lazy("Section"), coerce=int)
    file = forms.FileField(
        label=gettext_lazy("Its totals as a CSV file"),
        help_text=gettext_lazy("Columns: case (its key), kind, country (ISO code, or empty), count."),
    )


def _upload_form(data=None, files=None) -> UploadForm:
    form = UploadForm(data, files)
    form.fields["section"].choices = [(s["id"], s["name"]) for s in movement.summary()["sections"]]
    return form


def _page_context(request: HttpRequest, upload: UploadForm | None = None) -> dict:
    data = movement.summary()
    # The summary is shared (cached): the page's own additions go on copies.
    sections = [
        {
            **section,
            "problem_text": problems.describe(section["problem"]),
            "received": parse_datetime(section["received_at"]) if section["received_at"] else None,
        }
        for section in data["sections"]
    ]
    return {
        "movement": {**data, "sections": sections},
        "upload": upload or _upload_form(),
        "may_manage": request.user.has_perm(MANAGE_PERMISSION),
        "stale_after_minutes": settings.SECTIONS_STALE_AFTER_SECONDS // 60,
    }


@organizers_only
def sections_page(request: HttpRequest) -> HttpResponse:
    """The movement by section, read from the cached summary: once warm, no query beyond the sign-in's."""
    return render(request, "sections/staff.html", _page_context(request))


@organizers_only
@require_POST
def decide_held(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied
    section = get_object_or_404(Section, pk=pk)
    if request.POST.get("decision") == "accept":
        done = snapshots.accept_held(section.pk)
        text = _("The held figures of %(name)s now count.")
    else:
        done = snapshots.discard_held(section.pk)
        text = _("The held figures of %(name)s were thrown away; its counted figures stand.")
    if done:
        messages.success(request, text % {"name": section.name})
    else:
        messages.info(request, _("Nothing was held for %(name)s any more.") % {"name": section.name})
    return redirect("sections:staff")


@organizers_only
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied
    form = _upload_form(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "sections/staff.html", _page_context(request, form), status=400)
    section = get_object_or_404(Section, pk=form.cleaned_data["section"], is_active=True)
    file = form.cleaned_data["file"]
    if file.size > settings.SECTIONS_MAX_DOCUMENT_BYTES:
        form.add_error("file", _("This file is larger than the hub reads."))
        return render(request, "sections/staff.html", _page_context(request, form), status=400)
    outcome = receiving.receive_document(
        section, file.read(), content_type="text/csv", channel=Snapshot.Channel.UPLOAD, uploaded_by=request.user
    )
    if outcome.problem:
        messages.error(
            request,
            _("The file was refused: %(why)s (%(where)s). The counted figures of %(name)s stand.")
            % {"why": problems.describe(outcome.problem), "where": outcome.detail, "name": section.name},
        )
    elif outcome.received is snapshots.Received.HELD:
        messages.warning(request, _("Its total fell sharply: the figures are held until you accept them."))
    else:
        messages.success(request, _("The figures of %(name)s now count.") % {"name": section.name})
    return redirect("sections:staff")


# --- Public JSON and the push endpoint ----------------------------------------------------------------------


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_http_methods(["GET", "HEAD"])
def movement_json(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/movement: the movement's totals, by section and per case, and the global total. Public, no
    personal data, cached; documented in docs/sections.md."""
    if hit_rate_limit(RateLimit("open-data", client_ip(request), settings.OPEN_DATA_RATE_LIMIT_PER_MINUTE, 60)):
        response = _json({"error": "Too many requests: try again in a minute."}, status=429)
        response["Retry-After"] = "60"
        return response
    data = movement.summary()
    public = {
        "version": 1,
        "generated_at": data["generated_at"],
        "total": data["total"],
        "sections": [{"name": data["own"]["name"], "this_site": True, "total": data["own"]["total"], "stale": False}]
        + [
            {
                "name": s["name"],
                "countries": s["countries"],
                "total": s["total"],
                "by_kind": s["by_kind"],
                "received_at": s["received_at"],
                "stale": s["stale"],
            }
            for s in data["sections"]
        ],
        "cases": [{"key": key, **entry} for key, entry in sorted(data["cases"].items())],
    }
    response = _json(public)
    response["Cache-Control"] = f"public, max-age={settings.TOTALS_CACHE_SECONDS}"
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The request's body, or None past `limit` bytes (read no further)."""
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt  # a token, not a cookie, says who sends
@require_http_methods(["POST"])
def push_totals(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/sections/totals with `Authorization: Bearer <token>` and the JSON of /api/v1/totals (or a
    CSV of the same aggregates, `Content-Type: text/csv`): the section's figures, replacing its counted ones."""
    limit = RateLimit("section-push", client_ip(request), settings.SECTIONS_PUSH_RATE_LIMIT_PER_HOUR, 3600)
    if hit_rate_limit(limit):
        response = _json({"error": "Too many pushes: try again later."}, status=429)
        response["Retry-After"] = "3600"
        return response
    scheme, _space, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    section, why = tokens.section_for_token(token.strip()) if scheme.lower() == "bearer" else (None, "unknown_token")
    if section is None:
        message = {
            "revoked_token": "This token was revoked: ask the hub's organizers for a new one.",
            "inactive": "The hub no longer follows this section.",
        }.get(why, "A valid token is needed (Authorization: Bearer <token>).")
        return _json({"error": message, "problem": why}, status=403 if why == "inactive" else 401)
    raw = _read_body(request, settings.SECTIONS_MAX_DOCUMENT_BYTES)
    if raw is None:
        snapshots.record_problem(section.pk, "too_large", "")
        return _json({"error": "The document is too large.", "problem": "too_large"}, status=413)
    outcome = receiving.receive_document(section, raw, content_type=request.content_type or "")
    if outcome.problem:
        return _json(
            {"error": str(problems.describe(outcome.problem)), "problem": outcome.problem, "detail": outcome.detail},
            status=400,
        )
    return _json({"status": outcome.received.value, "total": outcome.total})


@require_http_methods(["GET", "HEAD"])
def case_pack(request: HttpRequest, key: str) -> HttpResponse:
    """GET /api/v1/case-packs/<campaign key>.zip: a published campaign's case pack, for other installations to
    import (its cases are public already)."""
    if hit_rate_limit(RateLimit("case-pack", client_ip(request), settings.OPEN_DATA_RATE_LIMIT_PER_MINUTE, 60)):
        response = _json({"error": "Too many requests: try again in a minute."}, status=429)
        response["Retry-After"] = "60"
        return response
    campaign = Campaign.objects.public().filter(key=key).first()
    if campaign is None:
        raise Http404("No such published campaign.")
    response = HttpResponse(casepacks.export_case_pack(campaign), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{casepacks.file_name(campaign)}"'
    return response
