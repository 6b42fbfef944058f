"""How the case turned out: signers who ticked "tell me how this case turns out" get the case's outcome once,
in their language, when an organizer mails it from the admin (`OutcomeMailing`). Each copy is an outbox row
(`OutcomeMail`); a periodic task sends them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from campaign.lib.languages import supported_language
from campaign.lib.outbox import BatchResult, render_mail, send_outbox
from campaign.models import Case

from ..models import OutcomeMail, OutcomeMailing, Signature
from .links import news_token


class AlreadyMailed(Exception):
    """The outcome of this case was mailed already: each signer gets it once."""


def outcome_recipients(case: Case) -> QuerySet[Signature]:
    """The signers of `case` who asked for its outcome and can still be written to."""
    return Signature.objects.filter(
        case=case, wants_news=True, status=Signature.Status.CONFIRMED, flagged=False
    ).exclude(email="")


def mail_outcome(case: Case, user: AbstractBaseUser | None) -> OutcomeMailing:
    """Queue the case's outcome for every signer who asked for it. Once per case: a second call raises
    AlreadyMailed (two organizers clicking at once make one mailing: the case is unique)."""
    if not (case.outcome or "").strip():
        raise ValueError("The case has no outcome to mail.")
    with transaction.atomic():
        mailing, created = OutcomeMailing.objects.get_or_create(case=case, defaults={"created_by": user})
        if not created:
            raise AlreadyMailed(str(case))
        now = timezone.now()
        ids = outcome_recipients(case).values_list("pk", flat=True)
        mails = [OutcomeMail(mailing=mailing, signature_id=pk, mail_next_attempt_at=now) for pk in ids.iterator()]
        OutcomeMail.objects.bulk_create(mails, batch_size=5000)
        mailing.recipients = len(mails)
        mailing.save(update_fields=["recipients"])
    return mailing


def _outcome_mail(mail: OutcomeMail, cases: dict[int, Case]) -> EmailMessage:
    signature = mail.signature
    if signature.case_id not in cases:
        cases[signature.case_id] = Case.objects.select_related("campaign").get(pk=signature.case_id)
    case = cases[signature.case_id]
    language = supported_language(signature.language)
    with translation.override(language):
        stop_url = settings.SITE_URL + reverse("petitions:stop_news", args=[news_token(signature.pk)])
        context = {
            "name": signature.name,
            "case": case,
            "case_url": settings.SITE_URL + case.get_absolute_url(),
            "stop_url": stop_url,
        }
    message = render_mail("petitions/mail/outcome", context, [signature.email], language)
    message.extra_headers["List-Unsubscribe"] = f"<{stop_url}>"
    return message


def send_outcome_mails(time_budget: float | None = None) -> BatchResult:
    """Send the outcome outbox in batches (SKIP LOCKED, one SMTP connection each), like the confirmations.
    A signer who stopped the news, or whose address was erased meanwhile, is skipped."""
    outbox = (
        OutcomeMail.objects.select_related("signature").filter(signature__wants_news=True).exclude(signature__email="")
    )
    cases: dict[int, Case] = {}
    return send_outbox(
        outbox,
        lambda mail: _outcome_mail(mail, cases),
        settings.PETITION_MAIL_BATCH_SIZE,
        settings.PETITION_MAIL_TASK_SECONDS if time_budget is None else time_budget,
    )
