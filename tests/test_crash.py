"""Crash over real servers, a private Redis and real WebSockets.

The round tests install a chain whose crash points the test chose (the stored
checkpoints are trusted, so any hashes will do), to know each round's point
and keep rounds short; the verification test uses a chain made by the server.
"""

import asyncio
import json
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from games.crash import ChainConvention, HashChain, crash_point, elapsed_for, next_hash, sha256_hex
from server.audit import audit_user
from server.crash import keys
from server.crash.chain_store import Chain, chain_json, parse_chain
from server.crash.config import DEFAULT_SALT
from server.crash.records import Bet
from server.crash.scripts import CrashScripts
from server.crash.settlement import bet_ref, client_key
from server.crash.store import CrashStore
from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.redis_scripts import ScriptRunner
from server.wallet import Wallet, WalletScripts
from server.wallet.journal import Journal
from tests.crash_chain import Band, crafted_hashes, install_chain
from tests.servers import ADMIN_TOKEN, ServerProcess, private_redis
from tests.wsclient import ReplyError, WsClient, new_guest

TICK_MS = 50
TIMINGS = {
    "CROUPIER_CRASH_BETTING_MS": "1000",
    "CROUPIER_CRASH_TICK_MS": str(TICK_MS),
    "CROUPIER_CRASH_CRASHED_MS": "300",
    "CROUPIER_CRASH_LEASE_MS": "1500",
}
START = 100_000
"""Every guest's PLAY balance."""
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}


@dataclass
class Player:
    user: dict[str, Any]
    client: WsClient

    @property
    def id(self) -> str:
        return str(self.user["id"])


@pytest.fixture
async def join(
    http: httpx.AsyncClient,
) -> AsyncIterator[Callable[[ServerProcess], Awaitable[Player]]]:
    """Makes guests with a socket on a server; closes the sockets afterwards."""
    made: list[Player] = []

    async def make(server: ServerProcess) -> Player:
        token, user = await new_guest(http, server.base_url)
        player = Player(user, await WsClient.open(server.ws_url, token))
        made.append(player)
        return player

    yield make
    for player in made:
        await player.client.close()


