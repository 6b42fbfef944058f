"""Share links: the landing page remembers the channel and the sharer's code until the friend signs; bad codes
change nothing; a confirmed signer sees how many friends signed through their link."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from petitions import sharing
from petitions.models import Channel, Signature
from petitions.services import counting, invalidation, links
from petitions.services.retention import forget_old_data
from tests.supporters.conftest import confirmed, form_data, shared_link, sign_url

pytestmark = pytest.mark.django_db


def _friend_signs(client: Client, case, email: str = "bob@example.org") -> Signature:
    response = client.post(sign_url(case), form_data(email=email, name="Bob Martin"))
    assert response.status_code == 302
    return Signature.objects.get(case=case, email=email)


def test_it_remembers_the_channel_and_code_until_the_friend_signs(client, case, sharer):
    response = client.get(shared_link(case, "whatsapp", sharer.share_code))
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    cookie = response.cookies[sharing.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    # The cookie holds the case, the channel and the code: no address, no visitor id.
    assert sharer.email not in cookie.value and "@" not in cookie.value

    response = client.post(sign_url(case), form_data(email="bob@example.org", name="Bob Martin"))
    assert response.status_code == 302
    friend = Signature.objects.get(email="bob@example.org")
    assert (friend.channel, friend.referral_code) == (Channel.WHATSAPP, sharer.share_code)
    # Its work is done: the friend's browser is told to forget it.
    assert response.cookies[sharing.COOKIE_NAME].value == ""


def test_a_channel_without_a_code_is_counted_for_the_channel_only(client, case):
    client.get(shared_link(case, "telegram"))
    friend = _friend_signs(client, case)
    assert (friend.channel, friend.referral_code) == (Channel.TELEGRAM, "")


@pytest.mark.parametrize(
    "code",
    ["unknownCode1", "short", "x" * 40, "<script>alert", "abc%27%22OR1", "ab/../../etc"],
)
def test_an_unknown_or_tampered_code_changes_nothing_and_breaks_no_page(client, case, sharer, code):
    response = client.get(shared_link(case, "whatsapp", sharer.share_code).replace(sharer.share_code, code))
    assert response.status_code in (302, 404)
    assert sharing.COOKIE_NAME not in response.cookies
    friend = _friend_signs(client, case)
    assert (friend.channel, friend.referral_code) == ("", "")


def test_an_unknown_channel_or_case_changes_nothing(client, case, sharer):
    response = client.get(shared_link(case, "myspace", sharer.share_code))
    assert response.status_code == 302 and sharing.COOKIE_NAME not in response.cookies
    response = client.get(shared_link(case, "whatsapp").replace(case.slug, "nobody-at-all"))
    assert response.status_code == 404


def test_the_code_of_a_deleted_signature_changes_nothing(client, case, sharer):
    code = sharer.share_code
    invalidation.delete_signatures(Signature.objects.filter(pk=sharer.pk))
    response = client.get(shared_link(case, "x", code))
    assert sharing.COOKIE_NAME not in response.cookies
    friend = _friend_signs(client, case)
    assert friend.referral_code == ""


def test_the_code_of_another_case_changes_nothing(client, case, demo_campaign):
    other = demo_campaign.cases.exclude(pk=case.pk).first()
    elsewhere = confirmed(other, email="carla@example.org")
    response = client.get(shared_link(case, "x", elsewhere.share_code))
    assert sharing.COOKIE_NAME not in response.cookies


def test_a_forged_or_foreign_cookie_changes_nothing(client, case, sharer, demo_campaign):
    client.cookies[sharing.COOKIE_NAME] = f"{case.pk}:whatsapp:{sharer.share_code}"  # not signed
    friend = _friend_signs(client, case)
    assert (friend.channel, friend.referral_code) == ("", "")
    # A genuine cookie for another case is not used on this one.
    other = demo_campaign.cases.exclude(pk=case.pk).first()
    client.get(shared_link(other, "whatsapp"))
    friend = _friend_signs(client, case, email="dora@example.org")
    assert friend.channel == ""


def test_a_closed_petition_remembers_nothing(client, case, sharer):
    from django.utils import timezone

    case.petition_closed_at = timezone.now()
    case.save()
    response = client.get(shared_link(case, "whatsapp", sharer.share_code))
    assert response.status_code == 302 and sharing.COOKIE_NAME not in response.cookies


def test_every_confirmed_signer_gets_a_random_code_of_their_own(case):
    codes = {confirmed(case, email=f"s{i}@example.org").share_code for i in range(20)}
    assert len(codes) == 20 and all(sharing.SHARE_CODE.fullmatch(code) for code in codes)
    # Never derived from the address: the same address on another case gets another code.
    assert Signature.objects.filter(email="s0@example.org").values_list("share_code", flat=True)[0] in codes


def test_the_thanks_page_carries_each_signers_own_code_though_it_is_cached(client, case):
    pages = []
    for email in ("a@example.org", "b@example.org"):
        signature = Signature.objects.get(pk=confirmed_pending(case, email).pk)
        response = client.post(url_confirm(signature))
        signature.refresh_from_db()
        html = response.content.decode()
        assert signature.share_code and signature.share_code in html
        assert "PlumeShareCodeSlot" not in html
        pages.append((signature.share_code, html))
    (code_a, html_a), (code_b, html_b) = pages
    assert code_a not in html_b and code_b not in html_a
    # Plain links to the networks' own pages, the friend's landing page inside each, and a field to copy.
    assert re.search(r'href="https://wa\.me/\?text=[^"]*%2Fvia%2Fwhatsapp%2F' + code_b, html_b)
    assert f'/via/link/{code_b}/" dir="ltr"' in html_b or f"/via/link/{code_b}/" in html_b
    assert "<script src=" in html_b and "wa.me" not in re.findall(r"<script[^>]*>", html_b)[0]


def confirmed_pending(case, email):
    from tests.petitions.conftest import make_signature

    return make_signature(case, email=email)


def url_confirm(signature):
    from tests.petitions.conftest import url

    return url("petitions:confirm", links.confirmation_token(signature.pk))


def test_the_signer_sees_how_many_friends_signed_through_their_link(client, case, sharer):
    for i, email in enumerate(("f1@example.org", "f2@example.org", "f3@example.org")):
        friend_client = Client()
        friend_client.get(shared_link(case, "whatsapp", sharer.share_code))
        friend = _friend_signs(friend_client, case, email=email)
        if i < 2:
            links.confirm_signature(friend.pk)  # the third never confirms: not counted
    counting.count_signatures()
    response = client.get(url_confirm(sharer))
    assert response.status_code == 200
    assert "2 people signed through your link." in response.content.decode()


def test_the_code_is_erased_with_the_address(case, sharer, settings):
    from django.utils import timezone

    case.closes_at = timezone.now()
    case.save()
    later = timezone.now() + timezone.timedelta(days=settings.PETITION_EMAIL_DAYS_AFTER_CLOSE + 1)
    forget_old_data(now=later)
    sharer.refresh_from_db()
    assert (sharer.email, sharer.share_code) == ("", "")


def test_the_confirmation_mail_offers_plain_share_links(case):
    from petitions.services.confirmations import SignatureMails
    from tests.petitions.conftest import make_signature

    signature = make_signature(case)
    message = SignatureMails().build(signature)
    html, text = message.alternatives[0][0], message.body
    assert 'href="https://wa.me/?text=' in html and "%2Fvia%2Fwhatsapp%2F" in html
    assert "/via/link/" in text
    # A mail loads nothing from the networks: links only, no image, script or style from elsewhere.
    assert not re.search(r'<(img|script|link)[^>]+(src|href)="https?://', html)
