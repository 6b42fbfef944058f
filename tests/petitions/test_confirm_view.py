"""/<lang>/petitions/confirm/<token>/: one button (POST) confirms; expired and tampered links get a way out."""

from __future__ import annotations

import datetime

from django.core import signing

from campaign.lib.outbox import MailStatus
from petitions.models import Signature
from petitions.services import counting, links

from .conftest import make_signature, url


def confirm_url(signature_id: int, token: str | None = None) -> str:
    return url("petitions:confirm", token or links.confirmation_token(signature_id))


def expired_token(signature_id: int, settings) -> str:
    days = settings.PETITION_CONFIRM_LINK_DAYS + 1
    signer = signing.TimestampSigner(salt="petitions.confirm")
    signer.timestamp = lambda: signing.b62_encode(
        int((datetime.datetime.now() - datetime.timedelta(days=days)).timestamp())
    )
    return signer.sign(str(signature_id))


def test_it_shows_one_button_and_confirms_nothing_on_opening_the_link(client, signature):
    response = client.get(confirm_url(signature.pk))
    assert response.status_code == 200
    assert "Confirm my signature" in response.content.decode()
    assert '<form method="post">' in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


def test_it_confirms_on_the_button(client, signature):
    response = client.post(confirm_url(signature.pk))
    assert response.status_code == 200
    assert "your signature is confirmed" in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED
    assert signature.confirmed_at is not None
    assert signature.counted_at is None


def test_it_makes_confirming_twice_harmless(client, signature):
    client.post(confirm_url(signature.pk))
    first = Signature.objects.get(pk=signature.pk).confirmed_at
    response = client.post(confirm_url(signature.pk))
    assert response.status_code == 200
    assert "your signature is confirmed" in response.content.decode()
    assert Signature.objects.get(pk=signature.pk).confirmed_at == first


def test_it_answers_a_tampered_link_with_a_form_for_a_new_one(client, signature):
    token = links.confirmation_token(signature.pk)
    other = make_signature(signature.case, email="other@example.org")
    forged = f"{other.pk}:{token.split(':', 1)[1]}"
    for bad in (forged, token[:-3], "garbage", "%00", "1:" + "A" * 500):
        response = client.post(url("petitions:confirm", bad))
        assert response.status_code == 400, bad
        html = response.content.decode()
        assert "This link does not work" in html
        assert 'name="email"' in html
    assert not Signature.objects.filter(status=Signature.Status.CONFIRMED).exists()


def test_it_offers_a_new_link_when_the_link_expired(client, signature, settings):
    Signature.objects.filter(pk=signature.pk).update(mail_status=MailStatus.SENT)
    url = confirm_url(signature.pk, expired_token(signature.pk, settings))
    page = client.get(url)
    assert page.status_code == 200
    assert "This link has expired" in page.content.decode()
    response = client.post(url)
    assert "a new link is on its way" in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.mail_status == MailStatus.PENDING
    assert signature.repeat_mails == 1


def test_it_says_so_when_the_signature_is_gone(client, signature):
    url = confirm_url(signature.pk)
    signature.delete()
    response = client.post(url)
    assert response.status_code == 404
    assert "no longer waiting" in response.content.decode()


def test_it_does_not_confirm_an_invalidated_signature(client, signature):
    Signature.objects.filter(pk=signature.pk).update(status=Signature.Status.INVALIDATED)
    response = client.post(confirm_url(signature.pk))
    assert "cannot be confirmed" in response.content.decode()
    assert Signature.objects.get(pk=signature.pk).status == Signature.Status.INVALIDATED


def test_it_shows_the_page_in_the_language_of_the_link(client, signature):
    response = client.get(confirm_url(signature.pk).replace("/en/", "/ar/"))
    assert 'dir="rtl"' in response.content.decode()


def _hidden(html: str, name: str) -> list[str]:
    import re

    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)


def test_it_renders_the_button_page_once_for_every_signer_of_a_case_with_each_one_s_token(case):
    """The page is cached per case and language; each signer still gets a working form and their own path."""
    from django.test import Client
    from django.test.signals import template_rendered

    first, second = make_signature(case, email="a@example.org"), make_signature(case, email="b@example.org")
    assert Client().get(confirm_url(first.pk)).status_code == 200
    rendered = []
    template_rendered.connect(lambda sender, template, **kw: rendered.append(template.name), weak=False)
    try:
        signer = Client(enforce_csrf_checks=True)
        html = signer.get(confirm_url(second.pk)).content.decode()
    finally:
        template_rendered.receivers.clear()
    assert rendered == []  # from the cache
    assert "\x00" not in html
    assert _hidden(html, "next") == [confirm_url(second.pk)]
    token = _hidden(html, "csrfmiddlewaretoken")[-1]  # the button's form (the first is the language form's)
    response = signer.post(confirm_url(second.pk), {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert "your signature is confirmed" in response.content.decode()
    second.refresh_from_db()
    assert second.status == Signature.Status.CONFIRMED


def test_it_shows_the_new_total_after_confirming_once_it_is_counted(client, case):
    first, second = make_signature(case, email="a@example.org"), make_signature(case, email="b@example.org")
    client.post(confirm_url(first.pk))
    counting.count_signatures()
    assert "1 action so far." in client.get(confirm_url(first.pk)).content.decode()
    client.post(confirm_url(second.pk))
    counting.count_signatures()
    assert "2 actions so far." in client.get(confirm_url(second.pk)).content.decode()
    assert "2 actions so far." in client.get(confirm_url(first.pk)).content.decode()


def test_it_shows_a_renamed_case_at_once_on_the_confirmation_and_check_your_inbox_pages(client, case):
    signature = make_signature(case)
    thanks = url("petitions:thanks", campaign=case.campaign.slug, case=case.slug)
    client.get(confirm_url(signature.pk))
    client.get(thanks)
    case.name = "Khaled Drareni, journalist"  # in English, the language of the test
    case.save()
    assert "Khaled Drareni, journalist" in client.get(confirm_url(signature.pk)).content.decode()
    assert "Khaled Drareni, journalist" in client.get(thanks).content.decode()
