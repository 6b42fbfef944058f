"""petitions.tasks.send_confirmations: the outbox of confirmation mails, over SMTP on loopback."""

from __future__ import annotations

import re

from django.utils import timezone

from campaign.lib.outbox import MailStatus
from petitions import tasks
from petitions.models import Signature
from petitions.services import confirmations, invalidation, links, signing
from tests.conftest import Mailbox, wait_until

from .conftest import make_signature


def link_in(text: str, kind: str) -> str:
    match = re.search(rf"https?://[^/\s]+(/\w\w/petitions/{kind}/[^/\s]+/)", text)
    assert match, text
    return match.group(1)


def test_it_mails_an_html_and_text_confirmation_in_the_signers_language(client, case, smtp_server: Mailbox):
    make_signature(case, email="ana@example.org", language="en")
    make_signature(case, email="zoe@example.org", language="fr", name="Zoë O'Brien")
    make_signature(case, email="khalid@example.org", language="ar", name="خالد")
    result = confirmations.send_confirmations()
    assert (result.sent, result.failed) == (3, 0)
    mails = {m["To"]: m for m in smtp_server.wait_for(3)}
    english, french, arabic = mails["ana@example.org"], mails["zoe@example.org"], mails["khalid@example.org"]
    assert "Confirm your signature for Khaled Drareni" in english["Subject"]
    assert "Confirmer ma signature" in Mailbox.html_of(french)
    assert 'dir="rtl"' in Mailbox.html_of(arabic)
    assert "/fr/petitions/confirm/" in Mailbox.text_of(french)
    assert all(s.mail_status == MailStatus.SENT and s.mail_sent_at for s in Signature.objects.all())

    page = client.get(link_in(Mailbox.text_of(english), "confirm"))
    assert "Confirm my signature" in page.content.decode()
    client.post(link_in(Mailbox.text_of(english), "confirm"))
    assert Signature.objects.get(email="ana@example.org").status == Signature.Status.CONFIRMED
    client.post(link_in(Mailbox.text_of(french), "not-me"))
    assert not Signature.objects.filter(email="zoe@example.org").exists()


def test_it_mails_already_signed_to_a_confirmed_signer_who_signs_again(case, smtp_server):
    signature = make_signature(case)
    confirmations.send_confirmations()
    links.confirm_signature(signature.pk)
    signing.sign_petition(case, signing.SignatureData(name="Ana", email="ana@example.org", country="FR"))
    confirmations.send_confirmations()
    second = smtp_server.wait_for(2)[1]
    assert "already signed" in second["Subject"]
    assert "/petitions/confirm/" not in Mailbox.text_of(second)


def test_it_sends_nothing_for_flagged_or_invalidated_signatures(case, smtp_server):
    signing.sign_petition(
        case, signing.SignatureData(name="Bot", email="bot@example.org", country="FR", flag_rule="honeypot")
    )
    invalid = make_signature(case, email="gone@example.org")
    invalidation.invalidate_signatures(Signature.objects.filter(pk=invalid.pk))
    assert confirmations.send_confirmations().sent == 0
    assert smtp_server.messages == []


