"""Supporters' pages: the letter form (also shown on the case page as a panel) and families' private
links to drawings too large to attach."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.lib.pages import public_case
from campaign.models import Case

from .forms import LetterForm
from .images import megabytes, private_image_response
from .services import digests, writing
from .services.screening import text_fingerprint


def _initial() -> dict:
    language = get_language() or settings.LANGUAGE_CODE
    return {"language": language}


def render_letter_panel(request: HttpRequest, case: Case) -> str:
    """The letter form on the case page (registered in LettersConfig.ready)."""
    form = LetterForm(case=case, initial=_initial()) if case.is_open() else None
    return render_to_string("letters/_panel.html", {"case": case, "form": form}, request=request)


class _DiscardFiles(FileUploadHandler):
    """Reads past every file in a request without keeping a byte of it (for a writer over the rate limit, whose
    message comes back to them but whose picture is never stored nor decoded)."""

    def new_file(self, *args, **kwargs) -> None:
        raise SkipFile

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        return None

    def file_complete(self, file_size: int) -> None:
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _write_page(request: HttpRequest, case: Case, form: LetterForm, status: int, problem: str = "") -> HttpResponse:
    context = {"case": case, "form": form, "problem": problem}
    return render(request, "letters/write.html", context, status=status)


# Exempt from the CSRF middleware, which would read the whole body (the upload with it) to find the token before
# the view runs: write_letter first refuses what it must without reading the body, then checks the token itself.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def write_letter(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    case_obj = public_case(campaign, case)
    if not case_obj.is_open():
        messages.info(request, _("Letters for this case are closed. Thank you for your support."))
        return redirect(case_obj)
    if request.method == "GET":
        return _write_page(request, case_obj, LetterForm(case=case_obj, initial=_initial()), 200)
    if _content_length(request) > settings.LETTERS_IMAGE_MAX_BYTES + 256 * 1024:
        # Refused before the body is read: a huge upload never reaches the disk.
        problem = _("This image is too large. Please choose one under %(limit)s MB.") % {
            "limit": megabytes(settings.LETTERS_IMAGE_MAX_BYTES)
        }
        return _write_page(request, case_obj, LetterForm(case=case_obj, initial=_initial()), 413, problem)
    # Every attempt counts against the address, before the body is read: a client over its limit never gets a
    # picture decoded (the same text's limit needs the text, and is checked once the form is valid).
    limit = RateLimit("letters-ip", client_ip(request), settings.LETTERS_RATE_LIMIT_PER_HOUR, 3600)
    over_limit = hit_rate_limit(limit) is not None
    if over_limit:
        request.upload_handlers = [_DiscardFiles(request)]
    return _post_letter(request, case_obj, over_limit)


@csrf_protect
def _post_letter(request: HttpRequest, case: Case, over_limit: bool) -> HttpResponse:
    form = LetterForm(request.POST, request.FILES, case=case)
    if over_limit:
        problem = _("You have sent many messages in a short time. Thank you! Please wait an hour before the next one.")
        return _write_page(request, case, form, 429, problem)
    if not form.is_valid():
        if form.has_error("image", "busy"):
            response = _write_page(request, case, form, 503)
            response["Retry-After"] = "60"
            return response
        return _write_page(request, case, form, 400)
    suspicion = form.suspicion()
    thanks = _("Thank you! A volunteer will read your message before it is sent.")
    if suspicion == "honeypot":
        # Only robots fill in the invisible field: answer as for anyone, keep nothing.
        messages.success(request, thanks)
        return redirect(case)
    fingerprint = text_fingerprint(form.cleaned_data["text"])
    same_text = RateLimit(
        "letters-same-text", f"{client_ip(request)}:{fingerprint}", settings.LETTERS_SAME_TEXT_PER_DAY, 86400
    )
    if hit_rate_limit(same_text) is not None:
        form.add_error(None, _("You already sent this message. Please write a new one in your own words."))
        return _write_page(request, case, form, 429)
    writing.submit_letter(
        case,
        form.cleaned_data,
        form.cleaned_data.get("image"),
        suspicion=suspicion,
        writer_language=get_language() or settings.LANGUAGE_CODE,
    )
    messages.success(request, thanks)
    return redirect(case)


@never_cache
def family_image(request: HttpRequest, token: str) -> FileResponse:
    """A drawing linked from a family digest (too large to attach): a signed link that expires."""
    letter = digests.letter_for_image_token(token)
    if letter is None:
        raise Http404(_("This link has expired or is not valid."))
    return private_image_response(letter)
