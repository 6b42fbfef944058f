"""Family digests: what one digest contains, that each letter reaches each contact once, failures, drawings."""

from __future__ import annotations

import datetime
import smtplib
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from letters.models import Digest, DigestItem, FamilyContact, Letter
from letters.services import digests
from tests.conftest import free_port

from .conftest import image_bytes

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def test_it_sends_one_digest_of_the_approved_letters_in_the_contacts_language(
    smtp_server, family_contact, approved_letter, make_letter
):
    approved_letter(text="Courage, Khaled!", first_name="Ana", country="PT")
    approved_letter(text="We are with you.", first_name="Karim", country="DZ", addressed_to="family")
    approved_letter(text="Stay strong.", first_name="Lea", country="DZ")
    make_letter(text="Not yet read by a moderator")

    digest = digests.send_family_digest(family_contact.pk)

    assert digest.status == "sent" and digest.sent_at is not None and digest.letter_count == 3
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "family@example.org"
    text = smtp_server.text_of(mail)
    html = smtp_server.html_of(mail)
    # The contact reads French: the mail is French, with the counts.
    assert "Voici 3 messages pour Khaled Drareni" in text and "dans 2 pays" in text
    for body in (text, html):
        assert "Courage, Khaled!" in body and "We are with you." in body and "Stay strong." in body
        assert "Not yet read" not in body
        assert "Algérie" in body  # country names in the contact's language (French)
    assert 'lang="fr"' in html
    assert DigestItem.objects.filter(digest=digest).count() == 3
    assert Letter.objects.filter(delivered_at__isnull=False).count() == 3
    family_contact.refresh_from_db()
    assert family_contact.next_digest_at > timezone.now() + datetime.timedelta(days=6)


def test_it_never_sends_a_letter_twice_to_a_contact(smtp_server, family_contact, approved_letter):
    first = approved_letter(text="First message")
    digests.send_family_digest(family_contact.pk)
    assert digests.send_family_digest(family_contact.pk, force=True) is None  # nothing new

    approved_letter(text="Second message")
    assert digests.send_family_digest(family_contact.pk) is None  # not due before a week
    digest = digests.send_family_digest(family_contact.pk, force=True)  # the admin's "send now"
    assert list(digest.letters.all()) == [Letter.objects.get(text="Second message")]
    _first_mail, second_mail = smtp_server.wait_for(2)
    assert "First message" not in smtp_server.text_of(second_mail)
    assert DigestItem.objects.filter(letter=first).count() == 1


def test_it_sends_to_each_active_contact_and_skips_paused_ones(smtp_server, case, family_contact, approved_letter):
    paused = FamilyContact.objects.create(case=case, name="Paused", email="paused@example.org", paused=True)
    approved_letter()
    assert digests.due_family_contact_ids() == [family_contact.pk]
    assert digests.send_family_digest(paused.pk, force=True) is None
    assert digests.send_family_digest(family_contact.pk) is not None
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["family@example.org"]


def test_it_records_a_failure_and_retries_later_with_the_same_letters(
    settings, smtp_server, family_contact, approved_letter
):
    approved_letter(text="Hope travels")
    settings.EMAIL_PORT = free_port()  # nobody listens there
    failed = digests.send_family_digest(family_contact.pk)
    assert (failed.status, failed.letter_count, failed.last_error) == ("failed", 1, "ConnectionRefusedError")
    assert not DigestItem.objects.exists()
    family_contact.refresh_from_db()
    assert family_contact.failed_attempts == 1 and family_contact.next_digest_at > timezone.now()
    assert digests.send_family_digest(family_contact.pk) is None  # waits for its retry time

    settings.EMAIL_PORT = smtp_server.port
    digest = digests.send_family_digest(family_contact.pk, force=True)
    assert digest.status == "sent" and digest.attempts == 2
    assert "Hope travels" in smtp_server.text_of(smtp_server.wait_for(1)[0])
    family_contact.refresh_from_db()
    assert family_contact.failed_attempts == 0


