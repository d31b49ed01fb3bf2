"""Is this process ready for traffic: can it write to Redis on both its connections?

The answer is a short reason code, never Redis's own error text (it can hold
file paths and addresses); the error itself goes to the log (throttled).
"""

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import (
    BusyLoadingError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)

from server.logs import LogThrottle
from server.redis_scripts import ScriptRunner

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

PROBE_KEY = "croupier:readyz"
PROBE_TIMEOUT_S = 2.0
_REASON_OF_PREFIX = {"OOM": "REDIS_OOM", "READONLY": "REDIS_READ_ONLY", "MISCONF": "REDIS_MISCONF"}
"""Error codes Redis opens its refusals of a write with (redis-py turns some into classes)."""


async def not_ready_reason(redis: Redis, runner: ScriptRunner) -> str | None:
    """None when ready, else REDIS_DOWN, REDIS_LOADING, REDIS_OOM, REDIS_READ_ONLY,
    REDIS_MISCONF or REDIS_ERROR."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            # A write, not a PING: a Redis out of memory or read-only still answers PING.
            await redis.set(PROBE_KEY, "1", px=10_000)
            await runner.execute("PING")
    except (RedisError, OSError, TimeoutError) as error:
        _failures.failure("readiness probe", error)
        return _reason(error)
    return None


def _reason(error: Exception) -> str:
    if isinstance(error, BusyLoadingError):
        return "REDIS_LOADING"
    if isinstance(error, OutOfMemoryError):
        return "REDIS_OOM"
    if isinstance(error, ReadOnlyError):
        return "REDIS_READ_ONLY"
    if isinstance(error, ResponseError):
        return _REASON_OF_PREFIX.get(str(error).split(" ", 1)[0], "REDIS_ERROR")
    return "REDIS_DOWN"
