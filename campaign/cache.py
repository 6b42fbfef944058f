"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django's backend builds a `redis.Redis` client for every cache operation; building one copies its table of
~170 response callbacks, which cost more CPU than the round trip itself on the busiest paths (the sign view
does three). A client only wraps the pool and is safe to share between threads, so it is built once. The
settings point CACHES at `campaign.cache.RedisCache` when REDIS_URL is set.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


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
