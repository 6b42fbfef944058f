"""petitions.tasks.reconcile_signatures: the nightly recount that repairs drift in the ledger."""

from __future__ import annotations

import logging

from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from campaign.models import Tally
from petitions import tasks
from petitions.services import counting, links

from .conftest import make_signature


def test_it_repairs_drift_and_logs_it(case, caplog):
    for n in range(3):
        links.confirm_signature(make_signature(case, email=f"p{n}@example.org").pk)
    counting.count_signatures()
    today = timezone.localdate()
    # Drift: a lost update, and a tally for a country nobody signed from.
    Tally.objects.filter(country="FR").update(count=7)
    ledger.add_to_tallies([(TallyKey(case.pk, "signature", "online", "DE", today), 4)])
    with caplog.at_level(logging.WARNING):
        assert tasks.reconcile_signatures() == 2
    assert {(t.country, t.count) for t in Tally.objects.filter(kind="signature")} == {("FR", 3)}
    assert "drifted" in caplog.text
    assert ledger.case_total(case.pk) == 3


def test_it_leaves_signatures_the_rollup_has_not_counted_yet_to_the_rollup(case):
    links.confirm_signature(make_signature(case).pk)
    assert counting.reconcile_signatures() == 0
    assert not Tally.objects.exists()
    counting.count_signatures()
    assert counting.reconcile_signatures() == 0
    assert Tally.objects.get().count == 1


def test_it_does_not_touch_other_kinds_of_action(case):
    today = timezone.localdate()
    ledger.add_to_tallies([(TallyKey(case.pk, "letter", "online", "FR", today), 5)])
    counting.reconcile_signatures()
    assert Tally.objects.get(kind="letter").count == 5
