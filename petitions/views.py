"""Supporters' petition pages: sign, check your inbox, confirm, "this was not me", a new link, no more news.
Thin: each view calls one service."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.http import require_http_methods

from campaign.lib import ledger
from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.lib.pages import case_by_id, public_case, render_case_page
from campaign.models import Case

from . import sharing
from .extras import render_after_signing
from .forms import NewLinkForm, SignatureForm
from .models import Channel, Signature
from .services import links, signing

# Stands for the signer's share code in the thanks page, which is rendered once per case and total and cached:
# each signer's own code is put in its place (letters and digits only, so it reads the same inside the encoded
# addresses of the share links). Case texts never hold it: nobody writes this word.
_CODE_SLOT = "PlumeShareCodeSlot"


def render_panel(request: HttpRequest, case: Case) -> str:
    """The petition on the case page: the form, or a notice when the petition is closed. No query."""
    is_open = case.petition_is_open()
    context = {"case": case, "is_open": is_open, "form": SignatureForm(case=case) if is_open else None}
    return render_to_string("petitions/_panel.html", context, request=request)


def _sign_page(request: HttpRequest, case: Case, form: SignatureForm | None, status: int = 200) -> HttpResponse:
    return render(
        request, "petitions/sign.html", {"case": case, "campaign": case.campaign, "form": form}, status=status
    )


def _too_many(request: HttpRequest, case: Case | None) -> HttpResponse:
    return render(request, "petitions/rate_limited.html", {"case": case}, status=429)


@require_http_methods(["GET", "POST"])
def sign(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    case = public_case(campaign, case)
    if not case.petition_is_open():
        # A POST to a closed petition stores nothing and says why.
        return _sign_page(request, case, None, status=403 if request.method == "POST" else 200)
    if request.method == "GET":
        return _sign_page(request, case, SignatureForm(case=case))

    ip = client_ip(request)
    form = SignatureForm(request.POST, case=case)
    valid = form.is_valid()
    # Every submission counts against its address; a valid one against its email domain too (one round trip).
    limits = [RateLimit("petition-ip", ip, settings.PETITION_IP_RATE_LIMIT, settings.PETITION_IP_RATE_WINDOW_SECONDS)]
    domain = form.email_domain() if valid else ""
    if valid and domain not in settings.PETITION_RATE_LIMIT_EXEMPT_DOMAINS:
        limits.append(
            RateLimit(
                "petition-domain",
                domain,
                settings.PETITION_DOMAIN_RATE_LIMIT,
                settings.PETITION_DOMAIN_RATE_WINDOW_SECONDS,
            )
        )
    if hit_rate_limit(*limits):
        return _too_many(request, case)
    if not valid:
        return _sign_page(request, case, form, status=400)
    channel, referral_code = sharing.referral_from(request, case)
    data = signing.SignatureData(
        channel=channel,
        referral_code=referral_code,
        name=form.cleaned_data["name"],
        email=form.cleaned_data["email"],
        country=form.cleaned_data["country"],
        wants_news=form.cleaned_data["wants_news"],
        language=translation.get_language() or settings.LANGUAGE_CODE,
        ip=ip or None,
        flag_rule=form.suspicion(),
    )
    outcome = signing.sign_petition(case, data)
    if outcome is signing.SignOutcome.CLOSED:
        return _sign_page(request, case, None, status=403)
    # The same page for a new signature and a repeat: the screen never tells who has signed.
    response = redirect("petitions:thanks", campaign=case.campaign.slug, case=case.slug)
    if channel:
        sharing.forget_referral(response)  # its work is done: the friend's browser keeps nothing of it
    return response


def thanks(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    case = public_case(campaign, case)

    def context() -> dict:
        return {
            "case": case,
            "campaign": case.campaign,
            "share": sharing.share_links(case),
            "after_signing": render_after_signing(request, case, "signed"),
        }

    return render_case_page(request, case, "petitions/thanks.html", context)


def shared(request: HttpRequest, campaign: str, case: str, channel: str, code: str = "") -> HttpResponse:
    """Where share links land: the case page, with the channel and the sharer's code remembered in a signed
    cookie until the friend signs (petitions.sharing). An unknown channel, a code that is malformed, unknown,
    of another case or of a deleted signature, or a closed petition: the case page, nothing remembered."""
    case_obj = public_case(campaign, case)
    response = redirect(case_obj)
    if channel not in Channel.values or not case_obj.petition_is_open():
        return response
    if code and not (
        sharing.SHARE_CODE.fullmatch(code) and Signature.objects.filter(share_code=code, case_id=case_obj.pk).exists()
    ):
        return response
    sharing.remember_referral(response, case_obj, channel, code)
    return response


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one "Confirm my signature" button; only the POST confirms, so mail scanners that open
    links confirm nothing."""
    state, signature_id = links.read_token(token)
    confirmed_now = None
    if state is links.LinkState.VALID and request.method == "POST":
        confirmed_now = links.confirm_signature(signature_id)  # None: not pending (any more), or not there
    signature = confirmed_now or Signature.objects.for_link(signature_id)
    context: dict = {"token": token, "state": state.value, "signature": signature}
    status = 200
    if state is links.LinkState.INVALID:
        status = 400
        context["new_link_form"] = NewLinkForm()
    elif signature is None:
        status = 404
    elif state is links.LinkState.EXPIRED and request.method == "POST" and signature.status == Signature.Status.PENDING:
        context["resent"] = links.resend_link(signature.pk)
        context["resend_requested"] = True
    if signature is not None:
        case = context["case"] = case_by_id(signature.case_id)
        total = context["case_total"] = ledger.case_total(signature.case_id)
        confirmed = signature.status == Signature.Status.CONFIRMED
        if confirmed and case is not None:
            context["share"] = sharing.share_links(case, signature.share_code)
            context["after_signing"] = render_after_signing(request, case, "confirmed")
        # The two pages almost every click sees, the button and the thanks, are the same for all signers of a case:
        # cached, the thanks with a slot for the signer's share code.
        if state is links.LinkState.VALID and case is not None and signature.status == Signature.Status.PENDING:
            return render_case_page(request, case, "petitions/confirm.html", lambda: context, "pending")
        if state is links.LinkState.VALID and case is not None and confirmed_now is not None:
            context["share"] = sharing.share_links(case, _CODE_SLOT)
            response = render_case_page(request, case, "petitions/confirm.html", lambda: context, f"confirmed:{total}")
            response.content = response.content.replace(_CODE_SLOT.encode(), signature.share_code.encode())
            return response
        if confirmed and signature.share_code:
            # Coming back through the link in the mail: their own page, with the friends their link brought.
            context["recruits"] = Signature.objects.countable().filter(referral_code=signature.share_code).count()
    return render(request, "petitions/confirm.html", context, status=status)


