"""Replays a user's ledger against the stored balances."""

import json
from collections import Counter
from dataclasses import dataclass, field

from redis.asyncio import Redis

from server.wallet import LedgerEntry, UserKeys
from server.wallet.wallet import VERSION_FIELD


@dataclass
class UserAudit:
    """What one user's ledger says against what their wallet holds."""

    user_id: str
    stored: dict[str, int]
    replayed: dict[str, int]
    version: int
    entries: int
    open_bets: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_entries(user_id: str, entries: list[LedgerEntry], audit: UserAudit) -> None:
    """Check ids run 1..n and each entry's balance_after follows from the one before."""
    running: Counter[str] = Counter()
    for expected_id, entry in enumerate(entries, start=1):
        if entry["id"] != expected_id:
            audit.problems.append(f"ledger id {entry['id']} where {expected_id} was expected")
            return
        if entry["user"] != user_id:
            audit.problems.append(f"entry {entry['id']} names user {entry['user']}")
        running[entry["currency"]] += entry["amount"]
        if running[entry["currency"]] != entry["balance_after"]:
            audit.problems.append(f"entry {entry['id']} balance_after does not follow the ledger")
        if running[entry["currency"]] < 0:
            audit.problems.append(f"entry {entry['id']} leaves a negative balance")
        if entry["type"] == "bet" and entry["status"] == "open":
            audit.open_bets.append(entry["id"])
    audit.replayed = dict(running)


async def audit_user(redis: Redis, user_id: str) -> UserAudit:
    """Replay one user's ledger; `problems` lists every discrepancy found."""
    keys = UserKeys(user_id)
    async with redis.pipeline(transaction=True) as pipe:
        wallet, ledger = await pipe.hgetall(keys.wallet).hgetall(keys.ledger).execute()
    version = int(wallet.pop(VERSION_FIELD, 0))
    stored = {code: int(value) for code, value in wallet.items()}
    entries: list[LedgerEntry] = sorted(
        (json.loads(raw) for raw in ledger.values()), key=lambda entry: entry["id"]
    )
    audit = UserAudit(user_id, stored, {}, version, len(entries))
    check_entries(user_id, entries, audit)
    if len(entries) != version:
        audit.problems.append(f"{len(entries)} ledger entries for version {version}")
    for currency in set(stored) | set(audit.replayed):
        if stored.get(currency, 0) != audit.replayed.get(currency, 0):
            audit.problems.append(
                f"{currency}: stored {stored.get(currency, 0)},"
                f" ledger {audit.replayed.get(currency, 0)}"
            )
    return audit
