"""The Redis client of a process: a bounded pool that waits for a free connection."""

from redis.asyncio import BlockingConnectionPool, Redis

DEFAULT_POOL_SIZE = 64


def connect(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Redis:
    """A client on `url` whose callers queue for one of `pool_size` connections
    instead of failing with "Too many connections" under a burst."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=pool_size, timeout=30, decode_responses=True
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
