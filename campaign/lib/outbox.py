"""Mail that loses nothing and goes once: the row that needs a mail is its own outbox.

A model that sends mail inherits `OutboxFields`; a periodic task calls `send_outbox` (batches until the outbox
is empty or the task's time is up), which calls `send_outbox_batch`:

1. **Claim** (one short transaction): up to `batch_size` due rows are locked with
   `SELECT ... FOR UPDATE SKIP LOCKED` and leased, `mail_next_attempt_at` pushed to now + the lease, then
   committed. No other worker takes a leased row; should this worker die, its rows come due again when the
   lease runs out and the next worker sends them. The lease is 3 x EMAIL_TIMEOUT (60 s by default).
2. **Send** over one SMTP connection, and **mark** each mail sent as soon as the server accepted it, in its own
   commit: an `UPDATE` on that row only if it is still pending under this claim's lease (a row queued again
   meanwhile keeps its new mail). A worker killed mid-batch so re-sends at most the mail in flight (accepted
   by the server, not yet marked), never the batch: with the marks at the end of the batch, 208 to 309 mails
   went twice per kill (docs/reliability.md).
3. **Give back**: a send can take up to EMAIL_TIMEOUT per SMTP command, so no mail is started once less
   than 2 x EMAIL_TIMEOUT of the lease is left; the rest of the batch is made due again at once, without
   counting an attempt. The same happens when the server goes away mid-batch: the mail in flight counts a
   failed attempt, the others go back, and `send_outbox` stops until the next tick.

Failures are stored on the row and retried with backoff (1, 4, 16, 64, 256 minutes), `MAX_ATTEMPTS` times in
all; a row whose mail fails counts an attempt, and the batch goes on. What is stored and logged is the
error's class and SMTP code only ("SMTPRecipientsRefused: 550"), never the server's text, which quotes the
address; logs name row ids, never addresses.

Cost: a mark is one round trip per mail (the old end-of-batch UPDATE was one per 200 mails). On PostgreSQL it
commits with `synchronous_commit = off`, set for that statement's own transaction only, so it does not wait
for the WAL to reach the disk: 0.17 to 0.24 ms a mark against 0.39 to 1.2 ms committed synchronously, on the
bench machine (docs/reliability.md). What it trades: if PostgreSQL itself crashes (not a clean restart, not a
worker crash), the marks of its last moment (up to 3 x wal_writer_delay, 0.6 s by default) can be lost and
those mails go out again (2 to 4 a crash, measured). Nothing else is written that way: signatures, claims,
failures and given-back rows commit as usual.

Must not run inside a transaction (it commits as it goes); inside one (tests do) it still works, in it.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import connections, models, transaction
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)


class MailStatus(models.TextChoices):
    NONE = "none", _("Nothing to send")
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (gave up)")


class OutboxFields(models.Model):
    mail_status = models.CharField(_("mail"), max_length=8, choices=MailStatus.choices, default=MailStatus.PENDING)
    mail_attempts = models.PositiveSmallIntegerField(_("mail attempts"), default=0)
    # When the mail is due; while a worker holds the row, when its lease runs out.
    mail_next_attempt_at = models.DateTimeField(_("next mail attempt"), default=timezone.now)
    mail_sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)
    # The last failure's class and SMTP code ("SMTPRecipientsRefused: 550"), never the server's text.
    mail_last_error = models.TextField(_("last mail error"), blank=True)

    class Meta:
        abstract = True
        indexes = [
            models.Index(
                fields=["mail_next_attempt_at"],
                condition=models.Q(mail_status="pending"),
                name="%(app_label)s_%(class)s_outbox",
            )
        ]

    def queue_mail(self) -> None:
        """Put this row (back) in the outbox; the caller saves it."""
        self.mail_status = MailStatus.PENDING
        self.mail_attempts = 0
        self.mail_next_attempt_at = timezone.now()
        self.mail_last_error = ""


@dataclass
class BatchResult:
    """What one run did: mails the server accepted, failed attempts, claimed mails given back unsent (their
    lease was running out, or the server went away), and whether the mail server could not be reached."""

    sent: int = 0
    failed: int = 0
    given_back: int = 0
    server_unreachable: bool = False

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.given_back


MAX_ATTEMPTS = 6


def retry_delay(attempts: int) -> datetime.timedelta:
    """1, 4, 16, 64 minutes... after the first, second, third failure."""
    return datetime.timedelta(minutes=4 ** (attempts - 1))


def _email_timeout() -> float:
    """The longest one SMTP command may take (Django's EMAIL_TIMEOUT; 20 s when unset)."""
    return float(settings.EMAIL_TIMEOUT or 20)


def default_lease() -> float:
    """How long a claim holds its rows, in seconds: 3 x EMAIL_TIMEOUT (see the module's docstring)."""
    return 3 * _email_timeout()


def mail_error(exc: BaseException) -> str:
    """What is kept of a failed send: the error's class and SMTP code, never its text (the server's answer
    quotes the address: "SMTPRecipientsRefused: {'bob@...': (550, ...)}" becomes "SMTPRecipientsRefused: 550")."""
    codes: list[int] = []
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _answer in exc.recipients.values()})
    elif isinstance(getattr(exc, "smtp_code", None), int):
        codes = [exc.smtp_code]
    name = type(exc).__name__
    return f"{name}: {', '.join(map(str, codes))}" if codes else name