@pytest.mark.django_db(transaction=True)
def test_it_records_the_digest_as_being_sent_and_commits_before_the_mail_goes_out(
    monkeypatch, smtp_server, family_contact, approved_letter
):
    letter = approved_letter(text="Recorded first")
    seen = {}
    real_send = EmailMultiAlternatives.send

    def send(message, *args, **kwargs):
        # What another worker would see while the SMTP server is answering.
        seen["in_transaction"] = connection.in_atomic_block
        seen["digest"] = list(Digest.objects.values_list("status", "sending_until"))
        seen["recorded"] = list(DigestItem.objects.values_list("letter_id", flat=True))
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    digest = digests.send_family_digest(family_contact.pk)
    assert seen["in_transaction"] is False
    [(status, lease)] = seen["digest"]
    assert status == "sending" and lease > timezone.now()
    assert seen["recorded"] == [letter.pk]
    assert (digest.status, digest.sent_at is not None) == ("sent", True)
    smtp_server.wait_for(1)


@pytest.mark.django_db(transaction=True)
def test_a_second_run_while_a_digest_is_being_sent_sends_nothing(
    monkeypatch, smtp_server, family_contact, approved_letter
):
    approved_letter(text="Only once")
    real_send = EmailMultiAlternatives.send
    during = []

    def send(message, *args, **kwargs):
        if not during:
            # While the first digest is with the server: a letter is approved, and a second worker (or the
            # admin's "send now") looks at the same contact.
            approved_letter(text="Approved meanwhile")
            during.append(digests.send_family_digest(family_contact.pk, force=True))
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    first = digests.send_family_digest(family_contact.pk)
    assert first.status == "sent" and [x.text for x in first.letters.all()] == ["Only once"]
    assert during == [None]
    assert len(smtp_server.wait_for(1)) == 1
    monkeypatch.undo()
    # The letter approved meanwhile goes in the next digest.
    assert [x.text for x in digests.send_family_digest(family_contact.pk, force=True).letters.all()] == [
        "Approved meanwhile"
    ]


def test_a_crash_after_the_server_took_the_digest_sends_it_once_and_shows_it_as_uncertain(
    monkeypatch, settings, smtp_server, family_contact, approved_letter, organizer_client
):
    letter = approved_letter(text="Never lost, never twice")

    def crash(prepared):
        raise SystemExit("the worker dies here, after the server took the mail")

    monkeypatch.setattr(digests, "_record_sent", crash)
    with pytest.raises(SystemExit):
        digests.send_family_digest(family_contact.pk)
    smtp_server.wait_for(1)
    monkeypatch.undo()
    [digest] = Digest.objects.all()
    assert digest.status == "sending"

    # Within its lease, nobody sends it again; after the lease, it is uncertain and still not sent again.
    assert digests.send_family_digest(family_contact.pk, force=True) is None
    Digest.objects.update(sending_until=timezone.now() - datetime.timedelta(seconds=1))
    assert digests.send_due_digests() == 0
    assert digests.send_family_digest(family_contact.pk, force=True) is None
    assert len(smtp_server.messages) == 1
    digest.refresh_from_db()
    assert digest.status == "uncertain"
    assert list(DigestItem.objects.values_list("letter_id", flat=True)) == [letter.pk]
    html = organizer_client.get(reverse("admin:letters_digest_changelist")).content.decode()
    assert "May not have arrived" in html

    # The organizer judges the family did not get it: its letters go in the next digest.
    assert digests.resend_uncertain_digests([digest.pk]) == [family_contact.pk]
    digest.refresh_from_db()
    assert digest.status == "resent"
    again = digests.send_family_digest(family_contact.pk, force=True)
    assert list(again.letters.all()) == [letter]
    assert "Never lost, never twice" in smtp_server.text_of(smtp_server.wait_for(2)[1])
    assert digests.resend_uncertain_digests([digest.pk, again.pk]) == []  # only uncertain ones


def test_the_admin_sends_the_letters_of_uncertain_digests_again(
    organizer_client, family_contact, approved_letter, django_capture_on_commit_callbacks
):
    letter = approved_letter()
    uncertain = Digest.objects.create(contact=family_contact, status="uncertain", letter_count=1)
    DigestItem.objects.create(digest=uncertain, letter=letter, contact=family_contact)
    sent = Digest.objects.create(contact=family_contact, status="sent")
    data = {"action": "send_letters_again", "_selected_action": [uncertain.pk, sent.pk]}
    with django_capture_on_commit_callbacks() as queued:
        response = organizer_client.post(reverse("admin:letters_digest_changelist"), data, follow=True)
    html = response.content.decode()
    assert "The letters of 1 digest go out again" in html
    assert "1 digest left alone" in html
    assert len(queued) == 1  # the contact's next digest, sent now by a worker
    assert Digest.objects.get(pk=uncertain.pk).status == "resent"
    assert not DigestItem.objects.exists()
    assert list(Letter.objects.not_yet_sent_to(family_contact)) == [letter]


