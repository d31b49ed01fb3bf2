"""Redis Cluster slots, and keys that share a slot with a user's keys.

A script may only touch keys of one slot. An index that scripts update
together with a user's keys (the games due for the expiry sweep) is therefore
kept once per slot: its key carries a hash tag chosen to fall in that slot.
A sweep reads the 16,384 per-slot indexes instead of scanning every key.
"""

from binascii import crc_hqx
from collections.abc import Sequence
from functools import cache
from itertools import count

SLOTS = 16384


def key_slot(key: str) -> int:
    """The cluster slot of `key` (CRC16 of its hash tag, as Redis computes it)."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc_hqx(key.encode(), 0) % SLOTS


@cache
def slot_tags() -> tuple[str, ...]:
    """For every slot, the first tag `s<n>` (n = 0, 1, ...) that hashes into it."""
    tags: list[str | None] = [None] * SLOTS
    missing = SLOTS
    for n in count():
        tag = f"s{n}"
        slot = crc_hqx(tag.encode(), 0) % SLOTS
        if tags[slot] is None:
            tags[slot] = tag
            missing -= 1
            if not missing:
                return tuple(tag for tag in tags if tag is not None)
    raise AssertionError("unreachable")


def slot_key(slot: int, name: str) -> str:
    """The key `name` of slot `slot`: `{<tag of the slot>}:<name>`."""
    return f"{{{slot_tags()[slot]}}}:{name}"


def all_slot_keys(name: str) -> list[str]:
    """The key `name` of every slot, slot 0 first."""
    return [slot_key(slot, name) for slot in range(SLOTS)]


def group_by_slot(keys: Sequence[str]) -> list[list[int]]:
    """The indexes of `keys`, one list per slot, in the order slots first appear."""
    groups: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key_slot(key), []).append(i)
    return list(groups.values())
