"""Supporters' pages: the letter form (also shown on the case page as a panel) and families' private
links to drawings too large to attach."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.lib.pages import public_case
from campaign.models import Case

from . import services
from .forms import LetterForm
from .images import megabytes, private_image_response


def _initial() -> dict:
    language = get_language() or settings.LANGUAGE_CODE
    return {"language": language}


def render_letter_panel(request: HttpRequest, case: Case) -> str:
    """The letter form on the case page (registered in LettersConfig.ready)."""
    form = LetterForm(case=case, initial=_initial()) if case.is_open() else None
    return render_to_string("letters/_panel.html", {"case": case, "form": form}, request=request)


def _limited(request: HttpRequest, form: LetterForm) -> str:
    """The message for a writer over a rate limit, or ""."""
    ip = client_ip(request)
    fingerprint = services.text_fingerprint(form.cleaned_data["text"])
    over = hit_rate_limit(
        RateLimit("letters-ip", ip, settings.LETTERS_RATE_LIMIT_PER_HOUR, 3600),
        RateLimit("letters-same-text", f"{ip}:{fingerprint}", settings.LETTERS_SAME_TEXT_PER_DAY, 86400),
    )
    if over is None:
        return ""
    if over.bucket == "letters-ip":
        return _("You have sent many messages in a short time. Thank you! Please wait an hour before the next one.")
    return _("You already sent this message. Please write a new one in your own words.")


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@never_cache
@require_http_methods(["GET", "POST"])
def write_letter(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    case_obj = public_case(campaign, case)
    if not case_obj.is_open():
        messages.info(request, _("Letters for this case are closed. Thank you for your support."))
        return redirect(case_obj)
    if request.method == "POST" and _content_length(request) > settings.LETTERS_IMAGE_MAX_BYTES + 256 * 1024:
        # Refused before the body is read: a huge upload never reaches the disk.
        problem = _("This image is too large. Please choose one under %(limit)s MB.") % {
            "limit": megabytes(settings.LETTERS_IMAGE_MAX_BYTES)
        }
        form = LetterForm(case=case_obj, initial=_initial())
        return render(request, "letters/write.html", {"case": case_obj, "form": form, "problem": problem}, status=413)
    if request.method == "POST":
        form = LetterForm(request.POST, request.FILES, case=case_obj)
        if form.is_valid():
            suspicion = form.suspicion()
            if suspicion == "honeypot":
                # Only robots fill in the invisible field: answer as for anyone, keep nothing.
                messages.success(request, _("Thank you! A volunteer will read your message before it is sent."))
                return redirect(case_obj)
            problem = _limited(request, form)
            if problem:
                form.add_error(None, problem)
                return render(request, "letters/write.html", {"case": case_obj, "form": form}, status=429)
            services.submit_letter(
                case_obj,
                form.cleaned_data,
                form.cleaned_data.get("image"),
                suspicion=suspicion,
                writer_language=get_language() or settings.LANGUAGE_CODE,
            )
            messages.success(request, _("Thank you! A volunteer will read your message before it is sent."))
            return redirect(case_obj)
        status = 400
    else:
        form = LetterForm(case=case_obj, initial=_initial())
        status = 200
    return render(request, "letters/write.html", {"case": case_obj, "form": form}, status=status)


@never_cache
def family_image(request: HttpRequest, token: str) -> FileResponse:
    """A drawing linked from a family digest (too large to attach): a signed link that expires."""
    letter = services.letter_for_image_token(token)
    if letter is None:
        raise Http404(_("This link has expired or is not valid."))
    return private_image_response(letter)
