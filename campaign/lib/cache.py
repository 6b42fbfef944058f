"""Caching mechanisms: Django's Redis cache backend with one Redis client per connection pool instead of one
per call (`RedisCache`), "read the cache or compute" (`cached`), and a short-lived layer inside each process
over the shared cache for the values every request reads (`ProcessCache`). What the pages cache with them, and
why, is in `campaign.lib.pages`.

Django's backend builds a `redis.Redis` client for every cache operation; building one copies its table of
~170 response callbacks, which cost more CPU than the round trip itself on the busiest paths (the sign view
made three round trips then). A client only wraps the pool and is safe to share between threads, so it is
built once. The settings point CACHES at `campaign.lib.cache.RedisCache` when REDIS_URL is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.cache.backends import redis as django_redis

log = logging.getLogger(__name__)
T = TypeVar("T")


def cached(key: str, compute: Callable[[], T], seconds: float) -> T:
    """The shared cache's value for `key`, or `compute()`, stored for `seconds`.

    The cache is a speed-up, never the truth: when it is unreachable, `compute()` answers and the fault is
    logged. `compute()` must not return None (a falsy value such as False is cached like any other).
    """
    try:
        value = cache.get(key)
    except Exception:
        log.exception("Could not read %s from the cache", key)
        return compute()
    if value is None:
        value = compute()
        store(key, value, seconds)
    return value


def store(key: str, value: object, seconds: float) -> None:
    """Put a value in the shared cache; a cache that is down is logged, not raised."""
    try:
        cache.set(key, value, seconds)
    except Exception:
        log.exception("Could not store %s in the cache", key)


class _ReusingClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient


class ProcessCache:
    """A second layer, inside this process, over the shared cache, for the few values nearly every request
    reads: the case it is about and the totals. Each is kept for `seconds` (one by default), which saves a
    Redis round trip and an unpickling on every page and signature of a surge.

    What it costs: a value changed by another process (an organizer saving a case in the admin, the worker
    refreshing the totals) reaches this process up to `seconds` later. A change made in this process is seen
    at once: the code that changes a value calls `forget()`. Only what `load` returns truthy is kept, and at
    most `max_entries` values, so a flood of unknown addresses cannot fill the memory.
    """

    _instances: list[ProcessCache] = []

    def __init__(
        self, seconds: float = 1.0, max_entries: int = 1000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        # Injected by tests, which move time forward instead of sleeping.
        self.clock = clock
        self._values: dict[str, tuple[float, object]] = {}
        ProcessCache._instances.append(self)

    def get(self, key: str, load: Callable[[], T]) -> T:
        now = self.clock()
        kept = self._values.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]  # type: ignore[return-value]
        value = load()
        if value:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = (now + self.seconds, value)
        return value

    def forget(self) -> None:
        self._values.clear()

    @classmethod
    def forget_all(cls) -> None:
        """Empty every process cache of this process (tests do, between tests)."""
        for instance in cls._instances:
            instance.forget()
