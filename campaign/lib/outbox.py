"""Mail that loses nothing: the row that needs a mail is its own outbox.

A model that sends mail inherits `OutboxFields`; a periodic task calls `send_outbox_batch`, which claims a
batch with SELECT ... FOR UPDATE SKIP LOCKED, sends it over one SMTP connection and marks each row, all in
one transaction. Two workers never send the same mail; a killed worker's transaction rolls back and its
batch is claimed again. Failures are stored on the row and retried with backoff, a bounded number of times.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import models, transaction
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
    mail_next_attempt_at = models.DateTimeField(_("next mail attempt"), default=timezone.now)
    mail_sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)
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
    sent: int = 0
    failed: int = 0


MAX_ATTEMPTS = 6


def retry_delay(attempts: int) -> datetime.timedelta:
    """1, 4, 16, 64 minutes... after the first, second, third failure."""
    return datetime.timedelta(minutes=4 ** (attempts - 1))


def send_outbox_batch(
    queryset: models.QuerySet,
    build_message: Callable[[models.Model], EmailMessage],
    batch_size: int = 200,
    max_attempts: int = MAX_ATTEMPTS,
) -> BatchResult:
    """Claim up to `batch_size` due rows of `queryset` (a model with OutboxFields), send, mark, commit.

    `build_message(row)` returns the message; any exception it or the SMTP server raises counts as a
    failed attempt for that row only.
    """
    result = BatchResult()
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .filter(mail_status=MailStatus.PENDING, mail_next_attempt_at__lte=now)
            .order_by("mail_next_attempt_at")[:batch_size]
        )
        if not rows:
            return result
        model = type(rows[0])
        sent_ids: list[int] = []
        smtp = get_connection()
        try:
            smtp.open()
        except Exception as exc:  # The mail server is down: every row of the batch waits for the next try.
            for row in rows:
                _record_failure(row, exc, now, max_attempts)
            result.failed = len(rows)
            return result
        try:
            for row in rows:
                try:
                    message = build_message(row)
                    message.connection = smtp
                    message.send()
                except Exception as exc:  # Stored on the row and retried; one bad row must not stop the batch.
                    _record_failure(row, exc, now, max_attempts)
                    result.failed += 1
                else:
                    sent_ids.append(row.pk)
        finally:
            smtp.close()
        if sent_ids:
            model._default_manager.filter(pk__in=sent_ids).update(
                mail_status=MailStatus.SENT, mail_sent_at=timezone.now(), mail_last_error=""
            )
            result.sent = len(sent_ids)
    return result


def send_outbox(
    queryset: models.QuerySet,
    build_message: Callable[[models.Model], EmailMessage],
    batch_size: int,
    time_budget: float,
) -> BatchResult:
    """`send_outbox_batch` again and again until the outbox is empty or `time_budget` seconds have passed (the
    next beat tick goes on), with the totals."""
    deadline = time.monotonic() + time_budget
    total = BatchResult()
    while True:
        result = send_outbox_batch(queryset, build_message, batch_size=batch_size)
        total.sent += result.sent
        total.failed += result.failed
        if result.sent + result.failed < batch_size or time.monotonic() >= deadline:
            return total


def _record_failure(row: models.Model, exc: Exception, now: datetime.datetime, max_attempts: int) -> None:
    log.warning("Mail for %s %s failed: %s", type(row).__name__, row.pk, exc)
    row.mail_attempts += 1
    row.mail_last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if row.mail_attempts >= max_attempts:
        row.mail_status = MailStatus.FAILED
    else:
        row.mail_next_attempt_at = now + retry_delay(row.mail_attempts)
    row.save(update_fields=["mail_attempts", "mail_last_error", "mail_status", "mail_next_attempt_at"])


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
