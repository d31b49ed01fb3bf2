"""The Redis client of a process: a bounded pool that waits for a free connection."""

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import parse_url

from server.redis_cluster import is_cluster_url, seed_urls

DEFAULT_POOL_SIZE = 64


def connect(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Redis:
    """A client on `url` whose callers queue for one of `pool_size` connections
    instead of failing with "Too many connections" under a burst.

    On a cluster (`redis+cluster://`) it is a RedisCluster, with `pool_size`
    connections per node: commands go to the node of their key's slot and
    follow MOVED and ASK; a transaction may only touch keys of one slot.
    """
    if is_cluster_url(url):
        return _connect_cluster(url, pool_size)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=pool_size, timeout=30, decode_responses=True
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def _connect_cluster(url: str, pool_size: int) -> Redis:
    seeds = [parse_url(seed) for seed in seed_urls(url)]
    first = seeds[0]
    cluster: Redis = RedisCluster(
        startup_nodes=[ClusterNode(seed["host"], seed.get("port", 6379)) for seed in seeds],
        username=first.get("username"),
        password=first.get("password"),
        max_connections=pool_size,
        decode_responses=True,
    )
    return cluster


def is_cluster(redis: Redis) -> bool:
    """Whether a client from `connect` talks to a Redis Cluster."""
    return isinstance(redis, RedisCluster)


async def publish_to_user(redis: Redis, channel: str, message: str) -> None:
    """Publish on a user's channel: sharded (SPUBLISH, to the node of its slot) on a
    cluster, where the hub listens with SSUBSCRIBE; PUBLISH on one Redis."""
    if is_cluster(redis):
        await redis.spublish(channel, message)
    else:
        await redis.publish(channel, message)