def _connection_lost(exc: BaseException) -> bool:
    """True when the error means the server is gone for the rest of the batch, not that one mail failed.

    smtplib's errors are OSErrors too: a refused recipient is not a lost connection. A 421 answer is the
    server closing the session (smtplib then closes it as well).
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _answer in exc.recipients.values())
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


# Evaluated once per marked row, in the UPDATE's own transaction: that commit does not wait for the WAL to
# reach the disk (the trade is in the module's docstring). `true`: for this transaction only.
_ASYNC_COMMIT = RawSQL(
    "set_config('synchronous_commit', 'off', true) IS NOT NULL", [], output_field=models.BooleanField()
)


def send_outbox_batch(
    queryset: models.QuerySet,
    build_message: Callable[[models.Model], EmailMessage],
    batch_size: int = 200,
    max_attempts: int = MAX_ATTEMPTS,
    lease: float | None = None,
) -> BatchResult:
    """Claim up to `batch_size` due rows of `queryset` (a model with OutboxFields) under a lease of `lease`
    seconds (`default_lease()`), send them over one SMTP connection, marking each sent as soon as the server
    accepted it; give back what could not be started within the lease.

    `build_message(row)` returns the message; an exception it raises, or the server's refusal, counts as a
    failed attempt for that row only. A database error stops the batch where it is (the rows not sent come
    due again when the lease runs out).
    """
    lease = default_lease() if lease is None else lease
    margin = 2 * _email_timeout()
    if lease <= margin:
        raise ValueError(f"An outbox lease must be longer than 2 x EMAIL_TIMEOUT ({margin:g} s), not {lease:g} s.")
    started = time.monotonic()
    rows, claimed_at, lease_until = _claim(queryset, batch_size, lease)
    result = BatchResult()
    if not rows:
        return result
    # No mail is started past this point: one that is could still be unmarked when the lease runs out.
    last_start = started + lease - margin
    model = type(rows[0])
    smtp = get_connection()
    try:
        smtp.open()
    except Exception as exc:  # The mail server is down: every row of the batch waits for the next try.
        error = mail_error(exc)
        log.warning(
            "Mail server unreachable (%s): %s %s mails wait for their next try (ids %s)",
            error,
            len(rows),
            model.__name__,
            ", ".join(str(row.pk) for row in rows),
        )
        for row in rows:
            _record_failure(row, error, lease_until, max_attempts, log_it=False)
        result.failed = len(rows)
        result.server_unreachable = True
        return result
    try:
        for index, row in enumerate(rows):
            if time.monotonic() > last_start:
                result.given_back = _give_back(model, rows[index:], claimed_at, lease_until)
                log.info("Lease running out: %s %s mails given back unsent", result.given_back, model.__name__)
                break
            try:
                message = build_message(row)
            except Exception as exc:  # A fault of this row's mail: stored on it and retried; the batch goes on.
                _record_failure(row, mail_error(exc), lease_until, max_attempts)
                result.failed += 1
                continue
            try:
                message.connection = smtp
                message.send()
            except Exception as exc:  # Refused: stored on the row and retried, like a fault of its mail.
                _record_failure(row, mail_error(exc), lease_until, max_attempts)
                result.failed += 1
                if _connection_lost(exc):
                    result.given_back = _give_back(model, rows[index + 1 :], claimed_at, lease_until)
                    result.server_unreachable = True
                    break
                continue
            _mark_sent(queryset.db, model, row.pk, lease_until)
            result.sent += 1
    finally:
        smtp.close()
    return result


def _claim(
    queryset: models.QuerySet, batch_size: int, lease: float
) -> tuple[list[models.Model], datetime.datetime, datetime.datetime]:
    """Lock and lease up to `batch_size` due rows in one short transaction; the lease is committed with it,
    so the rows stay this worker's after the locks are gone (until `lease_until`)."""
    now = timezone.now()
    lease_until = now + datetime.timedelta(seconds=lease)
    with transaction.atomic(using=queryset.db):
        rows = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .filter(mail_status=MailStatus.PENDING, mail_next_attempt_at__lte=now)
            .order_by("mail_next_attempt_at")[:batch_size]
        )
        if rows:
            type(rows[0])._default_manager.using(queryset.db).filter(pk__in=[row.pk for row in rows]).update(
                mail_next_attempt_at=lease_until
            )
    return rows, now, lease_until


