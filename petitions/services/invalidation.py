"""Staff take signatures out: invalidate them (one by one or in bulk after a preview), erase them on a
person's request, or decide flagged ones are real people. Counted signatures leave the ledger in the same
transaction, under row locks that keep it from racing the rollup (`counting.count_signatures`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import tally_key
from campaign.lib.outbox import MailStatus
from campaign.models import ActionKind

from ..models import Signature


@dataclass
class InvalidationFilter:
    """Which signatures a bulk invalidation touches. Empty parts do not filter."""

    case_id: int | None = None
    domain: str = ""
    ip_first: str = ""
    ip_last: str = ""
    signed_from: datetime.datetime | None = None
    signed_until: datetime.datetime | None = None

    def queryset(self) -> QuerySet[Signature]:
        signatures = Signature.objects.exclude(status=Signature.Status.INVALIDATED)
        if self.case_id:
            signatures = signatures.filter(case_id=self.case_id)
        if self.domain:
            signatures = signatures.filter(email_normalised__endswith="@" + self.domain.strip().lower())
        if self.ip_first:
            signatures = signatures.filter(ip__gte=self.ip_first, ip__lte=self.ip_last or self.ip_first)
        if self.signed_from:
            signatures = signatures.filter(created_at__gte=self.signed_from)
        if self.signed_until:
            signatures = signatures.filter(created_at__lt=self.signed_until)
        return signatures


@dataclass
class InvalidationPreview:
    total: int
    counted: int
    by_status: dict[str, int]


def preview_invalidation(signatures: QuerySet[Signature]) -> InvalidationPreview:
    by_status = dict(signatures.values_list("status").annotate(n=Count("pk")).order_by())
    counted = signatures.filter(counted_at__isnull=False).count()
    return InvalidationPreview(total=sum(by_status.values()), counted=counted, by_status=by_status)


def _lock_and_uncount(signatures: QuerySet[Signature]) -> list[int]:
    """Lock the rows (FOR UPDATE) and subtract the counted ones from the ledger; returns their ids.

    Call inside a transaction. The row locks keep it from racing the rollup: a row the rollup is counting
    is handled after it was counted, and subtracted; a row handled first is never counted.
    """
    rows = list(
        Signature.objects.filter(pk__in=signatures.values("pk"))
        .select_for_update()
        .values_list("pk", "case_id", "source", "country", "confirmed_at", "counted_at", "flagged", "status")
    )
    ledger.add_to_tallies(
        (tally_key(case_id, ActionKind.SIGNATURE, source, country, confirmed_at), -1)
        for _, case_id, source, country, confirmed_at, counted_at, flagged, status in rows
        if counted_at is not None and not flagged and status == Signature.Status.CONFIRMED
    )
    return [r[0] for r in rows]


def invalidate_signatures(signatures: QuerySet[Signature]) -> int:
    """Invalidate signatures and take the counted ones back out of the ledger, in one transaction."""
    with transaction.atomic():
        ids = _lock_and_uncount(signatures.exclude(status=Signature.Status.INVALIDATED))
        if not ids:
            return 0
        Signature.objects.filter(pk__in=ids).update(status=Signature.Status.INVALIDATED, mail_status=MailStatus.NONE)
    ledger.refresh_totals()
    return len(ids)


def delete_signatures(signatures: QuerySet[Signature]) -> int:
    """Erase signatures (a person's request to be forgotten), taking the counted ones out of the ledger."""
    with transaction.atomic():
        ids = _lock_and_uncount(signatures)
        deleted, _ = Signature.objects.filter(pk__in=ids).delete()
    ledger.refresh_totals()
    return deleted


def clear_flags(signatures: QuerySet[Signature]) -> int:
    """Staff decided flagged signatures are real people: pending ones get their confirmation mail now,
    confirmed ones are counted by the next rollup."""
    with transaction.atomic():
        flagged = signatures.filter(flagged=True).exclude(status=Signature.Status.INVALIDATED)
        ids = list(flagged.select_for_update().values_list("pk", flat=True))
        Signature.objects.filter(pk__in=ids, status=Signature.Status.PENDING).update(
            mail_status=MailStatus.PENDING, mail_attempts=0, mail_next_attempt_at=timezone.now()
        )
        return Signature.objects.filter(pk__in=ids).update(flagged=False, flag_rule="")
