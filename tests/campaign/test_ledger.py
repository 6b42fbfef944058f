"""campaign.lib.ledger: the one place counts go through."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache as django_cache

from campaign.lib import ledger
from campaign.lib.locks import advisory_lock
from campaign.models import ActionKind, ActionSource, Tally

pytestmark = pytest.mark.django_db
DAY = datetime.date(2020, 12, 10)


def key(case, country="DZ", kind=ActionKind.SIGNATURE, source=ActionSource.ONLINE, day=DAY):
    return ledger.TallyKey(case.pk, kind, source, country, day)


def test_it_adds_to_existing_tallies_and_merges_repeated_keys(case):
    ledger.add_to_tallies([(key(case), 2), (key(case), 3), (key(case, "FR"), 1)])
    ledger.add_to_tallies([(key(case), 10)])
    assert Tally.objects.get(case=case, country="DZ").count == 15
    assert Tally.objects.get(case=case, country="FR").count == 1


def test_it_ignores_zero_counts(case):
    ledger.add_to_tallies([(key(case), 0)])
    assert not Tally.objects.exists()


def test_it_replaces_tallies_of_one_kind_and_source_only(case):
    ledger.add_to_tallies([(key(case), 5), (key(case, "FR"), 7), (key(case, source=ActionSource.PAPER), 3)])
    changed = ledger.replace_tallies(ActionKind.SIGNATURE, ActionSource.ONLINE, [(key(case), 6), (key(case, "BE"), 1)])
    assert changed == 3  # DZ corrected, FR removed, BE added
    counts = {(t.source, t.country): t.count for t in Tally.objects.all()}
    assert counts == {("online", "DZ"): 6, ("online", "BE"): 1, ("paper", "DZ"): 3}


def test_it_sums_totals_per_case_and_kind(demo_campaign):
    first, second = demo_campaign.cases.all()[:2]
    ledger.add_to_tallies(
        [(key(first), 5), (key(first, kind=ActionKind.LETTER), 2), (key(second, source=ActionSource.PAPER), 4)]
    )
    totals = ledger.refresh_totals()
    assert totals["total"] == 11
    assert totals["cases"][first.pk] == {"total": 7, "by_kind": {"signature": 5, "letter": 2}}
    assert ledger.case_total(second.pk) == 4


def test_it_reads_warm_totals_without_a_query(case, django_assert_num_queries):
    ledger.add_to_tallies([(key(case), 5)])
    ledger.refresh_totals()
    with django_assert_num_queries(0):
        assert ledger.case_total(case.pk) == 5


def test_it_counts_from_the_database_when_the_cache_is_down(case, monkeypatch):
    ledger.add_to_tallies([(key(case), 5)])

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(django_cache, "get", broken)
    monkeypatch.setattr(django_cache, "set", broken)
    assert ledger.case_total(case.pk) == 5


def test_it_lets_one_runner_hold_a_lock(transactional_db):
    import threading

    from django.db import connection, transaction

    results = {}
    holding = threading.Event()
    release = threading.Event()

    def hold():
        with transaction.atomic():
            results["first"] = advisory_lock("rollup", wait=False)
            holding.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    with transaction.atomic():
        results["second"] = advisory_lock("rollup", wait=False)
    release.set()
    thread.join()
    with transaction.atomic():
        results["after"] = advisory_lock("rollup", wait=False)
    assert results == {"first": True, "second": False, "after": True}
