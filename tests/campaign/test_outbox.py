"""campaign.lib.outbox: claimed under a lease, marked sent one by one, given back before the lease runs out,
failures kept as a class and an SMTP code. Real SMTP servers on loopback; the signature table is the outbox."""

from __future__ import annotations

import datetime
import logging
import smtplib

import pytest
from django.utils import timezone

from campaign.lib import outbox
from campaign.lib.outbox import MailStatus, mail_message, send_outbox, send_outbox_batch
from petitions.models import Signature
from tests.conftest import Mailbox, free_port, run_in_threads
from tests.petitions.conftest import make_signature


def build(signature: Signature):
    return mail_message("Hello", "Plain text", "<p>HTML</p>", [signature.email])


def signatures(case, count: int) -> list[Signature]:
    return [make_signature(case, email=f"p{n}@example.org") for n in range(count)]


def elsewhere(query):
    """Run `query()` on another database connection, as another process would see the rows."""
    return run_in_threads(lambda i: query(), 1)[0]


def start_server(settings, handler) -> Mailbox:
    """A real SMTP server (aiosmtpd) on loopback answering through `handler`, where Django sends; stopped by
    the `_stop_servers` fixture. The handler keeps what it accepts in `handler.mailbox`."""
    from aiosmtpd.controller import Controller

    handler.mailbox = Mailbox(free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.mailbox.port)
    controller.start()
    _SERVERS.append(controller)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", handler.mailbox.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return handler.mailbox


_SERVERS: list = []


@pytest.fixture(autouse=True)
def _stop_servers():
    yield
    while _SERVERS:
        _SERVERS.pop().stop()


class Keeper:
    """Accepts and keeps every message; `refuse` maps a recipient to the RCPT answer it gets instead, and
    `data_answers` answers the n-th DATA (from 1) otherwise than 250."""

    def __init__(self, refuse: dict[str, str] | None = None, data_answers: dict[int, str] | None = None) -> None:
        self.refuse = refuse or {}
        self.data_answers = data_answers or {}
        self.datas = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.datas += 1
        if self.datas in self.data_answers:
            return self.data_answers[self.datas]
        self.mailbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
        return "250 OK"


# --- Marked one by one, under a lease ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_marks_each_mail_sent_as_soon_as_the_server_accepted_it(case, smtp_server):
    signatures(case, 5)
    seen_sent: list[int] = []

    def build_and_look(signature):
        seen_sent.append(elsewhere(lambda: Signature.objects.filter(mail_status=MailStatus.SENT).count()))
        return build(signature)

    result = send_outbox_batch(Signature.objects.all(), build_and_look)
    assert (result.sent, result.failed) == (5, 0)
    # Before each mail is built, every mail before it is already marked sent, for everyone to see.
    assert seen_sent == [0, 1, 2, 3, 4]
    assert len(smtp_server.wait_for(5)) == 5


@pytest.mark.django_db(transaction=True)
def test_it_leases_a_claimed_batch_so_that_no_other_worker_takes_it(case, smtp_server):
    signatures(case, 3)
    looked: list = []

    def build_and_look(signature):
        if not looked:
            looked.append(
                elsewhere(
                    lambda: (
                        sorted(Signature.objects.values_list("mail_next_attempt_at", flat=True)),
                        timezone.now(),
                        send_outbox_batch(Signature.objects.all(), build).claimed,
                    )
                )
            )
        return build(signature)

    result = send_outbox_batch(Signature.objects.all(), build_and_look)
    [(due_times, now, claimed_by_another)] = looked
    # While this worker sends, its rows are leased (due only when the lease runs out): another worker,
    # even once the claim's locks are gone, takes none of them.
    assert all(due > now + datetime.timedelta(seconds=30) for due in due_times)
    assert claimed_by_another == 0
    assert result.sent == 3


