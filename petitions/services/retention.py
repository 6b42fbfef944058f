"""Personal data kept only as long as needed: `forget_old_data` runs hourly (see docs/privacy.md and the
retention table in docs/petitions.md); `erase_paper_reports` is also a superuser's action in the admin."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import PaperImport, Signature


@dataclass
class Forgotten:
    unconfirmed_deleted: int = 0
    addresses_blanked: int = 0
    emails_erased: int = 0
    paper_reports_erased: int = 0


def _erase_emails(signatures: QuerySet[Signature]) -> int:
    """Blank the addresses, as typed and normalised, and the signer's share code with them (a code is erased with
    the address: docs/supporters.md). The keyed marker stays (models.email_marker), so the same person still
    signs a petition once, while nobody can read or mail the address any more. In batches: this runs once per
    signature of a closed petition."""
    erased = 0
    while ids := list(
        signatures.exclude(email="", email_normalised="", share_code="").values_list("pk", flat=True)[:5000]
    ):
        erased += Signature.objects.filter(pk__in=ids).update(email="", email_normalised="", share_code="")
    return erased


def erase_paper_reports(imports: QuerySet[PaperImport]) -> int:
    """Erase the rejected rows of paper imports (names as written, masked addresses); their counts stay."""
    return imports.exclude(report=[]).update(report=[])


def forget_old_data(now: datetime.datetime | None = None) -> Forgotten:
    """Delete signatures left unconfirmed for PETITION_UNCONFIRMED_DAYS, blank network addresses older than
    PETITION_IP_RETENTION_DAYS, and erase email addresses once the petition has closed: after
    PETITION_EMAIL_DAYS_AFTER_CLOSE for signers who did not ask for news of the case, after
    PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE for those who did. Names and countries stay (they are the petition).
    Erase the rejected rows of paper imports older than PETITION_PAPER_REPORT_DAYS. Run hourly."""
    now = now or timezone.now()
    result = Forgotten()
    old = now - datetime.timedelta(days=settings.PETITION_UNCONFIRMED_DAYS)
    while True:
        ids = list(
            Signature.objects.filter(status=Signature.Status.PENDING, created_at__lt=old).values_list("pk", flat=True)[
                :5000
            ]
        )
        if not ids:
            break
        # Re-checked in the DELETE: a signature confirmed meanwhile stays.
        deleted, _ = Signature.objects.filter(pk__in=ids, status=Signature.Status.PENDING).delete()
        result.unconfirmed_deleted += deleted
    stale = now - datetime.timedelta(days=settings.PETITION_IP_RETENTION_DAYS)
    result.addresses_blanked = Signature.objects.filter(ip__isnull=False, created_at__lt=stale).update(ip=None)
    for wants_news, days in (
        (False, settings.PETITION_EMAIL_DAYS_AFTER_CLOSE),
        (True, settings.PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE),
    ):
        closed_before = now - datetime.timedelta(days=days)
        closed = Q(case__closes_at__lt=closed_before) | Q(
            case__closes_at__isnull=True, case__campaign__closes_at__lt=closed_before
        )
        result.emails_erased += _erase_emails(
            Signature.objects.filter(closed, wants_news=wants_news).exclude(status=Signature.Status.PENDING)
        )
    reports_before = now - datetime.timedelta(days=settings.PETITION_PAPER_REPORT_DAYS)
    result.paper_reports_erased = erase_paper_reports(PaperImport.objects.filter(uploaded_at__lt=reports_before))
    return result