def test_it_records_a_failure_and_retries_later_when_the_mail_server_is_down(case, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
    signature = make_signature(case)
    result = confirmations.send_confirmations()
    assert (result.sent, result.failed) == (0, 1)
    signature.refresh_from_db()
    assert signature.mail_status == MailStatus.PENDING
    assert signature.mail_attempts == 1
    assert signature.mail_last_error
    assert signature.mail_next_attempt_at > timezone.now()


def test_it_sends_in_batches_until_the_outbox_is_empty(case, smtp_server, settings):
    settings.PETITION_MAIL_BATCH_SIZE = 2
    for n in range(5):
        make_signature(case, email=f"p{n}@example.org")
    assert confirmations.send_confirmations().sent == 5
    assert len(smtp_server.wait_for(5)) == 5


def test_it_is_sent_by_a_real_worker(start_worker, case, smtp_server):
    for n in range(3):
        make_signature(case, email=f"p{n}@example.org")
    worker = start_worker(mailbox=smtp_server)
    tasks.send_confirmations.delay()
    assert len(smtp_server.wait_for(3)) == 3
    wait_until(lambda: not Signature.objects.exclude(mail_status=MailStatus.SENT).exists(), message=worker.log())


def test_each_mail_is_what_its_templates_give_for_its_own_signer(case, settings, monkeypatch):
    """The sender renders each template once per case and language and fills in each signer's name and
    links: every mail must be exactly what rendering the templates for that signer gives."""
    from django.core import signing
    from django.urls import reverse
    from django.utils import translation

    from campaign.lib.outbox import render_mail_texts
    from petitions import sharing

    # Links carry the second they were made: both sides make theirs in the same second, whatever the clock does.
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(1_796_000_000))

    names = ["Zoë O'Brien", '<script>alert("x")</script> & co', "نور الهدى", "张伟", "Ana\u200f Lima"]
    signatures = [
        make_signature(case, email=f"s{i}@example.org", name=name, language=language)
        for i, (name, language) in enumerate(zip(names, ["en", "fr", "ar", "en", "fr"], strict=True))
    ]
    for signature in signatures[1::2]:  # "already signed" mails for these, which greet by name
        links.confirm_signature(signature.pk)
    mails = confirmations.SignatureMails()
    for signature in Signature.objects.filter(pk__in=[s.pk for s in signatures]):
        with translation.override(signature.language):
            context = {
                "signature": signature,
                "case": case,
                "case_url": settings.SITE_URL + case.get_absolute_url(),
                "confirm_url": settings.SITE_URL
                + reverse("petitions:confirm", args=[links.confirmation_token(signature.pk)]),
                "remove_url": settings.SITE_URL + reverse("petitions:remove", args=[links.removal_token(signature.pk)]),
                "link_days": settings.PETITION_CONFIRM_LINK_DAYS,
                "share": sharing.share_links(case),
            }
        confirmed = signature.status == Signature.Status.CONFIRMED
        base = "petitions/mail/already_signed" if confirmed else "petitions/mail/confirm"
        subject, text, html = render_mail_texts(base, context, signature.language)
        message = mails.build(signature)
        assert (message.subject, message.body, message.alternatives[0][0]) == (subject, text, html)
        assert message.to == [signature.email]
        assert "<script>" not in html
        # The name is only in the "already signed" mail, to the address that confirmed it.
        assert (signature.name in text) is confirmed


def test_the_confirmation_carries_nothing_the_visitor_typed_but_the_address(case, smtp_server: Mailbox):
    """The confirmation goes to an address nobody has proven yet: whatever was typed as a name stays out of it
    (subject and body), and it reads well without. The "already signed" mail greets by name: that address
    confirmed the signature, so the name is its owner's own."""
    make_signature(case, email="victim@example.org", name="URGENT Your account is locked", language="fr")
    owner = make_signature(case, email="owner@example.org", name="Zoë O'Brien", language="en", mail_status="sent")
    links.confirm_signature(owner.pk)
    repeat = signing.SignatureData(name="Someone Else", email="owner@example.org", country="FR")
    assert signing.sign_petition(case, repeat) is signing.SignOutcome.REPEAT
    confirmations.send_confirmations()
    mails = {m["To"]: m for m in smtp_server.wait_for(2)}
    confirmation, already = mails["victim@example.org"], mails["owner@example.org"]
    everything = confirmation["Subject"] + Mailbox.text_of(confirmation) + Mailbox.html_of(confirmation)
    assert "URGENT" not in everything and "locked" not in everything
    assert Mailbox.text_of(confirmation).splitlines()[0] == "Bonjour,"
    assert "Confirmer ma signature" in Mailbox.html_of(confirmation)
    assert Mailbox.text_of(already).splitlines()[0] == "Hello Zoë O'Brien,"
    assert "Hello Zoë O&#x27;Brien," in Mailbox.html_of(already)
    assert "Zoë" not in already["Subject"] and "Someone Else" not in Mailbox.text_of(already)