class WorkerDied(BaseException):
    """Stands for SIGKILL: nothing after it runs in the worker (no except clause catches it)."""


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_dead_workers_batch_once_its_lease_ran_out(case, smtp_server):
    signatures(case, 5)
    built: list[int] = []

    def build_then_die(signature):
        if len(built) == 2:
            raise WorkerDied
        built.append(signature.pk)
        return build(signature)

    with pytest.raises(WorkerDied):
        send_outbox_batch(Signature.objects.all(), build_then_die)
    assert Signature.objects.filter(mail_status=MailStatus.SENT).count() == 2
    # The other three are still this dead worker's: nobody sends them before the lease runs out...
    assert send_outbox_batch(Signature.objects.all(), build).claimed == 0
    Signature.objects.filter(mail_status=MailStatus.PENDING).update(
        mail_next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    # ...and then the next worker does, each once.
    result = send_outbox_batch(Signature.objects.all(), build)
    assert (result.sent, result.failed) == (3, 0)
    recipients = [m["To"] for m in smtp_server.wait_for(5)]
    assert sorted(recipients) == sorted(f"p{n}@example.org" for n in range(5))
    assert not Signature.objects.exclude(mail_status=MailStatus.SENT).exists()


@pytest.mark.django_db(transaction=True)
def test_it_gives_back_the_rest_of_a_batch_before_its_lease_could_run_out(case, start_smtp_server, settings):
    mailbox = start_smtp_server(delay=0.4)
    settings.EMAIL_TIMEOUT = 1
    signatures(case, 10)
    # A lease of 3 s with sends that may take 2 x EMAIL_TIMEOUT: mails are started during the first second only.
    result = send_outbox_batch(Signature.objects.all(), build, lease=3)
    assert result.sent >= 1 and result.given_back >= 1
    assert (result.sent + result.given_back, result.failed) == (10, 0)
    assert Signature.objects.filter(mail_status=MailStatus.SENT).count() == result.sent
    given_back = Signature.objects.filter(mail_status=MailStatus.PENDING)
    assert given_back.count() == result.given_back
    # Due again at once, with no attempt counted and no error.
    assert all(s.mail_next_attempt_at <= timezone.now() for s in given_back)
    assert {(s.mail_attempts, s.mail_last_error) for s in given_back} == {(0, "")}
    assert len(mailbox.messages) == result.sent


def test_it_refuses_a_lease_shorter_than_two_sends(case, settings):
    settings.EMAIL_TIMEOUT = 20
    with pytest.raises(ValueError, match="longer than 2 x EMAIL_TIMEOUT"):
        send_outbox_batch(Signature.objects.all(), build, lease=30)


# --- Failures: counted per row, kept as a class and a code ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_keeps_only_the_class_and_code_of_a_refused_recipient_and_goes_on(case, settings, caplog):
    mailbox = start_server(
        settings, Keeper(refuse={"bob@example.org": "550 5.1.1 <bob@example.org>: Recipient address rejected"})
    )
    ana = make_signature(case, email="ana@example.org")
    bob = make_signature(case, email="bob@example.org")
    carl = make_signature(case, email="carl@example.org")
    with caplog.at_level(logging.INFO, logger="campaign.lib.outbox"):
        result = send_outbox_batch(Signature.objects.all(), build)
    assert (result.sent, result.failed, result.server_unreachable) == (2, 1, False)
    assert [m["To"] for m in mailbox.messages] == ["ana@example.org", "carl@example.org"]
    bob.refresh_from_db()
    assert bob.mail_last_error == "SMTPRecipientsRefused: 550"
    assert (bob.mail_status, bob.mail_attempts) == (MailStatus.PENDING, 1)
    assert bob.mail_next_attempt_at > timezone.now() + datetime.timedelta(seconds=50)
    # A failing row only counts an attempt: the others were sent.
    assert {s.mail_status for s in Signature.objects.filter(pk__in=[ana.pk, carl.pk])} == {MailStatus.SENT}
    # The log names the row, never the address.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "campaign.lib.outbox")
    assert f"Signature {bob.pk} failed (SMTPRecipientsRefused: 550)" in logged
    assert "@" not in logged and "bob" not in logged


@pytest.mark.django_db(transaction=True)
def test_it_keeps_only_the_class_when_the_mail_server_is_down_and_tries_no_further(case, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    signatures(case, 5)
    with caplog.at_level(logging.INFO, logger="campaign.lib.outbox"):
        result = send_outbox(Signature.objects.all(), build, batch_size=2, time_budget=30)
    assert (result.sent, result.failed, result.server_unreachable) == (0, 2, True)
    # The first batch waits for its next try; the rest of the outbox was not tried (no attempt burnt).
    tried = Signature.objects.filter(mail_attempts=1)
    assert {(s.mail_last_error, s.mail_status) for s in tried} == {("ConnectionRefusedError", MailStatus.PENDING)}
    assert tried.count() == 2
    assert Signature.objects.filter(mail_attempts=0, mail_next_attempt_at__lte=timezone.now()).count() == 3
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "campaign.lib.outbox")
    assert "ConnectionRefusedError" in logged and "@" not in logged


@pytest.mark.django_db(transaction=True)
def test_it_stops_and_gives_the_rest_back_when_the_server_goes_away_mid_batch(case, settings):
    # The second DATA is answered 421: the server closes the session (as one shutting down does).
    mailbox = start_server(settings, Keeper(data_answers={2: "421 4.3.2 Service shutting down"}))
    first, second, *rest = signatures(case, 5)
    result = send_outbox(Signature.objects.all(), build, batch_size=10, time_budget=30)
    assert (result.sent, result.failed, result.given_back, result.server_unreachable) == (1, 1, 3, True)
    assert [m["To"] for m in mailbox.messages] == [first.email]
    second.refresh_from_db()
    assert (second.mail_attempts, second.mail_last_error) == (1, "SMTPDataError: 421")
    # The mails never tried are due again at once and count no attempt.
    untried = Signature.objects.filter(pk__in=[s.pk for s in rest])
    assert {(s.mail_status, s.mail_attempts, s.mail_last_error) for s in untried} == {(MailStatus.PENDING, 0, "")}
    assert all(s.mail_next_attempt_at <= timezone.now() for s in untried)


def test_it_gives_up_after_the_last_attempt(case, settings):
    start_server(settings, Keeper(refuse={"ana@example.org": "550 5.1.1 No such user"}))
    signature = make_signature(case, email="ana@example.org")
    Signature.objects.filter(pk=signature.pk).update(mail_attempts=outbox.MAX_ATTEMPTS - 1)
    assert send_outbox_batch(Signature.objects.all(), build).failed == 1
    signature.refresh_from_db()
    assert (signature.mail_status, signature.mail_attempts) == (MailStatus.FAILED, outbox.MAX_ATTEMPTS)
    assert signature.mail_last_error == "SMTPRecipientsRefused: 550"


def test_it_counts_a_mail_that_could_not_be_built_as_a_failed_attempt(case, smtp_server):
    _good, bad = signatures(case, 2)

    def build_or_fail(signature):
        if signature.pk == bad.pk:
            raise ValueError(f"cannot build the mail for {signature.email}")
        return build(signature)

    result = send_outbox_batch(Signature.objects.all(), build_or_fail)
    assert (result.sent, result.failed) == (1, 1)
    bad.refresh_from_db()
    assert (bad.mail_attempts, bad.mail_last_error) == (1, "ValueError")


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (smtplib.SMTPRecipientsRefused({"bob@example.org": (550, b"<bob@example.org>")}), "SMTPRecipientsRefused: 550"),
        (smtplib.SMTPSenderRefused(553, b"<noreply@example.org>", "noreply@example.org"), "SMTPSenderRefused: 553"),
        (smtplib.SMTPDataError(554, b"5.7.1 Message to bob@example.org rejected"), "SMTPDataError: 554"),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "SMTPServerDisconnected"),
        (ConnectionRefusedError(111, "Connection refused"), "ConnectionRefusedError"),
        (TimeoutError("timed out"), "TimeoutError"),
    ],
)  # fmt: skip
def test_it_describes_an_error_by_its_class_and_code_only(error, kept):
    assert outbox.mail_error(error) == kept


def test_a_mail_that_cannot_be_built_for_a_missing_file_stops_nothing(case, smtp_server):
    # An OSError from building a mail (a drawing gone from storage) is that row's fault, not a lost server.
    first, broken, last = signatures(case, 3)

    def build_or_miss_a_file(signature):
        if signature.pk == broken.pk:
            raise FileNotFoundError(2, "No such file", "letters/2026/12/drawing.png")
        return build(signature)

    result = send_outbox_batch(Signature.objects.all(), build_or_miss_a_file)
    assert (result.sent, result.failed, result.given_back, result.server_unreachable) == (2, 1, 0, False)
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == sorted([first.email, last.email])
    broken.refresh_from_db()
    assert (broken.mail_attempts, broken.mail_last_error) == (1, "FileNotFoundError")
