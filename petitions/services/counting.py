"""Counting: confirmed signatures are folded into the ledger by a periodic rollup, never per request.

`count_signatures` runs every few seconds (a single runner, through an advisory lock); `reconcile_signatures`
recounts every signature tally from the rows each night under the same lock and repairs any drift. Every key
is built by `campaign.lib.ledger.tally_key` from the day of confirmation (paper: the day of the sheets), as
invalidation and paper imports build theirs.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.db import transaction
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey, tally_key
from campaign.lib.locks import advisory_lock
from campaign.models import ActionKind

from ..models import PaperCount, Signature

log = logging.getLogger(__name__)

ROLLUP_LOCK = "petitions:count-signatures"
ROLLUP_BATCH = 5000


def count_signatures() -> int:
    """Fold newly confirmed, unflagged signatures into the ledger, then refresh the cached totals.

    Single runner: returns 0 at once if another run holds the lock. Each batch is one transaction that
    adds to the tallies and marks its rows counted, so a tally moves exactly when its rows do.
    """
    counted = 0
    while True:
        with transaction.atomic():
            if not advisory_lock(ROLLUP_LOCK, wait=False):
                return counted
            rows = list(
                Signature.objects.to_count()
                .select_for_update()
                .order_by("pk")
                .values_list("pk", "case_id", "source", "country", "confirmed_at")[:ROLLUP_BATCH]
            )
            if rows:
                ledger.add_to_tallies(
                    (tally_key(case_id, ActionKind.SIGNATURE, source, country, confirmed_at), 1)
                    for _, case_id, source, country, confirmed_at in rows
                )
                Signature.objects.filter(pk__in=[r[0] for r in rows]).update(counted_at=timezone.now())
                counted += len(rows)
        if len(rows) < ROLLUP_BATCH:
            break
    if counted:
        ledger.refresh_totals()
    return counted


def _recount(source: str) -> Counter[TallyKey]:
    counts: Counter[TallyKey] = Counter()
    rows = (
        Signature.objects.countable()
        .filter(source=source, counted_at__isnull=False)
        .values_list("case_id", "country", "confirmed_at")
        .iterator(chunk_size=10_000)
    )
    for case_id, country, confirmed_at in rows:
        counts[tally_key(case_id, ActionKind.SIGNATURE, source, country, confirmed_at)] += 1
    if source == Signature.Source.PAPER:
        for case_id, country, day, n in PaperCount.objects.values_list(
            "paper_import__case_id", "country", "paper_import__day", "count"
        ):
            counts[tally_key(case_id, ActionKind.SIGNATURE, source, country, day)] += n
    return counts


def reconcile_signatures(wait_seconds: float = 300) -> int:
    """Nightly: make the signature tallies exactly what the rows say, and log the drift repaired.

    Holds the rollup's lock (waiting up to `wait_seconds` for a running rollup), so nothing is counted
    while it recounts. Returns how many tally keys it changed.
    """
    with transaction.atomic():
        if not advisory_lock(ROLLUP_LOCK, wait=wait_seconds):
            log.error("Signature reconciliation skipped: the rollup lock stayed busy for %ss", wait_seconds)
            return 0
        changed = 0
        for source in Signature.Source.values:
            drift = ledger.replace_tallies(ActionKind.SIGNATURE, source, _recount(source).items())
            if drift:
                log.warning("Reconciled %s %s signature tallies that had drifted", drift, source)
            changed += drift
    ledger.refresh_totals()
    return changed