def test_it_keeps_only_the_error_class_and_smtp_code_of_a_refused_digest(
    monkeypatch, caplog, smtp_server, family_contact, approved_letter
):
    approved_letter(text="Refused")

    def refuse(message, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"family@example.org": (550, b"5.1.1 <family@example.org> unknown")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    digest = digests.send_family_digest(family_contact.pk)
    assert (digest.status, digest.last_error) == ("failed", "SMTPRecipientsRefused: 550")
    assert "family@example.org" not in caplog.text
    assert f"Digest {digest.pk} for family contact {family_contact.pk} failed" in caplog.text
    assert not DigestItem.objects.exists()  # the letters go in the next attempt


def test_it_splits_a_large_backlog_over_several_digests(settings, smtp_server, family_contact, approved_letter):
    settings.LETTERS_DIGEST_MAX_LETTERS = 2
    for n in range(3):
        approved_letter(text=f"Backlog {n}")
    assert digests.send_family_digest(family_contact.pk).letter_count == 2
    # More letters wait: the contact stays due.
    assert digests.send_family_digest(family_contact.pk).letter_count == 1
    assert DigestItem.objects.count() == 3


def test_it_attaches_drawings_and_links_those_over_the_mail_size(
    settings, client, smtp_server, family_contact, approved_letter
):
    small = approved_letter(text="A small drawing")
    small.image.save("a.jpg", ContentFile(image_bytes("JPEG", size=(40, 40))))
    large = approved_letter(text="A large drawing")
    large.image.save("b.jpg", ContentFile(image_bytes("JPEG", size=(400, 400))))
    settings.LETTERS_DIGEST_ATTACH_MAX_BYTES = small.image.size + 10

    digests.send_family_digest(family_contact.pk)

    [mail] = smtp_server.wait_for(1)
    attachments = [(part.get_filename(), part.get_content_type()) for part in mail.iter_attachments()]
    assert attachments == [(f"drawing-{small.pk}.jpg", "image/jpeg")]
    text = smtp_server.text_of(mail)
    link = next(word for word in text.split() if "/letters/drawing/" in word)
    assert link.startswith(settings.SITE_URL + "/fr/letters/drawing/")
    assert DigestItem.objects.get(letter=small).image_attached
    assert not DigestItem.objects.get(letter=large).image_attached

    response = client.get(urlsplit(link).path)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client.get(urlsplit(link).path[:-3] + "xx/").status_code == 404  # forged
    settings.LETTERS_IMAGE_LINK_DAYS = -1
    assert client.get(urlsplit(link).path).status_code == 404  # expired


def test_hostile_text_is_escaped_in_the_digests_html(smtp_server, family_contact, approved_letter):
    approved_letter(text=HOSTILE, first_name="<b>Eve</b>")
    digests.send_family_digest(family_contact.pk)
    [mail] = smtp_server.wait_for(1)
    html = smtp_server.html_of(mail)
    assert "<script>" not in html and "<img src=x" not in html and "<b>Eve" not in html
    assert "&lt;script&gt;" in html
    # Plain text is never run as code; it shows what was written, without HTML entities.
    assert HOSTILE in smtp_server.text_of(mail)


def test_a_drawing_lost_from_storage_does_not_hold_the_digest_back(smtp_server, family_contact, approved_letter):
    letter = approved_letter(text="Words still go")
    letter.image.save("gone.jpg", ContentFile(image_bytes("JPEG")))
    letter.image.storage.delete(letter.image.name)
    assert digests.send_family_digest(family_contact.pk).status == "sent"
    [mail] = smtp_server.wait_for(1)
    assert "Words still go" in smtp_server.text_of(mail)
    assert list(mail.iter_attachments()) == []


def test_an_arabic_speaking_family_gets_a_right_to_left_digest(smtp_server, case, approved_letter):
    contact = FamilyContact.objects.create(case=case, name="عائلة", email="family-ar@example.org", language="ar")
    approved_letter(text="Courage", country="FR")
    digests.send_family_digest(contact.pk)
    html = smtp_server.html_of(smtp_server.wait_for(1)[0])
    assert 'lang="ar" dir="rtl"' in html
    assert "فرنسا" in html  # France, in Arabic
