"""Share links, and who brought whom without tracking people.

Each share link points at this site's landing page for the case, with the channel it was shared on (WhatsApp,
email...) and, from a confirmed signer, their random share code: `share_url`. The landing page
(`views.shared`) checks the code, puts the case, channel and code in a signed cookie on the friend's browser
and sends them to the case page; the sign view reads that cookie (`referral_from`) and stores the channel and
code on the friend's signature, in the same single INSERT. Nothing else is kept: no address, no visitor id.
A code is random (`new_share_code`), given to a signature when it is confirmed (`links.confirm_signature`), and
erased with the address (`retention`).

The networks' links are plain links to their own share or compose pages: no script, pixel or font of theirs
is ever loaded. Mastodon has no single site: its link goes to a page that asks for the instance
(supporters' `mastodon` view).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from campaign.models import Case

from .models import Channel

COOKIE_NAME = "plume_ref"
_COOKIE_SALT = "petitions.referral"
# token_urlsafe's alphabet; 12 characters are 72 random bits.
SHARE_CODE = re.compile(r"[A-Za-z0-9_-]{12}")


def new_share_code() -> str:
    """A signer's share code: random, never derived from anything about them."""
    return secrets.token_urlsafe(9)


def share_url(case: Case, channel: str, code: str = "") -> str:
    """The absolute address a share link carries, in the active language."""
    kwargs = {"campaign": case.campaign.slug, "case": case.slug, "channel": channel}
    if code:
        return settings.SITE_URL + reverse("petitions:shared-by", kwargs={**kwargs, "code": code})
    return settings.SITE_URL + reverse("petitions:shared", kwargs=kwargs)


def share_text(case: Case) -> str:
    """What a share suggests saying, in the active language."""
    return _("Stand with %(name)s: sign the petition.") % {"name": case.name}


@dataclass(frozen=True)
class ShareLink:
    channel: str
    label: str
    url: str


def _q(value: str) -> str:
    return quote(value, safe="")


def _network_link(channel: str, text: str, url: str) -> str:
    q = _q
    if channel == Channel.WHATSAPP:
        return f"https://wa.me/?text={q(text + ' ' + url)}"
    if channel == Channel.TELEGRAM:
        return f"https://t.me/share/url?url={q(url)}&text={q(text)}"
    if channel == Channel.FACEBOOK:
        return f"https://www.facebook.com/sharer/sharer.php?u={q(url)}"
    if channel == Channel.X:
        return f"https://x.com/intent/post?text={q(text)}&url={q(url)}"
    if channel == Channel.BLUESKY:
        return f"https://bsky.app/intent/compose?text={q(text + ' ' + url)}"
    if channel == Channel.EMAIL:
        return "mailto:?" + urlencode({"subject": text, "body": f"{text}\n\n{url}"}, quote_via=quote, safe="")
    raise ValueError(channel)


NETWORKS = (Channel.WHATSAPP, Channel.TELEGRAM, Channel.FACEBOOK, Channel.X, Channel.BLUESKY, Channel.EMAIL)


def share_links(case: Case, code: str = "") -> dict:
    """Everything a share panel shows for `case` (from a confirmed signer with their `code`): one link per
    network, Mastodon's page, the address to copy and the one for the phone's share menu."""
    text = share_text(case)
    links = [ShareLink(c.value, c.label, _network_link(c, text, share_url(case, c, code))) for c in NETWORKS]
    mastodon = reverse("supporters:mastodon", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    mastodon += "?" + urlencode({"purpose": "share", **({"code": code} if code else {})})
    links.insert(5, ShareLink(Channel.MASTODON.value, Channel.MASTODON.label, mastodon))
    return {
        "links": links,
        "copy_url": share_url(case, Channel.LINK, code),
        "sheet_url": share_url(case, Channel.SHEET, code),
        "text": text,
        "code": code,
    }


# --- The friend's side ---------------------------------------------------------------------------------------


def remember_referral(response: HttpResponse, case: Case, channel: str, code: str) -> None:
    """The landing page's cookie: which case, channel and code the friend came through, signed so that it cannot
    be forged, for SUPPORTERS_REFERRAL_COOKIE_DAYS or until they sign."""
    response.set_signed_cookie(
        COOKIE_NAME,
        f"{case.pk}:{channel}:{code}",
        salt=_COOKIE_SALT,
        max_age=settings.SUPPORTERS_REFERRAL_COOKIE_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def forget_referral(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE_NAME, samesite="Lax")


def referral_from(request: HttpRequest, case: Case) -> tuple[str, str]:
    """The (channel, code) a signature of `case` came through, ("", "") when none. Costs nothing for a visitor
    without the cookie (a dictionary lookup); one HMAC with it."""
    if COOKIE_NAME not in request.COOKIES:
        return "", ""
    value = request.get_signed_cookie(
        COOKIE_NAME, default="", salt=_COOKIE_SALT, max_age=settings.SUPPORTERS_REFERRAL_COOKIE_DAYS * 86400
    )
    case_id, _sep, rest = value.partition(":")
    channel, _sep, code = rest.partition(":")
    if case_id != str(case.pk) or channel not in Channel.values or (code and not SHARE_CODE.fullmatch(code)):
        return "", ""
    return channel, code