@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, token: str) -> HttpResponse:
    """ "This was not me": a button (POST) that deletes the pending signature."""
    state, signature_id = links.read_token(token, removal=True)
    context: dict = {"state": state.value, "token": token}
    status = 200
    if state is links.LinkState.INVALID:
        status = 400
    else:
        # An expired removal link still works: it only ever removes a signature nobody confirmed.
        signature = Signature.objects.for_link(signature_id)
        context["signature"] = signature
        if request.method == "POST" and signature is not None:
            context["removed"] = links.remove_pending_signature(signature.pk)
    return render(request, "petitions/remove.html", context, status=status)


@require_http_methods(["GET", "POST"])
def stop_news(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an outcome mail: a button (POST) that stops the news of the case for this signer."""
    signature_id = links.read_news_token(token)
    if signature_id is None:
        return render(request, "petitions/stop_news.html", {"state": "invalid"}, status=400)
    context = {"state": "valid"}
    if request.method == "POST":
        links.stop_news(signature_id)
        context["stopped"] = True
    return render(request, "petitions/stop_news.html", context)


@require_http_methods(["GET", "POST"])
def new_link(request: HttpRequest) -> HttpResponse:
    form = NewLinkForm(request.POST or None)
    if request.method == "POST":
        if hit_rate_limit(
            RateLimit(
                "petition-new-link",
                client_ip(request),
                settings.PETITION_IP_RATE_LIMIT,
                settings.PETITION_IP_RATE_WINDOW_SECONDS,
            )
        ):
            return _too_many(request, None)
        if form.is_valid():
            signing.send_new_links(form.cleaned_data["email"])
            # Whatever was found: the page never tells whether an address signed anything.
            return render(request, "petitions/new_link.html", {"sent": True})
    return render(request, "petitions/new_link.html", {"form": form}, status=400 if form.errors else 200)
