"""Races on PostgreSQL: identical submissions, double confirmations, two workers on one outbox, and a
worker killed in the middle of a batch."""

from __future__ import annotations

import re

import pytest

from campaign.lib.outbox import MailStatus
from campaign.models import Tally
from petitions import tasks
from petitions.models import Signature
from petitions.services import counting, links, signing
from tests.conftest import run_in_threads, wait_until

from .conftest import make_signature

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_makes_one_row_of_simultaneous_identical_submissions(case):
    case = type(case).objects.select_related("campaign").get(pk=case.pk)
    data = signing.SignatureData(name="Ana Lima", email="ana.lima@gmail.com", country="FR")
    outcomes = run_in_threads(lambda i: signing.sign_petition(case, data), 8)
    assert sorted(o.value for o in outcomes) == ["new"] + ["repeat"] * 7
    assert Signature.objects.filter(email_normalised="analima@gmail.com").count() == 1


def test_it_makes_one_row_of_simultaneous_submissions_through_the_view(case):
    from django.test import Client

    from .conftest import form_data, sign_url

    url = sign_url(case)
    statuses = run_in_threads(lambda i: Client().post(url, form_data(), REMOTE_ADDR=f"192.0.2.{i}").status_code, 6)
    assert statuses == [302] * 6
    assert Signature.objects.count() == 1


def test_it_counts_simultaneous_confirmations_once(case):
    signature = make_signature(case)
    confirmed = run_in_threads(lambda i: links.confirm_signature(signature.pk), 8)
    winners = [c for c in confirmed if c is not None]
    assert len(winners) == 1
    assert (winners[0].pk, winners[0].case_id, winners[0].status) == (signature.pk, case.pk, "confirmed")
    counted = run_in_threads(lambda i: counting.count_signatures(), 4)
    assert sum(counted) == 1
    assert Tally.objects.get().count == 1


def test_it_sends_each_mail_once_with_two_workers(case, start_worker, start_smtp_server):
    mailbox = start_smtp_server(delay=0.02)
    emails = {f"p{n}@example.org" for n in range(40)}
    for email in emails:
        make_signature(case, email=email)
    workers = [start_worker(mailbox=mailbox, name=n, PETITION_MAIL_BATCH_SIZE="5") for n in ("a", "b")]
    for _ in range(6):
        tasks.send_confirmations.delay()
    wait_until(lambda: not Signature.objects.exclude(mail_status=MailStatus.SENT).exists(), timeout=60)
    messages = mailbox.wait_for(40)
    recipients = [m["To"] for m in messages]
    assert sorted(recipients) == sorted(emails)
    # Both workers took part (each holds one task at a time, and six were queued).
    assert all(re.search(r"send_confirmations\[[0-9a-f-]+\] received", w.log()) for w in workers)


def test_a_worker_killed_mid_batch_loses_no_confirmation_and_sends_at_most_one_twice(
    case, start_worker, start_smtp_server
):
    """Two workers are killed with SIGKILL in the middle of a batch (the server takes 0.2 s a mail), then a
    third sends the rest. The server keeps every message it accepted, as a real one does."""
    mailbox = start_smtp_server(delay=0.2)
    emails = {f"p{n}@example.org" for n in range(30)}
    for email in emails:
        make_signature(case, email=email)
    # EMAIL_TIMEOUT=2: a claim is leased for 6 s, so a killed worker's mails are due again 6 s after its claim.
    env = {"PETITION_MAIL_BATCH_SIZE": "50", "EMAIL_TIMEOUT": "2"}

    def keep_sending_until(done) -> None:
        def check() -> bool:
            if done():
                return True
            tasks.send_confirmations.delay()  # what beat does every few seconds
            return False

        wait_until(check, timeout=90, interval=1)

    kills = 0
    for name in ("first", "second"):
        worker = start_worker(mailbox=mailbox, name=name, **env)
        before = len(mailbox.messages)
        keep_sending_until(lambda before=before: len(mailbox.messages) >= before + 3)
        worker.kill()
        kills += 1
        accepted = len({m["To"] for m in mailbox.messages})
        marked = Signature.objects.filter(mail_status=MailStatus.SENT).count()
        # The kill landed mid-batch, and every mail the server accepted is marked sent but for at most the
        # one in flight (accepted, not yet marked). A batch marked at its end had none marked here.
        assert accepted < len(emails)
        assert accepted - marked <= 1, (accepted, marked)

    start_worker(mailbox=mailbox, name="rescuer", **env)
    keep_sending_until(lambda: not Signature.objects.exclude(mail_status=MailStatus.SENT).exists())
    recipients = [m["To"] for m in mailbox.messages]
    assert set(recipients) == emails  # none lost
    assert len(recipients) - len(emails) <= kills  # at most one twice per killed worker
