"""The supporters' pages: the share and post panel of the case page, the next step after signing, solidarity
posts, Mastodon, the share image, "Your data" and the demo's local mailbox. Thin: each calls one service."""

from __future__ import annotations

import json
from urllib.parse import quote as _quote

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.lib.pages import public_case
from campaign.models import Case
from petitions import sharing
from petitions.models import Channel

from . import mailbox as local_mailbox
from .forms import DataLinkForm, MastodonForm
from .services import data, next_step, posts
from .services.share_image import share_image_path

# The networks a solidarity post can be started on, each with its own compose page.
POST_NETWORKS = (Channel.X, Channel.BLUESKY, Channel.MASTODON, Channel.TELEGRAM, Channel.WHATSAPP)


def quote(value: str) -> str:
    return _quote(value, safe="")


def post_text(case: Case, channel: str) -> str:
    """The suggested solidarity post for `case`, in the active language: the case's own text (else its ask), the
    campaign's hashtag and the link to the case (counted for `channel` when someone signs through it)."""
    text = (case.post_text or "").strip() or _("I stand with %(name)s. %(ask)s") % {"name": case.name, "ask": case.ask}
    hashtag = (case.campaign.hashtag or "").strip()
    if hashtag and hashtag.lower() not in text.lower():
        text = f"{text} {hashtag}"
    return f"{text} {sharing.share_url(case, channel)}"


def _compose_url(channel: str, text: str) -> str:
    if channel == Channel.X:
        return f"https://x.com/intent/post?text={quote(text)}"
    if channel == Channel.BLUESKY:
        return f"https://bsky.app/intent/compose?text={quote(text)}"
    if channel == Channel.TELEGRAM:
        return f"https://t.me/share/url?text={quote(text)}&url="
    return f"https://wa.me/?text={quote(text)}"


def render_case_panel(request: HttpRequest, case: Case) -> str:
    """On the case page (rendered with it, and cached with it): post in solidarity."""
    context = {
        "case": case,
        "is_open": case.is_open(),
        "post_example": post_text(case, Channel.X),
        "networks": [(c.value, c.label) for c in POST_NETWORKS],
    }
    return render_to_string("supporters/_case_panel.html", context, request=request)


def render_after_signing(request: HttpRequest, case: Case, stage: str) -> str:
    """On "check your inbox" and the thanks page (petitions.extras): the next step."""
    steps = next_step.next_steps(case, "signature", get_language() or settings.LANGUAGE_CODE)
    return render_to_string("supporters/_next_step.html", {"steps": steps}, request=request)


@never_cache
@require_GET
def post(request: HttpRequest, campaign: str, case: str, network: str) -> HttpResponse:
    """A "post in solidarity" link: counts a post started here (once per visitor, case and day) and opens the
    network's own compose page with the suggested text. Mastodon first asks for the server."""
    case_obj = public_case(campaign, case)
    if network not in POST_NETWORKS:
        raise Http404("No such network.")
    if not case_obj.is_open():
        messages.info(request, _("This case is closed. Thank you for your support."))
        return redirect(case_obj)
    if network == Channel.MASTODON:
        return redirect(f"{_url('supporters:mastodon', campaign=campaign, case=case)}?purpose=post", permanent=False)
    posts.count_post(request, case_obj)
    return HttpResponseRedirect(_compose_url(network, post_text(case_obj, network)))


def _url(name: str, **kwargs) -> str:
    from django.urls import reverse

    return reverse(name, kwargs=kwargs)


