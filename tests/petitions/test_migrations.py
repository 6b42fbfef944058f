"""petitions/migrations/0004: existing rows get their keyed marker, and stored mail errors lose their addresses."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from campaign.lib.outbox import MailStatus
from petitions.models import OutcomeMail, Signature, email_marker
from petitions.services import signing

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("petitions", "0003_outcome_mailings")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_gives_every_row_a_keyed_marker_and_scrubs_addresses_out_of_mail_errors(case, capsys):
    old = migrate(BEFORE)
    OldSignature = old.get_model("petitions", "Signature")
    OldMailing, OldMail = old.get_model("petitions", "OutcomeMailing"), old.get_model("petitions", "OutcomeMail")

    def row(**fields):
        return OldSignature.objects.create(case_id=case.pk, name="Someone", country="FR", **fields)

    live = row(email="Ana.Lima@gmail.com", email_normalised="analima@gmail.com")
    erased = row(email="", email_normalised="erased:" + hashlib.sha256(b"bob@example.org").hexdigest())
    paper = row(email="", email_normalised="", source="paper")
    refused = row(
        email="zoe@example.org",
        email_normalised="zoe@example.org",
        mail_status=MailStatus.FAILED,
        mail_last_error="SMTPRecipientsRefused: {'zoe@example.org': (550, b'5.1.1 <zoe@example.org>: unknown')}",
    )
    down = row(
        email="yan@example.org",
        email_normalised="yan@example.org",
        mail_last_error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    # The defect fixed here: erased, then signed again on the reopened petition. The second keeps the marker.
    erased_first = row(email="", email_normalised="erased:" + hashlib.sha256(b"eve@example.org").hexdigest())
    signed_again = row(email="Eve@example.org", email_normalised="eve@example.org")
    mailing = OldMailing.objects.create(case_id=case.pk)
    mail = OldMail.objects.create(
        mailing=mailing, signature=live, mail_last_error="SMTPDataError: (554, b'5.7.1 ana.lima@gmail.com: spam')"
    )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    rows = {s.pk: s for s in Signature.objects.all()}
    assert (rows[live.pk].email_marker, rows[live.pk].email_normalised) == (
        email_marker("analima@gmail.com"),
        "analima@gmail.com",
    )
    # The unkeyed hash an erased row kept is turned into the keyed marker of the same address, and dropped.
    assert (rows[erased.pk].email_marker, rows[erased.pk].email_normalised) == (email_marker("bob@example.org"), "")
    assert rows[paper.pk].email_marker == ""
    assert (rows[erased_first.pk].email_marker, rows[signed_again.pk].email_marker) == (
        "",
        email_marker("eve@example.org"),
    )
    assert rows[refused.pk].mail_last_error == "SMTPRecipientsRefused: 550"
    assert rows[down.pk].mail_last_error == "ConnectionRefusedError"
    assert OutcomeMail.objects.get(pk=mail.pk).mail_last_error == "SMTPDataError: 554"

    assert f"the second ones are signatures {signed_again.pk}:" in capsys.readouterr().out

    # The erased signer still signs once.
    case = type(case).objects.select_related("campaign").get(pk=case.pk)
    again = signing.SignatureData(name="Bob", email="Bob@Example.org", country="FR")
    assert signing.sign_petition(case, again) is signing.SignOutcome.REPEAT
    assert Signature.objects.count() == 7
