"""Migration 0004 cuts the mail errors already stored to the error's class and SMTP code (the old text quoted
the refused address) and takes characters that reorder text out of letters already written."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from letters.models import Digest, Letter

migration = importlib.import_module("letters.migrations.0004_digest_sending_and_scrubbing")


@pytest.mark.parametrize(
    ("stored", "kept"),
    [
        ("SMTPRecipientsRefused: {'bob@example.org': (550, b'5.1.1 <bob@example.org>')}", "SMTPRecipientsRefused: 550"),
        ("SMTPRecipientsRefused: {'a@x.org': (550, b'no'), 'b@x.org': (452, b'')}", "SMTPRecipientsRefused: 452, 550"),
        ("SMTPDataError: (554, b'5.7.1 Rejected: message from bob@example.org looks like spam')", "SMTPDataError: 554"),
        ("SMTPSenderRefused: (553, b'bad sender', 'noreply@localhost')", "SMTPSenderRefused: 553"),
        ("ConnectionRefusedError: [Errno 111] Connection refused", "ConnectionRefusedError"),
        ("SMTPServerDisconnected: Connection unexpectedly closed", "SMTPServerDisconnected"),
        ("SMTPRecipientsRefused: 550", "SMTPRecipientsRefused: 550"),  # already in the new form
        ("SMTPRecipientsRefused: 452, 550", "SMTPRecipientsRefused: 452, 550"),
        ("bob@example.org was refused", "Error"),
        ("", ""),
    ],
)
def test_it_keeps_only_the_error_class_and_smtp_codes(stored, kept):
    assert migration.scrubbed(stored) == kept


def test_it_scrubs_the_stored_errors_and_the_letters(make_letter, family_contact):
    refused = "SMTPRecipientsRefused: {'ana@example.org': (550, b'<ana@example.org> unknown')}"
    letter = make_letter(mail_last_error=refused, text="Courage\u202e!", first_name="\u2066Ana\u2069")
    clean = make_letter(text="Nothing to take out \u200f.")
    digest = Digest.objects.create(contact=family_contact, status="failed", last_error=refused)

    migration.scrub(apps, None)

    letter.refresh_from_db()
    assert (letter.mail_last_error, letter.text, letter.first_name) == ("SMTPRecipientsRefused: 550", "Courage!", "Ana")
    assert Letter.objects.get(pk=clean.pk).text == "Nothing to take out \u200f."
    digest.refresh_from_db()
    assert digest.last_error == "SMTPRecipientsRefused: 550"
    assert not Letter.objects.filter(mail_last_error__contains="@").exists()
