"""Redis Cluster: how a deployment names its cluster, and which primary serves a slot.

A cluster is named by a `redis+cluster://[user:password@]host:port,host:port,...`
URL (or `REDIS_CLUSTER_NODES=host:port,...`, see server/config.py): any of
the nodes will do, the others are found from them. Each node is then reached
as `redis://[user:password@]host:port`.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from server.slots import SLOTS, key_slot

CLUSTER_SCHEME = "redis+cluster"


def is_cluster_url(url: str) -> bool:
    """Whether `url` names a Redis Cluster rather than one Redis."""
    return url.startswith(f"{CLUSTER_SCHEME}://")


def cluster_url(nodes: str) -> str:
    """The cluster URL of a `host:port,host:port` list."""
    return f"{CLUSTER_SCHEME}://{nodes}"


def seed_urls(url: str) -> list[str]:
    """The `redis://` URL of every node a cluster URL names."""
    parts = urlsplit(url)
    if parts.scheme != CLUSTER_SCHEME or not parts.netloc:
        raise ValueError(f"not a {CLUSTER_SCHEME}:// URL with nodes: {url!r}")
    auth, _, hosts = parts.netloc.rpartition("@")
    return [node_url(auth, host) for host in hosts.split(",") if host]


def node_url(auth: str, host_port: str) -> str:
    """`redis://[auth@]host:port`."""
    return f"redis://{auth}@{host_port}" if auth else f"redis://{host_port}"


def user_info(url: str) -> str:
    """The `user:password` part of a cluster URL ('' if none)."""
    return urlsplit(url).netloc.rpartition("@")[0]


def command_slot(command: Sequence[Any]) -> int | None:
    """The slot of a command's keys: EVALSHA/EVAL/FCALL count theirs, XREAD/XREADGROUP
    list them after STREAMS, any other command has at most one key, its first
    argument. None: no key (PING).

    Every key of one call must share a slot (a script may touch one slot only).
    """
    name = str(command[0]).upper()
    if name in ("EVALSHA", "EVAL", "FCALL"):
        keys = command[3 : 3 + int(command[2])]
    elif name in ("XREAD", "XREADGROUP"):  # ... STREAMS key [key ...] id [id ...]
        streams = [str(word).upper() for word in command].index("STREAMS") + 1
        keys = command[streams : streams + (len(command) - streams) // 2]
    else:
        keys = command[1:2]
    return keys_slot(keys)


def keys_slot(keys: Sequence[Any]) -> int | None:
    """The slot of the keys of one call (None: no key); they must share it."""
    if not keys:
        return None
    slot = key_slot(str(keys[0]))
    for key in keys[1:]:
        if key_slot(str(key)) != slot:
            raise ValueError(f"keys of one call in different slots: {list(keys)}")
    return slot


class SlotMap:
    """Which primary serves each slot, as one node's CLUSTER SLOTS said."""

    def __init__(self, owners: list[str | None]) -> None:
        self._owners = owners

    @classmethod
    def from_cluster_slots(cls, reply: list[Any], auth: str = "") -> "SlotMap":
        """Parse a CLUSTER SLOTS reply: [[first, last, [host, port, ...], replicas...], ...]."""
        owners: list[str | None] = [None] * SLOTS
        for first, last, primary, *_ in reply:
            url = node_url(auth, f"{primary[0]}:{primary[1]}")
            owners[first : last + 1] = [url] * (last - first + 1)
        return cls(owners)

    def owner(self, slot: int | None) -> str:
        """The URL of the primary serving `slot` (any primary for None)."""
        url = self._owners[slot] if slot is not None else self.primaries[0]
        if url is None:
            raise RedisConnectionError(f"no primary serves slot {slot} (CLUSTERDOWN)")
        return url

    @property
    def primaries(self) -> list[str]:
        """Every primary serving slots, each once."""
        return list(dict.fromkeys(url for url in self._owners if url is not None))


async def read_slot_map(
    seeds: Sequence[str], ask: Callable[[str], Awaitable[list[Any]]], auth: str = ""
) -> SlotMap:
    """The slot map from the first of `seeds` that answers `ask(url)` (CLUSTER SLOTS)."""
    failure: Exception | None = None
    for url in seeds:
        try:
            reply = await ask(url)
        except (RedisError, OSError) as error:
            failure = error
            continue
        if reply:
            return SlotMap.from_cluster_slots(reply, auth)
    raise RedisConnectionError(f"no cluster node answered CLUSTER SLOTS ({failure})")
