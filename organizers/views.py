"""Organizers' pages: the dashboard of totals, the exports, and the lists of signatures for the authority.

Everything here needs the permission `campaign.export_totals` (the Organizers group): an anonymous visitor is
sent to the login page, anyone else without it gets a 403. Exports are seen and downloaded by whoever holds
that permission and the one of the export's kind (the signatures: `petitions.export_signatures`), which is the
requester and the other organizers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_countries import countries

from campaign.models import Campaign, Case, ExportJob
from petitions.models import Signature

from . import dashboard
from .exports import base as exports
from .exports.signatures import request_signature_list
from .forms import ExportRequestForm, SignatureListExportForm

EXPORT_PERMISSION = "campaign.export_totals"
SIGNATURES_PERMISSION = "petitions.export_signatures"


def organizers_only(view: Callable) -> Callable:
    """Login page for anonymous visitors, 403 for people who may not see totals and exports."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(login_required(wrapper))


def _job_for(request: HttpRequest, pk: int) -> ExportJob:
    # Any organizer may follow and download any organizer's export; organizers_only already checked that.
    # A kind another app registered (a petition's signatures) also needs that app's permission.
    job = get_object_or_404(ExportJob.objects.select_related("requested_by", "campaign", "case"), pk=pk)
    if not exports.may_see(request.user, job):
        raise PermissionDenied
    return job


def _status(job: ExportJob) -> dict:
    ready = job.status == ExportJob.Status.DONE
    return {
        "id": job.pk,
        "label": exports.label(job.kind),
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "download_url": reverse("organizers:export-download", args=[job.pk]) if ready else None,
        "expires_at": job.expires_at.isoformat() if ready else None,
        "error": _("The export failed. Start it again; if it fails again, tell an administrator.")
        if job.status == ExportJob.Status.FAILED
        else None,
    }


@organizers_only
def dashboard_page(request: HttpRequest) -> HttpResponse:
    campaigns = list(Campaign.objects.all())
    chosen = request.GET.get("campaign")
    campaign = next((c for c in campaigns if c.slug == chosen), None) or Campaign.objects.current()
    if campaign is None and campaigns:
        campaign = campaigns[0]
    context = {"campaigns": campaigns, "campaign": campaign, "site_url": settings.SITE_URL}
    if campaign is not None:
        context.update(dashboard.summary(campaign))
        for row in context["rows"]:
            url = settings.SITE_URL + reverse(
                "organizers:widget", kwargs={"campaign": campaign.slug, "case": row["case"].slug}
            )
            row["embed_url"] = url
            row["embed_snippet"] = format_html(
                '<iframe src="{}" title="{}" width="320" height="200" style="border:0" loading="lazy"></iframe>',
                url,
                row["case"].name,
            )
            row["embed_script"] = format_html(
                '<div data-plume-case="{}/{}" data-plume-language="{}" data-plume-title="{}"></div>\n'
                '<script src="{}" async></script>',
                campaign.slug,
                row["case"].slug,
                translation.get_language(),
                row["case"].name,
                # Not the hashed name static() gives: partners' pages keep the address across releases.
                settings.SITE_URL + settings.STATIC_URL + "js/plume-embed.js",
            )
    return render(request, "organizers/dashboard.html", context)


@organizers_only
@require_http_methods(["GET", "POST"])
def export_list(request: HttpRequest) -> HttpResponse:
    form = ExportRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        job = exports.request_export(
            requested_by=request.user,
            kind=form.cleaned_data["kind"],
            format=form.cleaned_data["format"],
            campaign=form.cleaned_data["campaign"],
        )
        return redirect("organizers:export", pk=job.pk)
    jobs = list(
        ExportJob.objects.select_related("requested_by", "campaign", "case").exclude(
            kind__in=exports.hidden_kinds(request.user)
        )[:20]
    )
    for job in jobs:
        job.label = exports.label(job.kind)
    return render(
        request,
        "organizers/exports.html",
        {"form": form, "jobs": jobs, "keep_hours": settings.EXPORT_FILES_KEEP_HOURS},
    )


@organizers_only
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    return render(request, "organizers/export_job.html", {"job": job, "state": _status(job)})


@organizers_only
def export_status(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(_status(_job_for(request, pk)))


@organizers_only
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    path = exports.export_path(job) if job.status == ExportJob.Status.DONE else None
    if path is None:
        if job.status == ExportJob.Status.EXPIRED:
            return render(request, "organizers/export_job.html", {"job": job, "state": _status(job)}, status=410)
        raise Http404(_("This export has no file."))
    # CSV, XLSX, or a printed pack (PDF, or a ZIP of volumes): its type and name come from the file.
    return exports.file_response(job, path)


# --- The lists of signatures for the authority ------------------------------------------------------------


def _may_export_signatures(request: HttpRequest) -> None:
    if not request.user.has_perm(SIGNATURES_PERMISSION):
        raise PermissionDenied


@organizers_only
@require_http_methods(["GET", "POST"])
def authority_lists(request: HttpRequest) -> HttpResponse:
    """The printable page of each case, and the CSV or XLSX file prepared by a worker (followed on the export
    page)."""
    _may_export_signatures(request)
    form = SignatureListExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        job = request_signature_list(
            requested_by=request.user,
            case=form.cleaned_data["case"],
            country=form.cleaned_data["country"],
            format=form.cleaned_data["format"],
        )
        return redirect("organizers:export", pk=job.pk)
    cases = Case.objects.select_related("campaign").order_by("campaign__opens_at", "display_order")
    status = 400 if form.errors else 200
    return render(request, "organizers/authority_lists.html", {"cases": cases, "form": form}, status=status)


@organizers_only
def signature_list(request: HttpRequest, campaign: str, case: str) -> StreamingHttpResponse:
    """A printable page: the petition text, the authority, the total and every name with its country (the
    files are export jobs: organizers/exports/signatures.py).

    Streamed row by row (a case can have hundreds of thousands of names); every name is escaped.
    """
    _may_export_signatures(request)
    case = get_object_or_404(Case.objects.select_related("campaign"), campaign__slug=campaign, slug=case)
    country = request.GET.get("country", "").upper()
    names = dict(countries)
    if country not in names:
        country = ""
    signatures = Signature.objects.for_authority(case, country)
    context = {"case": case, "campaign": case.campaign, "total": signatures.count(), "country": names.get(country, "")}
    head, _rows, foot = render_to_string("organizers/signature_list.html", context, request=request).partition(
        "<!-- rows -->"
    )

    def page():
        yield head
        rows = signatures.values_list("name", "country").iterator(5000)
        for number, (name, code) in enumerate(rows, start=1):
            yield f"<tr><td>{number}</td><td>{escape(name)}</td><td>{escape(names.get(code, ''))}</td></tr>\n"
        yield foot

    return StreamingHttpResponse(page(), content_type="text/html; charset=utf-8")
