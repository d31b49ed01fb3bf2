"""The books in PostgreSQL: a mixed run of every game balances, and the audit reads
the house's profit by SQL and catches books that disagree with themselves."""

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

from server.audit import AuditReport, audit_all, format_report
from tests.crash_chain import crafted_hashes
from tests.servers import site_with_own_stores
from tests.wsclient import WsClient, new_guest

FAST_CRASH = {
    "CROUPIER_CRASH_BETTING_MS": "800",
    "CROUPIER_CRASH_CRASHED_MS": "300",
}
EVERY_GAME = {"dice", "limbo", "plinko", "keno", "mines", "hilo", "quiz", "crash"}


def key() -> str:
    return secrets.token_hex(8)


async def play_every_game(client: WsClient) -> None:
    """A few bets of each instant game, one game of each step game, one Crash bet."""
    instant = {
        "dice": {"target": "50.50", "condition": "over"},
        "limbo": {"target": "2.00"},
        "plinko": {"rows": 8, "risk": "high"},
        "keno": {"picks": [1, 2, 3, 4, 5], "risk": "classic"},
    }
    for game, params in instant.items():
        for _ in range(4):
            await client.request(
                "bet", game=game, amount=100, currency="PLAY", key=key(), params=params
            )
    await client.request("mines.start", amount=200, currency="PLAY", mines=3, key=key())
    if (await client.request("mines.reveal", tile=0))["state"]["state"] == "active":
        await client.request("mines.cashout")
    await client.request("hilo.start", amount=200, currency="PLAY", key=key())
    if (await client.request("hilo.guess", guess="skip"))["state"]["state"] == "active":
        guessed = await client.request("hilo.guess", guess="higher_or_same")
        if guessed["state"]["state"] == "active":
            await client.request("hilo.cashout")
    await client.request("quiz.start", amount=200, currency="PLAY", key=key())
    await client.request("quiz.answer", choice=0)  # right or wrong, the game may end here
    await client.call("quiz.cashout")
    await bet_a_crash_round(client)


async def bet_a_crash_round(client: WsClient) -> None:
    """One Crash bet with an automatic cashout at 1.5x, followed until it settles."""
    async with asyncio.timeout(30):
        while True:
            state = await client.request("crash.state")
            if state["phase"] == "betting" and state["betting_ends"] - time.time() * 1000 > 400:
                break
            await asyncio.sleep(0.05)
        placed = await client.request(
            "crash.bet", amount=300, currency="PLAY", auto_cashout="1.50", key=key()
        )
        while (await client.request("crash.state"))["round_id"] == placed["round_id"]:
            await asyncio.sleep(0.05)
        while not any(bet["game"] == "crash" for bet in (await client.request("bets"))["items"]):
            await asyncio.sleep(0.05)


async def audited_once_archived(redis: Redis, pool: asyncpg.Pool) -> AuditReport:
    """The audit, once PostgreSQL holds every ledger entry Redis wrote."""
    async with asyncio.timeout(20):
        while True:
            versions = [int(v or 0) async for v in wallet_versions(redis)]
            if await pool.fetchval("SELECT count(*) FROM ledger_entries") == sum(versions):
                return await audit_all(redis, database=pool)
            await asyncio.sleep(0.1)


async def wallet_versions(redis: Redis) -> AsyncIterator[str | None]:
    async for wallet in redis.scan_iter(match="{u:*}:wallet"):
        yield await redis.hget(wallet, "version")


async def test_a_mixed_run_of_every_game_balances_the_books(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    # Crash rounds of the chain fly past 1.5x.
    chain = crafted_hashes(40, lambda _: (Decimal(2), Decimal(5)), 7)
    async with site_with_own_stores(tmp_path, log_dir, database_url, chain, **FAST_CRASH) as site:
        server, redis, pool = site
        clients = []
        for _ in range(2):
            token, _ = await new_guest(http, server.base_url)
            clients.append(await WsClient.open(server.ws_url, token))
        await asyncio.gather(*(play_every_game(client) for client in clients))
        for client in clients:
            await client.close()
        report = await audited_once_archived(redis, pool)
    assert report.ok, format_report(report, 10)
    assert report.books is not None and report.books.trial_balance == {"PLAY": 0}
    house = {result.game: result for result in report.books.house}
    assert set(house) == EVERY_GAME
    assert house["dice"].bets == 8 and house["dice"].wagered == 800
    assert house["crash"].paid == 2 * 450, "both Crash bets cashed out at 1.5x"
    assert all(result.problem() is None and result.open_stakes == 0 for result in house.values())
    replayed = {game: t.wagered - t.paid for (game, _), t in report.tallies.items()}
    assert {game: result.profit for game, result in house.items()} == replayed
    text = format_report(report, 10)
    assert "house profit by game and currency (minor units, settled bets; PostgreSQL):" in text


async def test_the_audit_fails_when_the_books_disagree_with_themselves(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    async with site_with_own_stores(tmp_path, log_dir, database_url) as (server, redis, pool):
        token, _ = await new_guest(http, server.base_url)
        client = await WsClient.open(server.ws_url, token)
        for _ in range(3):
            await client.request(
                "bet", game="dice", amount=100, currency="PLAY", key=key(),
                params={"target": "50.50", "condition": "over"},
            )  # fmt: skip
        await client.close()
        clean = await audited_once_archived(redis, pool)
        assert clean.ok, format_report(clean, 10)

        findings: dict[str, list[str]] = {}
        tampering = {  # each statement, and the one that undoes it
            "payout": "UPDATE bets SET payout = payout + $1"
            " WHERE bet_id = (SELECT min(bet_id) FROM bets)",
            "posting": "UPDATE postings SET amount = amount + $1 WHERE account = 'house'"
            " AND entry_id = (SELECT min(entry_id) FROM postings WHERE account = 'house')",
        }
        for name, statement in tampering.items():
            await pool.execute(statement, 7)
            report = await audit_all(redis, database=pool)
            await pool.execute(statement, -7)
            assert not report.ok and format_report(report, 10).endswith("FAILED")
            assert report.books is not None
            findings[name] = report.books.problems()
        assert (await audit_all(redis, database=pool)).ok
    assert findings["payout"] == [
        "dice PLAY: the house's postings differ from its settled bets and open stakes by 7"
    ]
    assert findings["posting"] == [
        "trial balance of PLAY is 7, not 0",
        "dice PLAY: the house's postings differ from its settled bets and open stakes by 7",
    ]
