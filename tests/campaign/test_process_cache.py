"""campaign.lib.cache.ProcessCache: the second-long layer, inside each process, over the shared cache."""

from __future__ import annotations

import time

from campaign.lib.cache import ProcessCache


def test_it_keeps_a_value_for_its_seconds_then_loads_it_again():
    kept = ProcessCache(seconds=0.2)
    loads = []

    def load():
        loads.append(1)
        return {"total": len(loads)}

    assert kept.get("totals", load) == {"total": 1}
    assert kept.get("totals", load) == {"total": 1}
    time.sleep(0.25)
    assert kept.get("totals", load) == {"total": 2}


def test_it_keeps_nothing_falsy_so_unknown_addresses_do_not_fill_it():
    kept = ProcessCache(seconds=60)
    for n in range(5):
        assert kept.get(f"case:nowhere-{n}", lambda: False) is False
    assert kept._values == {}


def test_it_holds_at_most_its_entries_and_forgets_on_demand():
    kept = ProcessCache(seconds=60, max_entries=3)
    for n in range(7):
        kept.get(f"case:{n}", lambda n=n: n + 1)
    assert len(kept._values) <= 3
    kept.forget()
    assert kept.get("case:1", lambda: "fresh") == "fresh"
