"""Organizers' pages for what Plume prints (#13): /<language>/staff/paper/.

- Hand-over packs for the authority (petitions.export_signatures) and letters packs for family contacts
  reached by post (letters.print_letters) are export jobs: the request redirects to the export's page, with
  its progress bar and download (organizers/exports/handover.py, letters_pack.py).
- A ready letters pack's hand-over is recorded here, or the pack is said not printed (letters.services.packs).
- Tally sheets for events, per case and language, blank or filled in, are rendered in the request as PDF.

Everything needs the organizers' permission (`views.organizers_only`) and each part its own.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from campaign.models import Case
from letters.models import FamilyContact, Letter, LetterPack
from letters.services import packs

from .exports import handover, letters_pack, tally_sheet
from .exports.base import paper_size
from .paper_forms import HandoverPackForm, HandoverRecordForm, LettersPackForm, TallySheetForm
from .views import SIGNATURES_PERMISSION, organizers_only

PRINT_LETTERS_PERMISSION = "letters.print_letters"


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _contacts_by_post() -> list[FamilyContact]:
    """Contacts reached on paper, each with the number of approved letters no pack of theirs holds (`waiting`)."""
    contacts = list(
        FamilyContact.objects.by_post()
        .select_related("case__campaign")
        .order_by("case__campaign__opens_at", "case__display_order", "name")
    )
    for contact in contacts:
        contact.waiting = Letter.objects.not_yet_printed_for(contact).count()
    return contacts


def _paper_page(request: HttpRequest, handover_form: HandoverPackForm | None = None, status: int = 200):
    may_hand_over = request.user.has_perm(SIGNATURES_PERMISSION)
    may_print = request.user.has_perm(PRINT_LETTERS_PERMISSION)
    context = {
        "cases": Case.objects.select_related("campaign").order_by("campaign__opens_at", "display_order"),
        "tally_form": TallySheetForm(initial={"language": request.LANGUAGE_CODE}),
        "handover_form": handover_form or (HandoverPackForm() if may_hand_over else None),
        "may_print": may_print,
    }
    if may_print:
        context["contacts"] = _contacts_by_post()
        context["paper_choices"] = LettersPackForm.base_fields["format"].choices
        context["packs"] = (
            LetterPack.objects.select_related("contact__case", "export_job", "created_by")
            .exclude(status=LetterPack.Status.FAILED)
            .order_by("-created_at")[:30]
        )
    return render(request, "organizers/packs/paper.html", context, status=status)


@organizers_only
@require_http_methods(["GET"])
def paper_page(request: HttpRequest) -> HttpResponse:
    return _paper_page(request)


@organizers_only
@require_POST
def handover_pack(request: HttpRequest) -> HttpResponse:
    _require(request, SIGNATURES_PERMISSION)
    form = HandoverPackForm(request.POST)
    if not form.is_valid():
        return _paper_page(request, handover_form=form, status=400)
    job = handover.request_handover_pack(
        requested_by=request.user,
        case=form.cleaned_data["case"],
        country=form.cleaned_data["country"],
        format=form.cleaned_data["format"],
    )
    return redirect("organizers:export", pk=job.pk)


@organizers_only
@require_POST
def letters_pack_request(request: HttpRequest) -> HttpResponse:
    _require(request, PRINT_LETTERS_PERMISSION)
    form = LettersPackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a family contact reached on paper and a paper size."))
        return redirect("organizers:paper")
    try:
        job = letters_pack.request_letters_pack(
            requested_by=request.user, contact=form.cleaned_data["contact"], format=form.cleaned_data["format"]
        )
    except packs.PackRefused as refusal:
        messages.warning(request, str(refusal))
        return redirect("organizers:paper")
    return redirect("organizers:export", pk=job.pk)


@organizers_only
@require_http_methods(["GET", "POST"])
def record_handover(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, PRINT_LETTERS_PERMISSION)
    pack = get_object_or_404(LetterPack.objects.select_related("contact__case"), pk=pk)
    form = HandoverRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if packs.record_handover(
            pack.pk, day=form.cleaned_data["day"], note=form.cleaned_data["note"], user=request.user
        ):
            messages.success(request, _("The hand-over is recorded; the writers who asked will be told."))
        else:
            messages.warning(request, _("This pack is not ready to be handed over (or its hand-over was recorded)."))
        return redirect("organizers:paper")
    status = 400 if form.errors else 200
    return render(request, "organizers/packs/handover_record.html", {"pack": pack, "form": form}, status=status)


@organizers_only
@require_POST
def cancel_letters_pack(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, PRINT_LETTERS_PERMISSION)
    if packs.cancel_pack(pk):
        messages.success(request, _("The pack is marked as not printed: its letters go in the next pack."))
    else:
        messages.warning(request, _("Only a ready pack that was not handed over can be marked as not printed."))
    return redirect("organizers:paper")


@organizers_only
@require_http_methods(["GET"])
def tally_sheet_pdf(request: HttpRequest) -> HttpResponse:
    """A case's tally sheet as PDF (?case=<id>&language=fr&format=pdf&lines=25), blank or filled in for an
    event (&event=...&place=...&day=2026-12-10)."""
    form = TallySheetForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items())
        messages.error(request, _("The tally sheet cannot be made: %(errors)s") % {"errors": errors})
        return redirect("organizers:paper")
    data = form.cleaned_data
    case = data["case"]
    pdf = tally_sheet.tally_sheet_pdf(
        case,
        language=data["language"],
        paper=paper_size(data["format"]),
        lines=data["lines"],
        event=data["event"],
        place=data["place"],
        day=data["day"],
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"tally-sheet-{case.slug}-{data['language']}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
