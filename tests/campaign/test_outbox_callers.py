"""Every outbox goes through campaign.lib.outbox: outcome mails and writers' delivery notices are marked sent one
by one, as the server accepts each, like the confirmations (tests/campaign/test_outbox.py)."""

from __future__ import annotations

import pytest

from campaign.lib.outbox import MailStatus
from letters.models import Letter
from letters.services import notices
from letters.services.screening import text_fingerprint
from petitions.models import OutcomeMail, Signature
from petitions.services import links, outcome
from tests.petitions.conftest import make_signature

from .test_outbox import elsewhere, start_server

pytestmark = pytest.mark.django_db(transaction=True)


class SentCounter:
    """An SMTP server that, as each message arrives and before it answers 250, counts the rows of `model`
    already marked sent, from another database connection (as another process would see them)."""

    def __init__(self, model) -> None:
        self.model = model
        self.sent_before_each: list[int] = []

    async def handle_DATA(self, server, session, envelope):
        self.sent_before_each.append(elsewhere(lambda: self.model.objects.filter(mail_status=MailStatus.SENT).count()))
        self.mailbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
        return "250 OK"


def test_outcome_mails_are_marked_sent_one_by_one(case, settings):
    case.outcome_en = "Released on 19 February 2021."
    case.save()
    for n in range(4):
        signature = make_signature(case, email=f"news{n}@example.org")
        links.confirm_signature(signature.pk)
    Signature.objects.update(wants_news=True)
    outcome.mail_outcome(case, None)
    counter = SentCounter(OutcomeMail)
    mailbox = start_server(settings, counter)
    assert outcome.send_outcome_mails().sent == 4
    assert counter.sent_before_each == [0, 1, 2, 3]
    assert len(mailbox.messages) == 4


def test_delivery_notices_are_marked_sent_one_by_one(case, settings):
    for n in range(4):
        text = f"Stay strong, message {n}."
        Letter.objects.create(
            case=case,
            first_name=f"Writer{n}",
            country="FR",
            language="en",
            text=text,
            text_hash=text_fingerprint(text),
            status=Letter.Status.APPROVED,
            writer_email=f"writer{n}@example.org",
            writer_consent=True,
            mail_status=MailStatus.PENDING,
        )
    counter = SentCounter(Letter)
    mailbox = start_server(settings, counter)
    assert notices.send_delivery_notices().sent == 4
    assert counter.sent_before_each == [0, 1, 2, 3]
    assert sorted(m["To"] for m in mailbox.messages) == [f"writer{n}@example.org" for n in range(4)]
