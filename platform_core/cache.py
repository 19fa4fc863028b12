"""The Redis cache with a process-local fallback while Redis is away.

The cache holds nothing that money depends on: API throttle counters and whatever Django keeps
there. When Redis cannot be reached, each call falls back to an in-process LocMemCache, so the
API's rate limits still hold per process (fail soft, not open, not closed) and no request answers
500 or 403 because the cache is away. Calls go back to Redis as soon as it answers again (checked at
most every `RETRY_AFTER` seconds, so an outage does not cost each request a connection attempt)."""

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_AFTER = 2.0


def _failover(name):
    def method(self, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                result = getattr(super(FailoverRedisCache, self), name)(*args, **kwargs)
            except UNREACHABLE as exc:
                if not self._down_until:
                    logger.warning("cache unreachable (%s): using the in-process fallback", exc)
                self._down_until = time.monotonic() + RETRY_AFTER
            else:
                if self._down_until:
                    logger.warning("cache reachable again")
                    self._down_until = 0.0
                return result
        return getattr(self._local, name)(*args, **kwargs)

    method.__name__ = name
    return method


class FailoverRedisCache(RedisCache):
    def __init__(self, server, params):
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, params)
        self._local = LocMemCache(f"failover-{server}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0

    for _name in (
        "add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "set_many", "delete_many", "clear",
    ):  # fmt: skip
        locals()[_name] = _failover(_name)
    del _name
