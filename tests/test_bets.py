"""Instant-game bets over real WebSockets: flow, fairness, limits, concurrency, replays."""

import asyncio
import json
import math
import random
import secrets
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from games.base import payout
from games.fairness import floats, hash_server_seed
from games.instant import INSTANT_GAMES
from loadtest.games import dice_params, keno_params, limbo_params, plinko_params
from server.audit import audit_user
from server.bets.live import LIVE_FEED_KEY, LIVE_FEED_SIZE
from tests.servers import ServerProcess
from tests.wsclient import ReplyError, WsClient, new_guest

PARAMS = {
    "dice": {"target": 50.5, "condition": "over"},
    "limbo": {"target": "2.50"},
    "plinko": {"rows": 12, "risk": "medium"},
    "keno": {"picks": [3, 9, 14, 22, 31], "risk": "classic"},
}


@pytest.fixture
async def player(server: ServerProcess, http: httpx.AsyncClient) -> AsyncIterator[WsClient]:
    token, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    yield client
    await client.close()


async def bet(client: WsClient, game: str, amount: int = 100, **extra: Any) -> dict[str, Any]:
    request = {"game": game, "amount": amount, "currency": "PLAY", "params": PARAMS[game]}
    request.update(extra)
    request.setdefault("key", secrets.token_hex(8))
    return await client.request("bet", **request)


@pytest.mark.parametrize("game", sorted(PARAMS))
async def test_each_game_settles_through_the_wallet(player: WsClient, game: str) -> None:
    record = await bet(player, game, amount=1_000)
    assert record["game"] == game and record["amount"] == 1_000
    assert record["payout"] == payout(1_000, Decimal(record["multiplier"]))
    assert record["balance"] == 100_000 - 1_000 + record["payout"]
    assert record["nonce"] == 0 and len(record["server_seed_hash"]) == 64
    assert "server_seed" not in record
    final_version = 3 if record["payout"] else 2  # signup, bet, win
    assert await player.wait_balance_version("PLAY", final_version) == record["balance"]
    page = await player.request("transactions", limit=3)
    types = [entry["type"] for entry in page["items"]]
    assert types == (["win", "bet", "deposit"] if record["payout"] else ["bet", "deposit"])
    assert page["items"][types.index("bet")]["status"] == "settled"