def _mark_sent(using: str, model: type[models.Model], pk: object, lease_until: datetime.datetime) -> bool:
    """The server accepted this row's mail: mark it sent, in its own commit (one round trip). Only if it is
    still pending under this claim's lease: a row queued again meanwhile keeps its new mail."""
    rows = model._default_manager.using(using).filter(
        pk=pk, mail_status=MailStatus.PENDING, mail_next_attempt_at=lease_until
    )
    connection = connections[using]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        rows = rows.filter(_ASYNC_COMMIT)
    return rows.update(mail_status=MailStatus.SENT, mail_sent_at=timezone.now(), mail_last_error="") == 1


def _give_back(
    model: type[models.Model], rows: list[models.Model], due: datetime.datetime, lease_until: datetime.datetime
) -> int:
    """Make claimed rows that were not tried due again at once (at the claim's time, so they keep their place),
    with no attempt counted. Rows another worker leased meanwhile are left alone."""
    if not rows:
        return 0
    return (
        model._default_manager.using(rows[0]._state.db)
        .filter(pk__in=[row.pk for row in rows], mail_status=MailStatus.PENDING, mail_next_attempt_at=lease_until)
        .update(mail_next_attempt_at=due)
    )


def _record_failure(
    row: models.Model, error: str, lease_until: datetime.datetime, max_attempts: int, log_it: bool = True
) -> None:
    attempts = row.mail_attempts + 1
    gave_up = attempts >= max_attempts
    next_attempt = timezone.now() + retry_delay(attempts)
    if log_it:
        log.warning(
            "Mail for %s %s failed (%s), attempt %s of %s%s",
            type(row).__name__,
            row.pk,
            error,
            attempts,
            max_attempts,
            ": gave up" if gave_up else "",
        )
    type(row)._default_manager.using(row._state.db).filter(
        pk=row.pk, mail_status=MailStatus.PENDING, mail_next_attempt_at=lease_until
    ).update(
        mail_attempts=attempts,
        mail_last_error=error,
        mail_status=MailStatus.FAILED if gave_up else MailStatus.PENDING,
        mail_next_attempt_at=next_attempt,
    )


def send_outbox(
    queryset: models.QuerySet,
    build_message: Callable[[models.Model], EmailMessage],
    batch_size: int,
    time_budget: float,
    lease: float | None = None,
) -> BatchResult:
    """`send_outbox_batch` again and again until the outbox is empty, the mail server cannot be reached or
    `time_budget` seconds have passed (the next beat tick goes on), with the totals."""
    deadline = time.monotonic() + time_budget
    total = BatchResult()
    while True:
        result = send_outbox_batch(queryset, build_message, batch_size=batch_size, lease=lease)
        total.sent += result.sent
        total.failed += result.failed
        total.given_back += result.given_back
        total.server_unreachable = total.server_unreachable or result.server_unreachable
        if result.server_unreachable or result.claimed < batch_size or time.monotonic() >= deadline:
            return total


def render_mail(template_base: str, context: dict, to: list[str], language: str, **kwargs) -> EmailMultiAlternatives:
    """An HTML and plain-text mail from `<template_base>_subject.txt`, `.txt` and `.html`, in `language`."""
    return mail_message(*render_mail_texts(template_base, context, language), to, **kwargs)


def render_mail_texts(template_base: str, context: dict, language: str) -> tuple[str, str, str]:
    """The subject (on one line), plain text and HTML of a mail, in `language`.

    The .txt templates wrap their body in {% autoescape off %}: plain text is never run as code, and
    escaping would turn a supporter's "O'Brien" into "O&#x27;Brien". The HTML template stays escaped.
    """
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template_base}_subject.txt", context).split())
        text = render_to_string(f"{template_base}.txt", context)
        html = render_to_string(f"{template_base}.html", context)
    return subject, text, html


def mail_message(subject: str, text: str, html: str, to: list[str], **kwargs) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=to, **kwargs)
    message.attach_alternative(html, "text/html")
    return message