@never_cache
@require_GET
def mastodon(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    """Mastodon has no single site: ask for the person's server, then link to its own share page. A link, not a
    redirect: the Content-Security-Policy lets forms lead to this site only."""
    case_obj = public_case(campaign, case)
    purpose = "post" if request.GET.get("purpose") == "post" else "share"
    code = request.GET.get("code", "")
    code = code if sharing.SHARE_CODE.fullmatch(code) else ""
    form = MastodonForm(request.GET if "instance" in request.GET else None)
    context = {"case": case_obj, "form": form, "purpose": purpose, "code": code}
    if form.is_valid():
        if purpose == "post" and case_obj.is_open():
            posts.count_post(request, case_obj)
            text = post_text(case_obj, Channel.MASTODON)
        else:
            text = f"{sharing.share_text(case_obj)} {sharing.share_url(case_obj, Channel.MASTODON, code)}"
        context["target"] = f"https://{form.cleaned_data['instance']}/share?text={quote(text)}"
        context["instance"] = form.cleaned_data["instance"]
        context["steps"] = next_step.next_steps(case_obj, "post", get_language() or settings.LANGUAGE_CODE)
    return render(request, "supporters/mastodon.html", context, status=400 if form.errors else 200)


@require_GET
def share_image(request: HttpRequest, campaign: str, case: str) -> FileResponse:
    """The link preview's image of a case, in the page's language: drawn once, then read from disk."""
    path = share_image_path(public_case(campaign, case))
    response = FileResponse(path.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Your data ---------------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def your_data(request: HttpRequest) -> HttpResponse:
    """Ask for a link to one's data. The page says the same whatever the address (and whether a mail goes)."""
    form = DataLinkForm(request.POST or None)
    if request.method == "POST":
        ip_limit = RateLimit("supporters-data-ip", client_ip(request), settings.SUPPORTERS_DATA_IP_RATE_LIMIT, 3600)
        if hit_rate_limit(ip_limit):
            return render(request, "supporters/your_data_ask.html", {"too_many": True}, status=429)
        if form.is_valid():
            email = form.cleaned_data["email"]
            per_address = RateLimit(
                "supporters-data-address", data.marker_of(email), settings.SUPPORTERS_DATA_MAILS_PER_HOUR, 3600
            )
            # Over the limit for this address: the same page, and no mail (whoever floods an inbox gets nothing).
            if not hit_rate_limit(per_address):
                data.ask_for_data_link(email, get_language() or settings.LANGUAGE_CODE)
            context = {"sent": True, "hours": settings.SUPPORTERS_DATA_LINK_HOURS}
            return render(request, "supporters/your_data_ask.html", context)
    return render(request, "supporters/your_data_ask.html", {"form": form}, status=400 if form.errors else 200)


def _link_problem(request: HttpRequest, state: data.LinkState) -> HttpResponse:
    status = 400 if state is data.LinkState.INVALID else 410
    context = {"state": state.value, "form": DataLinkForm()}
    return render(request, "supporters/your_data_ask.html", context, status=status)


def _posted_id(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("id", ""))
    except ValueError:
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def your_data_page(request: HttpRequest, token: str) -> HttpResponse:
    state, found = data.read_data_token(token)
    if found is None:
        return _link_problem(request, state)
    if request.method == "POST":
        action, pk = request.POST.get("action"), _posted_id(request)
        done = pk is not None and {
            "stop-news": data.stop_news,
            "delete-signature": data.delete_signature,
            "delete-letter": data.delete_letter,
        }.get(action, lambda *args: False)(found, pk)
        if done:
            messages.success(request, _("Done."))
        else:
            messages.info(request, _("Nothing changed: it was done already, or it can no longer be changed."))
        return redirect("supporters:your-data-page", token=token)
    context = {"token": token, "person": data.person_data(found), "hours": settings.SUPPORTERS_DATA_LINK_HOURS}
    return render(request, "supporters/your_data.html", context)


@never_cache
@require_GET
def your_data_download(request: HttpRequest, token: str) -> HttpResponse:
    state, found = data.read_data_token(token)
    if found is None:
        return _link_problem(request, state)
    body = json.dumps(data.export_data(found), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="plume-your-data.json"'
    return response


# --- The demo's local mailbox ------------------------------------------------------------------------------------


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404("The local mailbox is only there in the demo (DEBUG).")


@never_cache
def mailbox(request: HttpRequest) -> HttpResponse:
    _debug_only()
    return render(request, "supporters/mailbox.html", {"mails": local_mailbox.kept_mails()})


@never_cache
def mailbox_mail(request: HttpRequest, name: str) -> HttpResponse:
    _debug_only()
    mail = local_mailbox.kept_mail(name)
    if mail is None:
        raise Http404("No such mail.")
    return render(request, "supporters/mailbox_mail.html", {"mail": mail})
