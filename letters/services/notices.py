"""Writers' delivery notices: a writer who left an email and consent is told their message reached the family,
then their address is erased."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone, translation

from campaign.lib.languages import supported_language
from campaign.lib.outbox import BatchResult, MailStatus, render_mail, send_outbox

from ..models import Letter

DAY = datetime.timedelta(days=1)
# How long one run keeps taking batches; the next beat tick (LETTERS_NOTICE_INTERVAL_SECONDS) goes on.
NOTICES_TIME_BUDGET_SECONDS = 60.0


def _delivery_notice(letter: Letter) -> EmailMessage:
    language = supported_language(letter.writer_language)
    with translation.override(language):
        case_url = settings.SITE_URL + letter.case.get_absolute_url()
    context = {"letter": letter, "case": letter.case, "case_url": case_url}
    return render_mail("letters/mail/delivered", context, [letter.writer_email], language)


def queue_delivery_notices(letter_ids: list[int], delivered_at: datetime.datetime) -> None:
    """The letters reached the family (a digest was sent, a pack was handed over): mark those not yet delivered
    as delivered, and queue the notice of their writers who asked for it (once: only from `none`). Call in
    the transaction that records the delivery (digests._record_sent, packs.record_handover)."""
    Letter.objects.filter(pk__in=letter_ids, delivered_at__isnull=True).update(delivered_at=delivered_at)
    Letter.objects.filter(pk__in=letter_ids, mail_status=MailStatus.NONE, writer_consent=True).exclude(
        writer_email=""
    ).update(mail_status=MailStatus.PENDING, mail_next_attempt_at=delivered_at, mail_attempts=0)


def send_delivery_notices(batch_size: int = 200, time_budget: float = NOTICES_TIME_BUDGET_SECONDS) -> BatchResult:
    """Tell the writers whose message was delivered (queued by `queue_delivery_notices`), through the
    outbox (`campaign.lib.outbox.send_outbox`: batches of `batch_size` over one SMTP connection each, claimed
    with SKIP LOCKED); then erase the addresses of every writer who has been told (or could not be after all
    retries), and of writers whose letter is still undelivered after LETTERS_WRITER_EMAIL_DAYS (no family
    contact, for example). Called by beat every LETTERS_NOTICE_INTERVAL_SECONDS."""
    queue = Letter.objects.select_related("case").exclude(writer_email="")
    result = send_outbox(queue, _delivery_notice, batch_size=batch_size, time_budget=time_budget)
    told = Q(mail_status__in=[MailStatus.SENT, MailStatus.FAILED])
    too_old = Q(mail_status=MailStatus.NONE, created_at__lt=timezone.now() - settings.LETTERS_WRITER_EMAIL_DAYS * DAY)
    Letter.objects.filter(told | too_old).exclude(writer_email="").update(writer_email="", writer_consent=False)
    return result