async def events_until(
    client: WsClient, name: str, check: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> list[dict[str, Any]]:
    """Every event received up to the first `name` event whose data passes `check`."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            event = await client.events.get()
            seen.append(event)
            if event["event"] == name and check(event["data"]):
                return seen


async def wait_event(
    client: WsClient, name: str, check: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    data: dict[str, Any] = (await events_until(client, name, check, timeout))[-1]["data"]
    return data


async def fresh_betting(
    client: WsClient, wanted: Callable[[int], bool], timeout: float = 60
) -> dict[str, Any]:
    """The next round opening for bets, with 700 ms left now, whose id is wanted
    (the Redis clock is this host's)."""

    def opening(data: dict[str, Any]) -> bool:
        return (
            data["phase"] == "betting"
            and data["betting_ends"] - time.time() * 1000 >= 700
            and wanted(data["round_id"])
        )

    return await wait_event(client, "crash.state", opening, timeout)


def phase_of(round_id: int, phase: str) -> Callable[[dict[str, Any]], bool]:
    return lambda data: data["round_id"] == round_id and data["phase"] == phase


def of_round(round_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda data: data["round_id"] == round_id


async def expect_error(code: str, call: Awaitable[Any]) -> None:
    with pytest.raises(ReplyError) as caught:
        await call
    assert caught.value.code == code, caught.value


async def settled_audit(redis: Redis, user_id: str) -> dict[str, int]:
    """The user's stored balances, after checking the ledger replays to them."""
    audit = await audit_user(redis, user_id)
    assert audit.ok, audit.problems
    assert audit.open_bets == []
    return audit.stored


async def crash_entries(wallet: Wallet, user_id: str, round_id: int) -> list[dict[str, Any]]:
    entries = await wallet.transactions(user_id, game="crash", limit=100)
    return [dict(entry) for entry in entries if entry["ref"] == bet_ref(round_id)][::-1]


# One server, rounds of known points: every third round crashes at 1.00 at
# once, the others between 1.20 and 1.30 (under 4 s of flight).
INSTANT: Band = (Decimal("1.00"), Decimal("1.00"))
SHORT: Band = (Decimal("1.20"), Decimal("1.30"))
HASHES = crafted_hashes(300, lambda k: INSTANT if k % 3 == 0 else SHORT, seed=1)
BTC_ROUND_CAP = 2300
PLAY_MAX_PAYOUT = 10_000_000
LIMITS = {
    "PLAY": {"min_bet": 1, "max_bet": 100_000_000, "max_payout": PLAY_MAX_PAYOUT},
    "BTC": {"min_bet": 100, "max_bet": 100_000_000, "max_payout": 10_000_000_000},
}


def point_of(round_id: int) -> Decimal:
    return crash_point(HASHES[round_id - 1], DEFAULT_SALT)


@pytest.fixture(scope="module")
async def crash_redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with private_redis(tmp_path_factory.mktemp("crash-redis")) as url:
        yield url


@pytest.fixture(scope="module")
async def crash_redis(crash_redis_url: str) -> AsyncIterator[Redis]:
    client = connect(crash_redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def crash_runner(crash_redis_url: str) -> AsyncIterator[ScriptRunner]:
    runner = script_runner(crash_redis_url)
    yield runner
    await runner.aclose()


@pytest.fixture(scope="module")
def crash_wallet(crash_redis: Redis, crash_runner: ScriptRunner) -> Wallet:
    return Wallet(crash_redis, WalletScripts.register(crash_runner), 86_400)


@pytest.fixture(scope="module")
async def crash_server(
    crash_redis: Redis, crash_redis_url: str, log_dir: Path
) -> AsyncIterator[ServerProcess]:
    await install_chain(crash_redis, HASHES)
    env = {
        **TIMINGS,
        "REDIS_URL": crash_redis_url,
        "CROUPIER_CRASH_MAX_PAYOUT_PER_ROUND": f'{{"BTC": {BTC_ROUND_CAP}}}',
        "CROUPIER_LIMITS": json.dumps(LIMITS),
    }
    process = await ServerProcess(log_dir, **env).start()
    yield process
    await process.stop()


async def test_a_round_pays_manual_and_target_cashouts_and_takes_losses(
    crash_server: ServerProcess,
    crash_redis: Redis,
    crash_wallet: Wallet,
    join: Callable[[ServerProcess], Awaitable[Player]],
) -> None:
    names = ("manual", "below", "at", "above", "idle", "late")
    players = {name: await join(crash_server) for name in names}
    watcher = players["manual"].client
    opening = await fresh_betting(watcher, lambda k: point_of(k) > 1)
    round_id, point = opening["round_id"], point_of(opening["round_id"])
    # The commitment is the next hash of the round's: the previous round's hash (a crafted
    # chain's rounds are not each other's hashes), or for round 1 the terminating hash.
    first = next_hash(HASHES[0], ChainConvention.BYTES)
    assert opening["commitment"] == (HASHES[round_id - 2] if round_id > 1 else first)
    targets = {"below": Decimal("1.10"), "at": point, "above": point + Decimal("0.01")}

    async def place(name: str) -> dict[str, Any]:
        auto = {"auto_cashout": str(targets[name])} if name in targets else {}
        return await players[name].client.request(
            "crash.bet", amount=1000, currency="PLAY", key=f"crash-{round_id}", **auto
        )

    for placed in await asyncio.gather(*(place(name) for name in names[:-1])):
        assert placed["round_id"] == round_id and placed["balance"] == START - 1000
        assert placed["bet"]["status"] == "open"
    manual = players["manual"].client
    again = await manual.request("crash.bet", amount=1000, currency="PLAY", key=f"crash-{round_id}")
    assert again["balance"] == START - 1000, "a retry with the same key debits once"
    await expect_error(
        "ALREADY_BET", manual.request("crash.bet", amount=5, currency="PLAY", key="other")
    )
    await expect_error(
        "IDEMPOTENCY_CONFLICT",
        manual.request("crash.bet", amount=5, currency="PLAY", key=f"crash-{round_id}"),
    )
    await expect_error("ROUND_CLOSED", manual.request("crash.cashout"))

    await wait_event(watcher, "crash.state", phase_of(round_id, "running"))
    await expect_error(
        "ALREADY_BET", manual.request("crash.bet", amount=5, currency="PLAY", key="other")
    )
    late = players["late"].client
    await expect_error(
        "ROUND_CLOSED", late.request("crash.bet", amount=1000, currency="PLAY", key="late")
    )
    await expect_error("NO_BET", late.request("crash.cashout"))
    tick = await wait_event(
        watcher, "crash.tick", lambda d: Decimal(d["multiplier"]) >= Decimal("1.05")
    )
    assert tick["round_id"] == round_id
    cashout = await manual.request("crash.cashout")
    won_at = Decimal(cashout["multiplier"])
    assert Decimal("1.05") <= won_at < point
    assert cashout["payout"] == 1000 * won_at and cashout["balance"] == START - 1000 + 1000 * won_at
    assert await manual.request("crash.cashout") == cashout, "a repeated cashout answers the same"

    seen = await events_until(watcher, "crash.crashed", of_round(round_id))
    crashed = seen[-1]["data"]
    assert crashed["point"] == str(point) and crashed["hash"] == HASHES[round_id - 1]
    cashed = {
        player["name"]: player
        for event in seen
        if event["event"] == "crash.cashout"
        for player in event["data"]["players"]
    }
    by_name = {players[name].user["name"]: name for name in names}
    assert {by_name[name] for name in cashed} == {"manual", "below", "at"}
    assert cashed[players["below"].user["name"]]["multiplier"] == "1.10"
    assert cashed[players["at"].user["name"]]["payout"] == 1000 * point
    ticks = [e["data"]["elapsed_ms"] for e in seen if e["event"] == "crash.tick"]
    assert ticks == sorted(set(ticks)) and ticks[-1] < crashed["elapsed_ms"]
    assert crashed["elapsed_ms"] == elapsed_for(point)
    await expect_error("ROUND_CLOSED", manual.request("crash.cashout"))

    await fresh_betting(watcher, lambda k: k > round_id)  # the round is settled
    expected = {
        "manual": START - 1000 + 1000 * won_at,
        "below": START + 100,
        "at": START - 1000 + 1000 * point,
        "above": START - 1000,
        "idle": START - 1000,
        "late": START,
    }
    for name, balance in expected.items():
        assert (await settled_audit(crash_redis, players[name].id))["PLAY"] == balance, name
    entries = await crash_entries(crash_wallet, players["above"].id, round_id)
    assert [(e["type"], e["status"]) for e in entries] == [("bet", "settled")]
    entries = await crash_entries(crash_wallet, players["below"].id, round_id)
    assert [(e["type"], e["amount"]) for e in entries] == [("bet", -1000), ("win", 1100)]
    history = (await watcher.request("crash.history"))["items"]
    assert history[0] == {
        "round_id": round_id, "point": str(point), "hash": HASHES[round_id - 1], "voided": False
    }  # fmt: skip


async def test_every_played_bet_is_in_the_history_and_the_live_feed_with_its_round(
    crash_server: ServerProcess, join: Callable[[ServerProcess], Awaitable[Player]]
) -> None:
    winner, loser, watcher = [await join(crash_server) for _ in range(3)]
    opening = await fresh_betting(watcher.client, lambda k: point_of(k) > Decimal("1.10"))
    round_id, point = opening["round_id"], point_of(opening["round_id"])
    await winner.client.request(
        "crash.bet", amount=1000, currency="PLAY", key=f"w{round_id}", auto_cashout="1.10"
    )
    await loser.client.request("crash.bet", amount=500, currency="PLAY", key=f"l{round_id}")
    live: dict[str, dict[str, Any]] = {}
    names = {winner.user["name"]: "winner", loser.user["name"]: "loser"}
    async with asyncio.timeout(30):
        while set(live) != {"winner", "loser"}:
            event = await watcher.client.next_event("bets.live")
            for item in event["data"]["bets"]:
                if item["user"] in names and item["game"] == "crash":
                    live[names[item["user"]]] = item
    assert (live["winner"]["multiplier"], live["winner"]["payout"]) == ("1.10", 1100)
    assert (live["loser"]["multiplier"], live["loser"]["payout"]) == ("0.00", 0)
    outcome = {"round": round_id, "point": str(point), "hash": HASHES[round_id - 1]}
    for player, multiplier, payout in ((winner, "1.10", 1100), (loser, "0.00", 0)):
        newest = (await player.client.request("bets", limit=5))["items"][0]
        assert newest["game"] == "crash" and newest["outcome"] == outcome
        assert (newest["multiplier"], newest["payout"]) == (multiplier, payout)
        crash_only = (await player.client.request("bets", game="crash"))["items"]
        assert [bet["id"] for bet in crash_only] == [newest["id"]]


async def test_players_are_listed_by_public_name_never_by_user_id(
    crash_server: ServerProcess, join: Callable[[ServerProcess], Awaitable[Player]]
) -> None:
    bettor, watcher = await join(crash_server), await join(crash_server)
    opening = await fresh_betting(watcher.client, lambda k: point_of(k) > Decimal("1.10"))
    round_id = opening["round_id"]
    placed = await bettor.client.request(
        "crash.bet", amount=500, currency="PLAY", auto_cashout="1.10", key="public-name"
    )
    greeted = await join(crash_server)  # greeted with the round's players
    seen = await events_until(watcher.client, "crash.state", phase_of(round_id, "running"))
    seen.append({"event": "crash.state", "data": await watcher.client.request("crash.state")})
    seen += await events_until(watcher.client, "crash.crashed", of_round(round_id))
    seen.append(await greeted.client.next_event("crash.state"))
    crash_events = [event for event in seen if event["event"].startswith("crash.")]
    listing = {event["event"] for event in crash_events if event["data"].get("players")}
    assert listing == {"crash.state", "crash.bet", "crash.cashout"}
    listed = [player for event in crash_events for player in event["data"].get("players", [])]
    assert {player["name"] for player in listed} == {bettor.user["name"]}
    assert bettor.id not in json.dumps([placed, *crash_events])


async def test_an_instant_crash_refuses_cashouts_and_every_bet_loses(
    crash_server: ServerProcess,
    crash_redis: Redis,
    join: Callable[[ServerProcess], Awaitable[Player]],
) -> None:
    first, second = await join(crash_server), await join(crash_server)
    opening = await fresh_betting(first.client, lambda k: point_of(k) == 1)
    round_id = opening["round_id"]
    await first.client.request(
        "crash.bet", amount=700, currency="PLAY", auto_cashout=1.01, key="instant"
    )
    await second.client.request("crash.bet", amount=300, currency="PLAY", key="instant")
    await wait_event(first.client, "crash.state", phase_of(round_id, "running"))
    await expect_error("ROUND_CLOSED", second.client.request("crash.cashout"))
    crashed = await wait_event(first.client, "crash.crashed", of_round(round_id))
    assert (crashed["point"], crashed["elapsed_ms"]) == ("1.00", 0)
    await fresh_betting(first.client, lambda k: k > round_id)
    assert (await settled_audit(crash_redis, first.id))["PLAY"] == START - 700
    assert (await settled_audit(crash_redis, second.id))["PLAY"] == START - 300


async def test_cashouts_racing_the_crash_tick_each_end_once(
    crash_server: ServerProcess,
    crash_redis: Redis,
    crash_wallet: Wallet,
    join: Callable[[ServerProcess], Awaitable[Player]],
) -> None:
    players = [await join(crash_server) for _ in range(40)]
    watcher = players[0].client
    opening = await fresh_betting(watcher, lambda k: point_of(k) > 1)
    round_id, point = opening["round_id"], point_of(opening["round_id"])
    await asyncio.gather(
        *(p.client.request("crash.bet", amount=1000, currency="PLAY", key="race") for p in players)
    )
    crash_ms = elapsed_for(point)
    await wait_event(watcher, "crash.tick", lambda d: d["elapsed_ms"] >= crash_ms - 4 * TICK_MS)
    rng = random.Random(round_id)

    async def cash_out(player: Player) -> dict[str, Any]:
        await asyncio.sleep(rng.uniform(0, 7 * TICK_MS) / 1000)
        return await player.client.call("crash.cashout")

    replies = await asyncio.gather(*(cash_out(p) for p in players))
    await fresh_betting(watcher, lambda k: k > round_id)

    won = lost = 0
    for player, reply in zip(players, replies, strict=True):
        balance = (await settled_audit(crash_redis, player.id))["PLAY"]
        entries = await crash_entries(crash_wallet, player.id, round_id)
        if reply["ok"]:
            won += 1
            multiplier = Decimal(reply["data"]["multiplier"])
            assert multiplier < point
            payout = reply["data"]["payout"]
            assert payout == 1000 * multiplier and balance == START - 1000 + payout
            assert [(e["type"], e["amount"]) for e in entries] == [("bet", -1000), ("win", payout)]
        else:
            lost += 1
            assert reply["error"]["code"] == "ROUND_CLOSED"
            assert balance == START - 1000
            assert [e["type"] for e in entries] == ["bet"]
        assert entries[0]["status"] == "settled"
    assert won and lost, f"the race should have both outcomes ({won} won, {lost} lost)"


async def test_the_round_cap_cashes_out_every_open_bet_of_its_currency(
    crash_server: ServerProcess,
    crash_redis: Redis,
    http: httpx.AsyncClient,
    join: Callable[[ServerProcess], Awaitable[Player]],
) -> None:
    players = [await join(crash_server) for _ in range(3)]
    for player in players[:2]:
        body = {
            "user": player.id,
            "amount": 10_000,
            "currency": "BTC",
            "key": "fund",
            "reason": "test",
        }
        response = await http.post(
            f"{crash_server.base_url}/api/admin/credit", json=body, headers=ADMIN
        )
        response.raise_for_status()
    watcher = players[0].client
    opening = await fresh_betting(watcher, lambda k: point_of(k) > 1)
    round_id = opening["round_id"]
    for player in players[:2]:
        await player.client.request("crash.bet", amount=1000, currency="BTC", key="capped")
    await players[2].client.request("crash.bet", amount=1000, currency="PLAY", key="uncapped")
    seen = await events_until(watcher, "crash.crashed", of_round(round_id))
    cashouts = [p for e in seen if e["event"] == "crash.cashout" for p in e["data"]["players"]]
    assert {p["name"] for p in cashouts} == {players[0].user["name"], players[1].user["name"]}
    assert {p["multiplier"] for p in cashouts} == {"1.15"}, "2 x 1000 x 1.15 reaches 2300"
    assert sum(p["payout"] for p in cashouts) == BTC_ROUND_CAP
    await fresh_betting(watcher, lambda k: k > round_id)
    for player in players[:2]:
        assert (await settled_audit(crash_redis, player.id))["BTC"] == 10_000 - 1000 + 1150
    assert (await settled_audit(crash_redis, players[2].id))["PLAY"] == START - 1000


async def test_a_bet_reaching_max_payout_is_cashed_out_there(
    crash_server: ServerProcess,
    crash_redis: Redis,
    http: httpx.AsyncClient,
    join: Callable[[ServerProcess], Awaitable[Player]],
) -> None:
    player = await join(crash_server)
    body = {
        "user": player.id,
        "amount": 9_000_000,
        "currency": "PLAY",
        "key": "fund",
        "reason": "test",
    }
    response = await http.post(
        f"{crash_server.base_url}/api/admin/credit", json=body, headers=ADMIN
    )
    response.raise_for_status()
    opening = await fresh_betting(player.client, lambda k: point_of(k) > 1)
    round_id = opening["round_id"]
    too_big = player.client.request(
        "crash.bet", amount=PLAY_MAX_PAYOUT, currency="PLAY", key="too-big"
    )
    await expect_error("LIMIT_EXCEEDED", too_big)
    await player.client.request("crash.bet", amount=9_000_000, currency="PLAY", key="big")
    seen = await events_until(player.client, "crash.crashed", of_round(round_id))
    (cashout,) = [p for e in seen if e["event"] == "crash.cashout" for p in e["data"]["players"]]
    # 9,000,000 x 1.12 = 10,080,000: the first target at which the payout reaches the cap.
    assert (cashout["multiplier"], cashout["payout"]) == ("1.12", PLAY_MAX_PAYOUT)
    await fresh_betting(player.client, lambda k: k > round_id)
    assert (await settled_audit(crash_redis, player.id))["PLAY"] == START + PLAY_MAX_PAYOUT


async def test_bets_whose_debit_was_never_confirmed_are_refunded_once(
    crash_server: ServerProcess,
    crash_redis: Redis,
    crash_runner: ScriptRunner,
    crash_wallet: Wallet,
    join: Callable[[ServerProcess], Awaitable[Player]],
) -> None:
    """A handler that died after reserving (before or after its debit) leaves a
    pending place: the round starts without it and the leader refunds it."""
    store = CrashStore(crash_redis, CrashScripts.register(crash_runner), Journal(crash_redis, 1))
    wallet = crash_wallet
    undebited, debited = await join(crash_server), await join(crash_server)
    opening = await fresh_betting(undebited.client, lambda k: point_of(k) > 1)
    round_id = opening["round_id"]
    for player in (undebited, debited):
        bet = Bet(player.id, player.user["name"], "lost-reply", 400, "PLAY", 0, 10**9, 10**12)
        assert (await store.reserve(bet))[:2] == (True, round_id)
    await wallet.debit(
        debited.id, 400, "PLAY", key=client_key("lost-reply"), game="crash", ref=bet_ref(round_id)
    )
    state = await wait_event(undebited.client, "crash.state", phase_of(round_id, "running"))
    assert state["players"] == [], "pending places do not play"
    await fresh_betting(undebited.client, lambda k: k > round_id)
    for player in (undebited, debited):
        assert (await settled_audit(crash_redis, player.id))["PLAY"] == START
        entries = await crash_entries(crash_wallet, player.id, round_id)
        assert [(e["type"], e["status"]) for e in entries] == [
            ("bet", "rolled_back"), ("refund", "done")
        ]  # fmt: skip


@pytest.fixture
async def fresh_redis_url(tmp_path: Path) -> AsyncIterator[str]:
    """A Redis of the test's own."""
    async with private_redis(tmp_path / "redis") as url:
        yield url


async def test_verify_walks_the_servers_own_chain(
    fresh_redis_url: str, log_dir: Path, http: httpx.AsyncClient
) -> None:
    seed = next(s for s in (f"seed-{i}" for i in range(1000)) if early_rounds_are_short(s))
    chain = HashChain(seed, 500, checkpoint_interval=10)
    env = {
        **TIMINGS,
        "REDIS_URL": fresh_redis_url,
        "CROUPIER_CRASH_SEED": seed,
        "CROUPIER_CRASH_CHAIN_LENGTH": "500",
        "CROUPIER_CRASH_CHECKPOINT_INTERVAL": "10",
    }
    server = await ServerProcess(log_dir, **env).start()
    try:
        public = (await http.get(f"{server.base_url}/api/crash/chain")).json()
        assert public["terminating_hash"] == chain.terminating_hash and public["length"] == 500
        assert public["salt"] == DEFAULT_SALT
        async with asyncio.timeout(30):
            while not (await http.get(f"{server.base_url}/api/crash/history")).json()["items"]:
                await asyncio.sleep(0.1)
        (last,) = (await http.get(f"{server.base_url}/api/crash/history")).json()["items"]
        assert last["round_id"] == 1 and last["hash"] == chain.hash_for_round(1)
        assert next_hash(last["hash"], ChainConvention.BYTES) == public["terminating_hash"]

        async def verify(value: str) -> httpx.Response:
            return await http.get(f"{server.base_url}/api/crash/verify", params={"hash": value})

        checked = (await verify(last["hash"])).json()
        assert checked["valid"] and checked["round_id"] == 1
        assert checked["point"] == last["point"] == str(crash_point(last["hash"], DEFAULT_SALT))
        assert not (await verify(sha256_hex("not in the chain"))).json()["valid"]
        future = (await verify(chain.hash_for_round(400))).json()
        assert not future["valid"], "only rounds played so far are walked"
        bad = await verify("XYZ")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_REQUEST"
    finally:
        await server.stop()


def test_the_chain_locates_every_round_hash_within_one_checkpoint_interval() -> None:
    chain = Chain(HashChain("locate", 1050, checkpoint_interval=100), DEFAULT_SALT)
    for round_id in range(1, 1051):
        found, hashed = chain.locate(chain.round_hash(round_id))
        assert found == round_id and hashed <= 100
    assert chain.locate(chain.terminating_hash) == (None, 0)
    assert chain.locate(sha256_hex("not in the chain")) == (None, 100)


async def test_verify_hashes_at_most_one_checkpoint_interval_however_many_rounds_ran(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """150,000 rounds played: a check hashes forward to the nearest checkpoint, never
    back to round 1 (the server counts the SHA-256 it computes in its metrics)."""
    length, interval, played = 200_000, 100, 150_000
    chain = HashChain("many rounds", length, interval)
    last_round = {
        "id": played, "phase": "crashed", "fence": 1,
        "commitment": chain.hash_for_round(played - 1), "betting_ends": 0, "started_at": 0,
        "tick": 0, "mult": 100, "point": 100, "hash": chain.hash_for_round(played),
        "voided": 0, "settled": 1,
    }  # fmt: skip
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        await redis.set(keys.CHAIN, chain_json(chain, DEFAULT_SALT))
        await redis.hset(keys.ROUND, mapping=last_round)
        await redis.aclose()
        server = await ServerProcess(log_dir, REDIS_URL=url, CROUPIER_CRASH_ENABLED="0").start()

        async def hashes_computed() -> int:
            metrics = (await http.get(f"{server.base_url}/metrics")).text
            (line,) = [x for x in metrics.splitlines() if x.startswith("croupier_crash_verify_")]
            return int(line.rpartition(" ")[2])

        cases = [
            (chain.hash_for_round(played), played),
            (chain.hash_for_round(played - 1234), played - 1234),
            (chain.hash_for_round(1), 1),
            (chain.hash_for_round(played + 1), None),  # not played yet
            (sha256_hex("not in the chain"), None),
        ]
        try:
            for value, round_id in cases:
                before = await hashes_computed()
                checked = await http.get(
                    f"{server.base_url}/api/crash/verify", params={"hash": value}
                )
                assert checked.json()["round_id"] == round_id
                assert checked.json()["valid"] is (round_id is not None)
                assert await hashes_computed() - before <= interval
        finally:
            await server.stop()


def early_rounds_are_short(seed: str) -> bool:
    chain = HashChain(seed, 500, checkpoint_interval=10)
    return all(crash_point(chain.hash_for_round(k), DEFAULT_SALT) <= 1.3 for k in (1, 2))


# Two instances on one Redis, rounds between 1.30 and 1.40 (4.4 to 5.6 s of flight).
LONG_HASHES = crafted_hashes(100, lambda k: (Decimal("1.30"), Decimal("1.40")), seed=2)


def leader_port(lease: str) -> int:
    """The port in a lease value `<fence>/<host>:<port>:<pid>:<random>`."""
    return int(lease.partition("/")[2].split(":")[1])


async def test_two_instances_run_one_loop_and_survive_the_leader_dying(
    fresh_redis_url: str, log_dir: Path, http: httpx.AsyncClient
) -> None:
    url = fresh_redis_url
    redis = connect(url)
    wallet = Wallet(redis, WalletScripts.register(script_runner(url)), 86_400)
    await install_chain(redis, LONG_HASHES)
    servers: dict[int, ServerProcess] = {}
    sockets: list[Player] = []

    async def join(server: ServerProcess) -> Player:
        token, user = await new_guest(http, server.base_url)
        sockets.append(Player(user, await WsClient.open(server.ws_url, token)))
        return sockets[-1]

    async def start() -> ServerProcess:
        server = await ServerProcess(log_dir, REDIS_URL=url, **TIMINGS).start()
        servers[server.port] = server
        return server

    try:
        for _ in range(2):
            await start()
        watchers = {port: await join(server) for port, server in servers.items()}

        # One loop: both sockets see the same rounds, each ticked once by one leader.
        streams = {}
        first = await fresh_betting(watchers[min(watchers)].client, lambda k: True)
        for port, watcher in watchers.items():
            if port != min(watchers):
                opening = phase_of(first["round_id"], "betting")
                await wait_event(watcher.client, "crash.state", opening)
            streams[port] = await events_until(
                watcher.client, "crash.crashed", of_round(first["round_id"] + 1), timeout=40
            )
        for stream in streams.values():
            states = [e["data"] for e in stream if e["event"] == "crash.state"]
            assert len({s["leader"] for s in states}) == 1
            openings = [s["round_id"] for s in states if s["phase"] == "betting"]
            assert openings == sorted(set(openings))
            for round_id in {e["data"]["round_id"] for e in stream if e["event"] == "crash.tick"}:
                ticks = [
                    e["data"]["elapsed_ms"]
                    for e in stream
                    if e["event"] == "crash.tick" and e["data"]["round_id"] == round_id
                ]
                assert ticks == sorted(set(ticks)), "no tick twice, none out of order"
        ports = list(streams)
        ticks_seen = [
            [
                (e["data"]["round_id"], e["data"]["elapsed_ms"])
                for e in streams[p]
                if e["event"] == "crash.tick"
            ]
            for p in ports
        ]
        common = set(ticks_seen[0]) & set(ticks_seen[1])
        assert len(common) > 20

        # Kill the leader mid-round: the other voids the round and refunds open bets.
        lease = await redis.get(keys.LEASE)
        dying, survivor = (
            servers[leader_port(lease)],
            next(s for p, s in servers.items() if p != leader_port(lease)),
        )
        watcher = watchers[survivor.port].client
        gamblers = [await join(server) for server in (dying, survivor) for _ in range(3)]
        opening = await fresh_betting(watcher, lambda k: True)
        round_id = opening["round_id"]
        for i, gambler in enumerate(gamblers):
            auto = {"auto_cashout": "1.05"} if i % 3 == 0 else {}
            await gambler.client.request(
                "crash.bet", amount=1000, currency="PLAY", key="failover", **auto
            )
        await wait_event(
            watcher, "crash.tick", lambda d: Decimal(d["multiplier"]) >= Decimal("1.02")
        )
        manual = await gamblers[4].client.request("crash.cashout")  # on the survivor
        await wait_event(
            watcher, "crash.tick", lambda d: Decimal(d["multiplier"]) >= Decimal("1.06")
        )
        await dying.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        voided = await wait_event(watcher, "crash.crashed", of_round(round_id), timeout=15)
        takeover_s = time.monotonic() - killed_at
        assert voided["voided"] and voided["hash"] == LONG_HASHES[round_id - 1]
        assert takeover_s < 4, f"takeover took {takeover_s:.1f} s"
        resumed = await fresh_betting(watcher, lambda k: k > round_id)
        assert resumed["round_id"] == round_id + 1 and resumed["leader"] > opening["leader"]

        for i, gambler in enumerate(gamblers):
            balance = (await settled_audit(redis, gambler.id))["PLAY"]
            entries = await crash_entries(wallet, gambler.id, round_id)
            if i % 3 == 0:
                assert balance == START + 50
                assert [(e["type"], e["status"]) for e in entries] == [
                    ("bet", "settled"), ("win", "done")
                ]  # fmt: skip
            elif i == 4:
                assert balance == START - 1000 + manual["payout"]
            else:
                assert balance == START
                assert [(e["type"], e["status"]) for e in entries] == [
                    ("bet", "rolled_back"), ("refund", "done")
                ]  # fmt: skip
        history = (await watcher.request("crash.history"))["items"]
        assert history[0]["round_id"] == round_id and history[0]["voided"] is True

        # Kill the next leader during BETTING: a third instance takes the round over.
        third = await start()
        watcher = (await join(third)).client
        players = [await join(third) for _ in range(2)]
        opening = await fresh_betting(watcher, lambda k: True)
        round_id = opening["round_id"]
        await players[0].client.request(
            "crash.bet", amount=1000, currency="PLAY", auto_cashout=1.2, key="adopted"
        )
        await players[1].client.request("crash.bet", amount=1000, currency="PLAY", key="adopted")
        await survivor.stop(signal.SIGKILL)
        running = await wait_event(watcher, "crash.state", phase_of(round_id, "running"))
        assert running["leader"] > opening["leader"] and len(running["players"]) == 2
        crashed = await wait_event(watcher, "crash.crashed", of_round(round_id))
        assert not crashed["voided"]
        await fresh_betting(watcher, lambda k: k > round_id)
        assert (await settled_audit(redis, players[0].id))["PLAY"] == START + 200
        assert (await settled_audit(redis, players[1].id))["PLAY"] == START - 1000
    finally:
        for player in sockets:
            await player.client.close()
        for server in servers.values():
            await server.stop()
        await redis.aclose()


def test_a_chain_stored_before_conventions_keeps_walking_the_hex_text() -> None:
    """A published chain keeps its convention: one stored without a convention walks
    and scores the hashes' hex text; a new one uses bustabit's raw bytes."""
    text = HashChain("published", 20, checkpoint_interval=5, convention=ChainConvention.TEXT)
    stored = json.loads(chain_json(text, DEFAULT_SALT))
    del stored["convention"]  # as the first versions stored it
    legacy = parse_chain(json.dumps(stored))
    assert legacy.convention is ChainConvention.TEXT
    assert legacy.terminating_hash == text.terminating_hash
    round_hash = legacy.round_hash(7)
    assert sha256_hex(round_hash) == legacy.round_hash(6)
    assert legacy.point(7) == crash_point(round_hash, DEFAULT_SALT, ChainConvention.TEXT)
    assert legacy.locate(round_hash)[0] == 7
    fresh = parse_chain(chain_json(HashChain("new", 20, 5), DEFAULT_SALT))
    assert fresh.convention is ChainConvention.BYTES
    assert fresh.public()["convention"] == "bytes"
