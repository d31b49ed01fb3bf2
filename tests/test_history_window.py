"""Redis keeps a window of each user's history; PostgreSQL has the rest, served as one."""

import asyncio
import secrets
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from server.audit import audit_all, audit_user
from server.redis_client import connect
from server.upgrade import HISTORY_DONE_KEY
from server.wallet import UserKeys
from tests.servers import ServerProcess, private_redis, site_with_own_stores
from tests.wsclient import WsClient, new_guest

WINDOW = 5


async def pages(client: WsClient, op: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a history op, page by page."""
    items: list[dict[str, Any]] = []
    before = None
    while True:
        page = await client.request(op, limit=limit, **({"before": before} if before else {}))
        items += page["items"]
        before = page["next_before"]
        if before is None:
            return items


async def test_old_history_leaves_redis_and_is_still_served_whole(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    async with site_with_own_stores(  # the books of this test's bets alone
        tmp_path, log_dir, database_url, CROUPIER_HISTORY_WINDOW=str(WINDOW)
    ) as (server, redis, database):
        token, user = await new_guest(http, server.base_url)
        keys = UserKeys(user["id"])
        client = await WsClient.open(server.ws_url, token)
        await client.request(  # an open bet below the window stays until it closes
            "mines.start", amount=50, currency="PLAY", mines=1, key=secrets.token_hex(6)
        )
        for _ in range(30):
            await client.request(
                "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                params={"target": "50.50", "condition": "over"},
            )  # fmt: skip
        version = int(await redis.hget(keys.wallet, "version"))
        async with asyncio.timeout(15):
            while int(await redis.hget(keys.history, "floor") or 1) <= version - WINDOW:
                await asyncio.sleep(0.1)
        assert await redis.hlen(keys.ledger) <= WINDOW + 1, "the window, and the open bet"
        assert await redis.hexists(keys.ledger, "2"), "the open Mines bet is kept"

        entries = await pages(client, "transactions", 7)
        assert [entry["id"] for entry in entries] == list(range(version, 0, -1))
        dice = await client.request("transactions", limit=100, game="dice")
        assert dice["items"] == [entry for entry in entries if entry["game"] == "dice"]
        bets = await pages(client, "bets", 4)
        assert len(bets) == 30 and all(bet["game"] == "dice" for bet in bets)
        assert await redis.hlen(keys.bets) <= WINDOW

        audit = await audit_user(redis, user["id"], database)
        assert audit.ok and audit.stored == audit.replayed, audit.problems
        report = await audit_all(redis, database=database)
        assert report.ok and report.users == 1 and report.entries == version
        assert report.books is not None and set(report.books.trial_balance.values()) == {0}

        # Closing the bet kept open lets it go too, at the next trim.
        await client.request("mines.reveal", tile=3)
        await client.call("mines.cashout")
        for _ in range(3):
            await client.request(
                "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                params={"target": "50.50", "condition": "over"},
            )  # fmt: skip
        async with asyncio.timeout(15):
            while await redis.hexists(keys.ledger, "2"):
                await asyncio.sleep(0.1)
        await client.close()
        audit = await audit_user(redis, user["id"], database)
        assert audit.ok, audit.problems


async def test_history_written_before_the_journal_reaches_postgresql_before_any_trim(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    """A deployment upgraded from a version without the journal: its first start
    journals every user's history, so the window trims nothing PostgreSQL lacks."""
    async with private_redis(tmp_path / "redis") as url:
        redis: Redis = connect(url)
        database = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        try:
            first = await ServerProcess(log_dir, REDIS_URL=url).start()
            token, user = await new_guest(http, first.base_url)
            client = await WsClient.open(first.ws_url, token)
            for _ in range(20):
                await client.request(
                    "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                    params={"target": "50.50", "condition": "over"},
                )  # fmt: skip
            await client.close()
            await first.stop()
            # What an earlier version left: the history in Redis only.
            keys = UserKeys(user["id"])
            await database.execute("DELETE FROM ledger_entries WHERE user_id = $1", user["id"])
            await database.execute("DELETE FROM bets WHERE user_id = $1", user["id"])
            await redis.delete(keys.journal, HISTORY_DONE_KEY)
            version = int(await redis.hget(keys.wallet, "version"))

            second = await ServerProcess(
                log_dir, REDIS_URL=url, CROUPIER_HISTORY_WINDOW=str(WINDOW),
                CROUPIER_ARCHIVE_FULL_PASS_S="0.5",
            ).start()  # fmt: skip
            try:
                async with asyncio.timeout(15):
                    while int(await redis.hget(keys.history, "floor") or 1) <= version - WINDOW:
                        await asyncio.sleep(0.1)
                archived = await database.fetchval(
                    "SELECT count(*) FROM ledger_entries WHERE user_id = $1", user["id"]
                )
                assert archived == version
                client = await WsClient.open(second.ws_url, token)
                entries = await pages(client, "transactions", 9)
                await client.close()
                assert [entry["id"] for entry in entries] == list(range(version, 0, -1))
            finally:
                await second.stop()
            audit = await audit_user(redis, user["id"], database)
            assert audit.ok, audit.problems
        finally:
            await database.close()
            await redis.aclose()


async def test_a_retry_after_its_bet_left_the_window_replays_the_first_reply(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    """The idempotency record keeps the bet id and the balance (a few dozen bytes); the rest
    of the first reply is the bet record, read from PostgreSQL once Redis trimmed it."""
    async with site_with_own_stores(
        tmp_path, log_dir, database_url, CROUPIER_HISTORY_WINDOW=str(WINDOW)
    ) as (server, redis, _):
        token, user = await new_guest(http, server.base_url)
        keys = UserKeys(user["id"])
        client = await WsClient.open(server.ws_url, token)
        bet = {"game": "dice", "amount": 10, "currency": "PLAY", "key": "first"}
        params = {"target": "50.50", "condition": "over"}
        first = await client.request("bet", **bet, params=params)
        record = await redis.get(keys.idempotency("bet:first"))
        assert record is not None and len(record) < 64, record
        for _ in range(3 * WINDOW):
            await client.request(
                "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                params=params,
            )  # fmt: skip
        async with asyncio.timeout(15):
            while await redis.hexists(keys.bets, str(first["id"])):
                await asyncio.sleep(0.1)
        assert await client.request("bet", **bet, params=params) == first
        version = int(await redis.hget(keys.wallet, "version"))
        assert await client.request("bet", **bet, params=params) == first
        assert int(await redis.hget(keys.wallet, "version")) == version, "nothing moved"
        await client.close()
