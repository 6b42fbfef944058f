"""campaign.lib.cache.ProcessCache: the second-long layer, inside each process, over the shared cache.

Time is the cache's injected clock, moved forward by the test: nothing sleeps."""

from __future__ import annotations

from campaign.lib.cache import ProcessCache


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loads:
    """A `load` function that counts its calls and returns a new value each time."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"key": self.key, "load": self.calls}


def not_loaded():
    raise AssertionError("loaded again: the value should have been kept")


def test_it_keeps_a_value_for_its_seconds_then_loads_it_again():
    clock = Clock()
    kept = ProcessCache(seconds=2, clock=clock)
    load = Loads("totals")
    assert kept.get("totals", load) == {"key": "totals", "load": 1}
    clock.now += 1.999
    assert kept.get("totals", load) == {"key": "totals", "load": 1}
    clock.now += 0.001
    assert kept.get("totals", load) == {"key": "totals", "load": 2}
    # The new value is kept for its own seconds, from the time it was loaded.
    clock.now += 1.5
    assert kept.get("totals", load) == {"key": "totals", "load": 2}
    assert load.calls == 2


def test_it_keeps_nothing_falsy_so_unknown_addresses_do_not_fill_it():
    kept = ProcessCache(seconds=60, clock=Clock())
    calls = []
    for n in range(5):
        assert kept.get(f"case:nowhere-{n}", lambda: calls.append(1) or False) is False
    # Asked again, each is looked up again: nothing was kept.
    for n in range(5):
        assert kept.get(f"case:nowhere-{n}", lambda: calls.append(1) or False) is False
    assert len(calls) == 10
    assert kept._values == {}


def test_it_holds_at_most_its_entries():
    kept = ProcessCache(seconds=60, max_entries=3, clock=Clock())
    for n in range(7):
        kept.get(f"case:{n}", Loads(f"case:{n}"))
        assert 1 <= len(kept._values) <= 3
        # What was loaded last is kept: a cache that keeps nothing would load it again.
        assert kept.get(f"case:{n}", not_loaded) == {"key": f"case:{n}", "load": 1}


def test_it_forgets_on_demand():
    kept = ProcessCache(seconds=60, clock=Clock())
    first, second = Loads("case:1"), Loads("case:2")
    kept.get("case:1", first)
    kept.get("case:2", second)
    assert kept.get("case:1", not_loaded) == {"key": "case:1", "load": 1}
    kept.forget()
    # Both are loaded again at once, long before their seconds are up.
    assert kept.get("case:1", first) == {"key": "case:1", "load": 2}
    assert kept.get("case:2", second) == {"key": "case:2", "load": 2}


def test_forget_all_empties_every_process_cache_of_the_process():
    caches = [ProcessCache(seconds=60, clock=Clock()) for _ in range(2)]
    loads = [Loads("case:1"), Loads("case:1")]
    for kept, load in zip(caches, loads, strict=True):
        kept.get("case:1", load)
    ProcessCache.forget_all()
    assert [kept.get("case:1", load)["load"] for kept, load in zip(caches, loads, strict=True)] == [2, 2]