async def test_a_bet_is_one_balance_change_with_one_event(player: WsClient) -> None:
    """Stake and payout move together: one event per bet, its version past both entries."""

    async def changes() -> AsyncIterator[dict[str, Any]]:
        while True:
            event = await player.next_event("balance")
            if event["data"]["reason"]["type"] != "snapshot":
                yield event["data"]

    version, wins, seen = 1, 0, changes()
    for _ in range(20):
        record = await bet(player, "dice", amount=100)
        entries = 2 if record["payout"] else 1
        wins += record["payout"] > 0
        change = await anext(seen)
        assert change["version"] == version + entries and change["balance"] == record["balance"]
        assert change["reason"] == {"type": "bet", "game": "dice", "ref": str(record["id"])}
        version += entries
    assert 0 < wins < 20, "both a win and a loss were seen"
    await player.request("transactions", limit=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await anext(seen)


async def test_outcomes_follow_the_published_formula(player: WsClient) -> None:
    """Rotate to reveal the seed, then recompute every bet from first principles."""
    placed = [await bet(player, "dice", amount=10) for _ in range(5)]
    revealed = (await player.request("seeds.rotate"))["revealed"]
    seed = revealed["server_seed"]
    assert hash_server_seed(seed) == placed[0]["server_seed_hash"] == revealed["server_seed_hash"]
    assert revealed["nonce"] == 5
    for nonce, record in enumerate(placed):
        assert record["nonce"] == nonce
        [value] = floats(seed, record["client_seed"], nonce, 1)
        roll = math.floor(value * 10001)
        assert record["outcome"]["roll"] == f"{roll // 100}.{roll % 100:02d}"
        won = roll > 5050
        assert record["multiplier"] == ("2.0000" if won else "0")
    history = await player.request("bets", limit=5, game="dice")
    assert [item["server_seed"] for item in history["items"]] == [seed] * 5


async def test_verify_endpoint_matches_played_bets(
    server: ServerProcess, http: httpx.AsyncClient, player: WsClient
) -> None:
    placed = [await bet(player, game) for game in sorted(PARAMS)]
    revealed = (await player.request("seeds.rotate", client_seed="my-own-seed"))["revealed"]
    for record in placed:
        response = await http.post(
            f"{server.base_url}/api/fairness/verify",
            json={
                "game": record["game"],
                "server_seed": revealed["server_seed"],
                "client_seed": record["client_seed"],
                "nonce": record["nonce"],
                "params": record["params"],
            },
        )
        assert response.status_code == 200
        check = response.json()
        assert check["multiplier"] == record["multiplier"]
        assert check["outcome"] == record["outcome"]
        assert check["server_seed_hash"] == record["server_seed_hash"]
    active = (await player.request("seeds"))["active"]
    assert active["client_seed"] == "my-own-seed" and active["nonce"] == 0
    assert active["server_seed_hash"] != revealed["server_seed_hash"]


async def test_a_retried_bet_key_plays_once_and_replays_the_first_reply(
    player: WsClient,
) -> None:
    first = await bet(player, "limbo", key="retry-me")
    await bet(player, "dice", amount=1_000)  # the balance moves on
    again = await bet(player, "limbo", key="retry-me")
    assert again == first, "a replay returns exactly the first reply, balance included"
    with pytest.raises(ReplyError) as conflict:
        await bet(player, "limbo", amount=101, key="retry-me")
    assert conflict.value.code == "IDEMPOTENCY_CONFLICT"
    assert (await player.request("seeds"))["active"]["nonce"] == 2


BAD_BETS = [
    ("dice", {"target": 50, "condition": "sideways"}, "params.condition"),
    ("dice", {"target": 1.99, "condition": "over"}, "params"),  # chance 98.01%
    ("dice", {"target": 0, "condition": "under"}, "params"),
    ("dice", {"target": "50.123", "condition": "under"}, "params.target"),
    ("dice", {"target": True, "condition": "under"}, "params.target"),
    ("dice", {"condition": "under"}, "params.target"),
    ("limbo", {"target": "1.00"}, "params.target"),
    ("limbo", {"target": 1_000_000.01}, "params.target"),
    ("plinko", {"rows": 7, "risk": "low"}, "params.rows"),
    ("plinko", {"rows": 17, "risk": "low"}, "params.rows"),
    ("plinko", {"rows": 8, "risk": "extreme"}, "params.risk"),
    ("plinko", {"rows": "8", "risk": "low"}, "params.rows"),
    ("keno", {"picks": [], "risk": "low"}, "params.picks"),
    ("keno", {"picks": list(range(1, 12)), "risk": "low"}, "params.picks"),
    ("keno", {"picks": [4, 4], "risk": "low"}, "params.picks"),
    ("keno", {"picks": [0, 41], "risk": "low"}, "params.picks"),
    ("keno", {"picks": [1], "risk": "wild"}, "params.risk"),
    ("keno", {"picks": [1], "risk": "low", "extra": 1}, "params.extra"),
]


@pytest.mark.parametrize(("game", "params", "field"), BAD_BETS)
async def test_bad_params_are_refused_and_change_nothing(
    player: WsClient, game: str, params: dict[str, Any], field: str
) -> None:
    before = await player.request("wallet")
    reply = await player.call(
        "bet", game=game, amount=100, currency="PLAY", params=params, key="bad"
    )
    assert reply["ok"] is False and reply["error"]["code"] == "BAD_REQUEST"
    assert reply["error"]["field"].startswith(field), reply["error"]
    assert await player.request("wallet") == before
    assert (await player.request("seeds"))["active"]["nonce"] == 0


BAD_REQUESTS = [
    ({"amount": 0}, "INVALID_AMOUNT"),
    ({"amount": -100}, "INVALID_AMOUNT"),
    ({"amount": 10.5}, "INVALID_AMOUNT"),
    ({"amount": "100"}, "INVALID_AMOUNT"),
    ({"amount": 2**60}, "INVALID_AMOUNT"),
    ({"currency": "EUR"}, "UNKNOWN_CURRENCY"),
    ({"currency": "BTC", "amount": 99}, "LIMIT_EXCEEDED"),  # below the BTC minimum bet
    ({"currency": "BTC", "amount": 1_000}, "INSUFFICIENT_FUNDS"),
    ({"amount": 100_001}, "INSUFFICIENT_FUNDS"),
    ({"amount": 100_000_001}, "LIMIT_EXCEEDED"),  # above the maximum bet
    ({"game": "roulette"}, "BAD_REQUEST"),
    ({"key": "no spaces please"}, "BAD_REQUEST"),
    ({"user": "someone-else"}, "BAD_REQUEST"),
    ({"multiplier": "1000"}, "BAD_REQUEST"),
]


@pytest.mark.parametrize(("change", "code"), BAD_REQUESTS)
async def test_bad_bets_get_their_code_and_change_nothing(
    player: WsClient, change: dict[str, Any], code: str
) -> None:
    before = await player.request("wallet")
    request = {"game": "dice", "amount": 100, "currency": "PLAY", "params": PARAMS["dice"]}
    reply = await player.call("bet", **{**request, "key": "k1", **change})
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    assert await player.request("wallet") == before


async def test_a_bet_that_could_pay_past_the_limit_is_refused(player: WsClient) -> None:
    reply = await player.call(
        "bet", game="limbo", amount=100_000, currency="PLAY",
        params={"target": "999999"}, key="moon",
    )  # fmt: skip
    assert reply["error"]["code"] == "LIMIT_EXCEEDED"


async def test_exact_balance_bet(player: WsClient) -> None:
    record = await bet(player, "dice", amount=100_000)
    assert record["balance"] == record["payout"]


async def test_parallel_bets_from_tabs_on_two_instances_are_exact(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    token, user = await new_guest(http, server.base_url)
    tabs = [await WsClient.open(s.ws_url, token) for s in (server, server_b, server, server_b)]
    games = sorted(PARAMS)
    try:

        async def tab_bets(index: int, tab: WsClient) -> list[dict[str, Any]]:
            records = []
            for round_ in range(40):
                reply = await tab.call(
                    "bet", game=games[(index + round_) % 4], amount=150, currency="PLAY",
                    params=PARAMS[games[(index + round_) % 4]], key=f"t{index}-{round_}",
                )  # fmt: skip
                if reply["ok"]:
                    records.append(reply["data"])
                else:
                    assert reply["error"]["code"] == "INSUFFICIENT_FUNDS"
            return records

        results = await asyncio.gather(*(tab_bets(i, tab) for i, tab in enumerate(tabs)))
        records = [record for tab_records in results for record in tab_records]
        expected = 100_000 + sum(record["payout"] - record["amount"] for record in records)
        audit = await audit_user(redis, user["id"])
        assert audit.ok, audit.problems
        assert audit.open_bets == [] and audit.stored == {"PLAY": expected}
        assert sorted(record["nonce"] for record in records) == list(range(len(records)))
        for tab in tabs:
            assert await tab.wait_balance_version("PLAY", audit.version) == expected
    finally:
        for tab in tabs:
            await tab.close()


PARAMS_OF: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "dice": dice_params,
    "limbo": limbo_params,
    "plinko": plinko_params,
    "keno": keno_params,
}


def computed_by_the_game(record: dict[str, Any], server_seed: str) -> tuple[Decimal, Any]:
    """The multiplier and outcome the game module computes for a settled bet's seeds."""
    game = INSTANT_GAMES[record["game"]]
    params = game.params_model.model_validate(record["params"])
    needed = game.floats_needed(params)
    outcome = game.play(params, floats(server_seed, record["client_seed"], record["nonce"], needed))
    return outcome.multiplier, json.loads(json.dumps(outcome.details, default=str))


async def test_every_bet_pays_what_the_game_computes_from_its_seeds(
    redis_url: str, redis: Redis, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """The server pays exactly what the game module computes, bet by bet.

    400 bets of the four instant games with random params, on two seed pairs;
    once each pair is revealed, every bet is recomputed by the game module
    (games/) from its seeds and nonce, and its multiplier, outcome and payout,
    the nonces, the balances and the ledger must all agree exactly. This fails
    for any server-side change to what a bet pays (a wrong multiplier or edge,
    rounding, a payout credited twice), a nonce reused or skipped, or a bet played
    on the wrong pair. The games' own return to player (99%) is proven exactly by
    the enumerations of tests/test_game_*.py, not here: a statistical bound on a
    few thousand bets would let any return from 0.88 to 1.10 pass.
    """
    process = await ServerProcess(
        log_dir, REDIS_URL=redis_url, CROUPIER_RATE_LIMIT_PER_S="100000",
        CROUPIER_RATE_LIMIT_BURST="100000",
    ).start()  # fmt: skip
    rng = random.Random(12)
    try:
        token, user = await new_guest(http, process.base_url)
        client = await WsClient.open(process.ws_url, token)
        balance, wins = 100_000, 0
        for pair in range(2):
            placed = []
            for i in range(200):
                game = rng.choice(sorted(PARAMS_OF))
                record = await client.request(
                    "bet", game=game, amount=100, currency="PLAY",
                    params=PARAMS_OF[game](rng), key=f"pair{pair}-{i}",
                )  # fmt: skip
                balance += record["payout"] - 100
                wins += record["payout"] > 0
                assert record["balance"] == balance
                placed.append(record)
            revealed = (await client.request("seeds.rotate"))["revealed"]
            assert revealed["nonce"] == len(placed)
            for nonce, record in enumerate(placed):
                assert record["nonce"] == nonce
                assert record["server_seed_hash"] == revealed["server_seed_hash"]
                multiplier, details = computed_by_the_game(record, revealed["server_seed"])
                assert Decimal(record["multiplier"]) == multiplier, record
                assert record["outcome"] == details, record
                assert record["payout"] == payout(100, multiplier), record
        await client.close()
    finally:
        await process.stop()
    audit = await audit_user(redis, user["id"])
    assert audit.ok and audit.stored == {"PLAY": balance}, audit.problems
    assert audit.entries == 1 + 400 + wins  # the signup deposit, each bet, each win


async def test_a_new_socket_is_greeted_with_the_newest_bets(
    server: ServerProcess, server_b: ServerProcess, redis: Redis, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, server.base_url)
    player = await WsClient.open(server.ws_url, token)
    try:
        await bet(player, "limbo", amount=654)
        async with asyncio.timeout(10):  # the feed stores what it publishes
            while not any(
                json.loads(item)["user"] == user["name"]
                for item in await redis.lrange(LIVE_FEED_KEY, 0, -1)
            ):
                await asyncio.sleep(0.1)
        newcomer = await WsClient.open(server_b.ws_url)  # another instance, not signed in
        try:
            greeting = await newcomer.next_event("bets.live", timeout=2)
        finally:
            await newcomer.close()
        mine = [item for item in greeting["data"]["bets"] if item["user"] == user["name"]]
        assert [(item["game"], item["amount"]) for item in mine] == [("limbo", 654)]
        assert len(greeting["data"]["bets"]) <= LIVE_FEED_SIZE
    finally:
        await player.close()


async def test_live_bets_feed_reaches_other_players(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient
) -> None:
    watcher = await WsClient.open(server_b.ws_url)  # not even signed in
    token, user = await new_guest(http, server.base_url)
    player = await WsClient.open(server.ws_url, token)
    try:
        await bet(player, "keno", amount=321)
        mine: list[dict[str, Any]] = []
        while not mine:  # the first may be the greeting, from before this bet
            event = await watcher.next_event("bets.live")
            mine = [item for item in event["data"]["bets"] if item["user"] == user["name"]]
        assert mine[0]["amount"] == 321 and mine[0]["game"] == "keno"
        assert set(mine[0]) == {
            "ref",
            "user",
            "game",
            "amount",
            "currency",
            "multiplier",
            "payout",
            "time",
        }
    finally:
        await watcher.close()
        await player.close()


async def test_a_live_feed_bet_is_found_by_its_reference_which_does_not_reveal_the_user(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        placed = await client.request(
            "bet", game="dice", amount=100, currency="PLAY", key=secrets.token_hex(8),
            params={"target": "50.50", "condition": "over"},
        )  # fmt: skip
        item = None
        while item is None:
            feed = (await client.next_event("bets.live"))["data"]["bets"]
            item = next((bet for bet in feed if bet["user"] == user["name"]), None)
    finally:
        await client.close()
    ref = item["ref"]
    assert user["id"] not in ref and ref.startswith(f"{placed['id']}.")
    found = (await http.get(f"{server.base_url}/api/bets/public/{ref}")).json()
    assert {key: found[key] for key in ("id", "game", "amount", "payout", "nonce")} == {
        key: placed[key] for key in ("id", "game", "amount", "payout", "nonce")
    }
    assert "balance" not in found and found["server_seed"] is None, "nothing private, no seed"
    sealed = ref.partition(".")[2]
    flipped = sealed[:-1] + ("A" if sealed[-1] != "A" else "B")
    for forged in (
        f"{placed['id']}.{flipped}",  # another user id
        f"{placed['id'] + 1}.{sealed}",  # another bet: the pad differs, no account id opens
        "1.AAAAAAAAAAAAAAAAAAAAAA",
        "x",
        f"{placed['id']}.{'A' * 200}",
    ):
        response = await http.get(f"{server.base_url}/api/bets/public/{forged}")
        assert response.status_code == 404, forged
        assert response.json()["error"]["code"] == "NOT_FOUND"
