"""petitions.tasks.count_signatures: the rollup of confirmed signatures into the ledger."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.locks import advisory_lock
from campaign.models import Tally
from petitions import tasks
from petitions.models import Signature
from petitions.services import counting, invalidation, links
from tests.conftest import run_in_threads

from .conftest import make_signature


def tally_counts() -> dict[tuple, int]:
    return {(t.case_id, t.kind, t.source, t.country, t.day): t.count for t in Tally.objects.all()}


def test_it_counts_confirmed_signatures_once_per_country_and_day(case):
    for n, country in enumerate(["FR", "FR", "DZ"]):
        links.confirm_signature(make_signature(case, email=f"p{n}@example.org", country=country).pk)
    make_signature(case, email="pending@example.org")
    assert tasks.count_signatures() == 3
    today = timezone.localdate()
    assert tally_counts() == {
        (case.pk, "signature", "online", "FR", today): 2,
        (case.pk, "signature", "online", "DZ", today): 1,
    }
    assert Signature.objects.filter(counted_at__isnull=False).count() == 3
    assert ledger.totals()["cases"][case.pk]["total"] == 3
    assert counting.count_signatures() == 0
    assert ledger.case_total(case.pk) == 3


def test_it_leaves_flagged_signatures_out(case):
    flagged = make_signature(case, email="bot@example.org", flagged=True, flag_rule="too-fast")
    links.confirm_signature(flagged.pk)
    assert counting.count_signatures() == 0
    assert not Tally.objects.exists()


def test_it_counts_nothing_while_another_runner_holds_the_lock(case, transactional_db):
    """A single runner: a rollup that finds the lock taken gives way (returns 0, counts nothing) instead of
    counting beside the runner that holds it; the next run counts."""
    links.confirm_signature(make_signature(case).pk)
    with transaction.atomic():
        assert advisory_lock(counting.ROLLUP_LOCK, wait=False)
        assert run_in_threads(lambda i: counting.count_signatures(), 1) == [0]
        assert not Signature.objects.filter(counted_at__isnull=False).exists()
    assert counting.count_signatures() == 1


def test_it_takes_an_invalidated_signature_back_out(case):
    signatures = [make_signature(case, email=f"p{n}@example.org") for n in range(3)]
    for signature in signatures:
        links.confirm_signature(signature.pk)
    counting.count_signatures()
    assert invalidation.invalidate_signatures(Signature.objects.filter(pk=signatures[0].pk)) == 1
    assert sum(tally_counts().values()) == 2
    assert ledger.case_total(case.pk) == 2
    # Invalidating again changes nothing.
    assert invalidation.invalidate_signatures(Signature.objects.filter(pk=signatures[0].pk)) == 0
    assert sum(tally_counts().values()) == 2
    # A pending signature invalidated before it was ever counted takes nothing away.
    pending = make_signature(case, email="pending@example.org")
    invalidation.invalidate_signatures(Signature.objects.filter(pk=pending.pk))
    assert sum(tally_counts().values()) == 2
    assert counting.reconcile_signatures() == 0
