"""One-time data upgrades of a deployment that ran an earlier version.

Two-step bets (`upgrade_open_bets`):

That version debited an instant bet in one script and paid it in a second,
keeping the bet in `{u:<id>}:bets:pending` in between (a sweep settled bets
left there by a process that died), and it did not list a game in progress as
open on the seed pair. At the first start of this version, once per deployment:
a bet still pending is voided and its stake refunded (ledger type `refund`,
ref = the bet id), and every game in progress is listed as open on its seed
pair and, if it has a deadline, in the games-due index.

History kept in Redis only (`copy_history_to_journal`): the ledger entries,
bet records and revealed seeds written before the journal existed are appended
to their users' journals, so that the archiver copies them to PostgreSQL; the
history window trims nothing before this has run to the end (`HISTORY_DONE_KEY`).

History indexes (`drop_history_indexes`): that version also kept two sorted
sets per user, `{u:<id>}:ledger:idx` and `{u:<id>}:bets:idx`, to filter the
history by game; the window is small enough to filter as it is read, and
PostgreSQL indexes the rest, so they are deleted once (`INDEXES_DONE_KEY`).

Every step is idempotent (a record archived twice changes nothing), so
instances starting together may both run them.
"""

import json
import logging

from redis.asyncio import Redis

from server.errors import CroupierError
from server.stepped.service import SteppedGames
from server.wallet import UserKeys, Wallet

log = logging.getLogger(__name__)

DONE_KEY = "croupier:upgraded:one-script-bets"
"""String: set once the upgrade of two-step bets ran to the end."""
HISTORY_DONE_KEY = "croupier:upgraded:history-journaled"
"""String: set once every earlier history is in the journals (trimming may start)."""

INDEXES_DONE_KEY = "croupier:upgraded:history-unindexed"
"""String: set once the per-user history indexes of earlier versions are deleted."""
LEGACY_INDEXES = (":ledger:idx", ":bets:idx")
"""What follows a user's hash tag in the name of a legacy index."""


def _user_of(key: str) -> str:
    return key[len("{u:") : key.index("}")]


async def upgrade_open_bets(redis: Redis, wallet: Wallet, stepped: SteppedGames) -> None:
    """Void legacy pending bets and index legacy games, unless done before."""
    if await redis.exists(DONE_KEY):
        return
    voided = adopted = 0
    async for key in redis.scan_iter(match="{u:*}:bets:pending", count=1000):
        user_id = _user_of(key)
        for bet_id in await redis.hkeys(key):
            try:
                await wallet.rollback(
                    user_id, int(bet_id), key=f"upgrade-void:{bet_id}", kind="refund"
                )
                voided += 1
            except CroupierError as error:  # not open any more: settled meanwhile
                log.info("upgrade: bet %s of %s not voided: %s", bet_id, user_id, error)
            await redis.hdel(key, bet_id)
    async for key in redis.scan_iter(match="{u:*}:games", count=1000):
        user_id = _user_of(key)
        for game, raw in (await redis.hgetall(key)).items():
            if not game.endswith(":v") and game in stepped.rules:
                await stepped.adopt(user_id, json.loads(raw))
                adopted += 1
    await redis.set(DONE_KEY, "1")
    if voided or adopted:
        log.info("upgrade: voided %d pending bets, listed %d games in progress", voided, adopted)


async def copy_history_to_journal(redis: Redis) -> None:
    """Journal every user's ledger, bets and revealed seeds, unless done before."""
    if await redis.exists(HISTORY_DONE_KEY):
        return
    users = 0
    async for key in redis.scan_iter(match="{u:*}:wallet", count=1000):
        keys = UserKeys(_user_of(key))
        ledger, bets, seeds = await (
            redis.pipeline(transaction=False)
            .hgetall(keys.ledger)
            .hgetall(keys.bets)
            .hgetall(keys.revealed_seeds)
            .execute()
        )
        records = [("entry", raw) for raw in ledger.values()]
        records += [("bet", raw) for raw in bets.values()]
        records += [("seed", raw) for raw in seeds.values()]
        async with redis.pipeline(transaction=False) as pipe:
            for kind, raw in records:
                pipe.xadd(keys.journal, {"k": kind, "u": keys.user_id, "d": raw})
            await pipe.execute()
        users += 1
    await redis.set(HISTORY_DONE_KEY, "1")
    if users:
        log.info("upgrade: the history of %d users is in the journal for PostgreSQL", users)


async def drop_history_indexes(redis: Redis) -> None:
    """Delete the per-user history indexes earlier versions kept, unless done before."""
    if await redis.exists(INDEXES_DONE_KEY):
        return
    dropped = 0
    batch: list[str] = []
    async for key in redis.scan_iter(match="{u:*}:*:idx", count=1000):
        if key[key.index("}") + 1 :] not in LEGACY_INDEXES:
            continue  # e.g. an idempotency record whose key ends in ":idx"
        batch.append(key)
        if len(batch) == 1000:
            dropped += await redis.unlink(*batch)
            batch = []
    if batch:
        dropped += await redis.unlink(*batch)
    await redis.set(INDEXES_DONE_KEY, "1")
    if dropped:
        log.info("upgrade: deleted %d history indexes of an earlier version", dropped)
