"""Mines, HiLo and Quiz over real WebSockets: play, resume, races, timeouts, bad input."""

import asyncio
import hashlib
import json
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from games.base import payout
from games.fairness import floats
from games.hilo import MAX_CARDS, Guess, card_from_float, step_multiplier
from games.mines import mine_positions, payout_multiplier
from games.states import floor_decimal
from server.audit import audit_user
from server.bets.service import OPEN_BET_HELPERS
from server.wallet import UserKeys
from server.wallet.scripts import script_source
from tests.servers import ServerProcess
from tests.wsclient import ReplyError, WsClient, new_guest

STEPPED = Path(__file__).parent.parent / "server" / "stepped"


@pytest.fixture
async def account(server: ServerProcess, http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    return await new_guest(http, server.base_url)


@pytest.fixture
async def player(server: ServerProcess, account: tuple[str, Any]) -> AsyncIterator[WsClient]:
    client = await WsClient.open(server.ws_url, account[0])
    yield client
    await client.close()


DICE = {
    "game": "dice",
    "amount": 10,
    "currency": "PLAY",
    "params": {"target": "50.50", "condition": "over"},
}


@pytest.fixture
async def two_tabs(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient
) -> AsyncIterator[tuple[dict[str, Any], WsClient, WsClient]]:
    """A new player with one tab on each of two instances: (user, tab A, tab B)."""
    token, user = await new_guest(http, server.base_url)
    a, b = await WsClient.open(server.ws_url, token), await WsClient.open(server_b.ws_url, token)
    yield user, a, b
    await a.close()
    await b.close()


async def secret_state(redis: Redis, user_id: str, game: str) -> dict[str, Any]:
    """The server-side state of a game in progress (the test may peek; players may not)."""
    state: dict[str, Any] = json.loads(await redis.hget(UserKeys(user_id).games, game))
    return state


def mines_of(state: dict[str, Any], mines: int) -> set[int]:
    drawn = floats(state["server_seed"], state["client_seed"], state["nonce"], mines)
    return set(mine_positions(drawn, mines))


async def start_mines(client: WsClient, mines: int = 3, amount: int = 1_000) -> dict[str, Any]:
    return await client.request(
        "mines.start", amount=amount, currency="PLAY", mines=mines, key=secrets.token_hex(6)
    )


async def test_mines_cashout_pays_the_published_multiplier(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    started = await start_mines(player, mines=3)
    assert started["state"]["state"] == "active" and started["state"]["mines"] is None
    mines = mines_of(await secret_state(redis, account[1]["id"], "mines"), 3)
    safe = [tile for tile in range(25) if tile not in mines][:4]
    for tile in safe:
        reveal = await player.request("mines.reveal", tile=tile)
        assert reveal["result"] == {"tile": tile, "result": "safe"}
    cashed = await player.request("mines.cashout")
    expected = payout(1_000, payout_multiplier(3, 4))
    assert cashed["bet"]["payout"] == expected and cashed["state"]["state"] == "cashed"
    assert set(cashed["state"]["mines"]) == mines
    assert cashed["balance"] == 100_000 - 1_000 + expected
    audit = await audit_user(redis, account[1]["id"])
    assert audit.ok and audit.open_bets == [], audit.problems


async def test_mines_hit_loses_and_reveals_the_board(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    await start_mines(player, mines=5)
    mines = mines_of(await secret_state(redis, account[1]["id"], "mines"), 5)
    hit = await player.request("mines.reveal", tile=min(mines))
    assert hit["state"]["state"] == "lost" and hit["bet"]["payout"] == 0
    assert set(hit["state"]["mines"]) == mines and hit["balance"] == 99_000
    with pytest.raises(ReplyError) as over:
        await player.request("mines.cashout")
    assert over.value.code == "GAME_NOT_ACTIVE"


async def test_clearing_every_safe_tile_cashes_out(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    await start_mines(player, mines=24, amount=100)
    mines = mines_of(await secret_state(redis, account[1]["id"], "mines"), 24)
    [safe] = [tile for tile in range(25) if tile not in mines]
    done = await player.request("mines.reveal", tile=safe)
    assert done["state"]["state"] == "cashed"
    assert done["bet"]["payout"] == payout(100, payout_multiplier(24, 1)) == 2_475


BAD_MINES = [
    ("mines.start", {"amount": 100, "currency": "PLAY", "mines": 0, "key": "a"}, "BAD_REQUEST"),
    ("mines.start", {"amount": 100, "currency": "PLAY", "mines": 25, "key": "b"}, "BAD_REQUEST"),
    ("mines.start", {"amount": 100, "currency": "PLAY", "key": "c"}, "BAD_REQUEST"),
    ("mines.start", {"amount": 0, "currency": "PLAY", "mines": 3, "key": "d"}, "INVALID_AMOUNT"),
    ("mines.start", {"amount": 200_000, "currency": "PLAY", "mines": 3, "key": "e"},
     "INSUFFICIENT_FUNDS"),
    ("mines.reveal", {"tile": 3}, "GAME_NOT_ACTIVE"),
    ("mines.cashout", {}, "GAME_NOT_ACTIVE"),
    ("hilo.guess", {"guess": "skip"}, "GAME_NOT_ACTIVE"),
    ("quiz.answer", {"choice": 1}, "GAME_NOT_ACTIVE"),
    ("quiz.cashout", {}, "GAME_NOT_ACTIVE"),
]  # fmt: skip


@pytest.mark.parametrize(("op", "params", "code"), BAD_MINES)
async def test_bad_starts_and_actions_without_a_game(
    player: WsClient, op: str, params: dict[str, Any], code: str
) -> None:
    before = await player.request("wallet")
    reply = await player.call(op, **params)
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    assert await player.request("wallet") == before


@pytest.mark.parametrize(
    "params", [{"tile": 25}, {"tile": -1}, {"tile": "3"}, {"tile": 2.0}, {}, {"tile": 1, "x": 1}]
)
async def test_bad_reveals_leave_the_game_and_balance_alone(
    player: WsClient, params: dict[str, Any]
) -> None:
    started = await start_mines(player)
    reply = await player.call("mines.reveal", **params)
    assert reply["error"]["code"] == "BAD_REQUEST"
    active = await player.request("mines.active")
    assert active["state"] == started["state"]
    assert (await player.request("wallet"))["balances"]["PLAY"] == 99_000


async def test_revealing_twice_and_early_cashout_are_refused(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    await start_mines(player, mines=1)
    early = await player.call("mines.cashout")
    assert early["error"]["code"] == "BAD_REQUEST"
    mines = mines_of(await secret_state(redis, account[1]["id"], "mines"), 1)
    tile = next(t for t in range(25) if t not in mines)
    await player.request("mines.reveal", tile=tile)
    again = await player.call("mines.reveal", tile=tile)
    assert again["error"]["code"] == "BAD_REQUEST"
    assert (await player.request("mines.active"))["state"]["revealed"] == [tile]
    second = await player.call(
        "mines.start", amount=100, currency="PLAY", mines=2, key="second-game"
    )
    assert second["error"]["code"] == "GAME_ACTIVE"


async def test_game_resumes_in_another_tab_and_after_a_restart(
    redis_url: str, log_dir: Path, http: httpx.AsyncClient, redis: Redis
) -> None:
    process = await ServerProcess(log_dir, REDIS_URL=redis_url).start()
    token, user = await new_guest(http, process.base_url)
    first = await WsClient.open(process.ws_url, token)
    watcher = await WsClient.open(process.ws_url, token)
    try:
        started = await start_mines(first, mines=2)
        mines = mines_of(await secret_state(redis, user["id"], "mines"), 2)
        safe = [tile for tile in range(25) if tile not in mines]
        await first.request("mines.reveal", tile=safe[0])
        seen = await watcher.next_event("game.state")
        while seen["data"]["state"]["revealed"] != [safe[0]]:
            seen = await watcher.next_event("game.state")
        assert seen["data"]["bet_id"] == started["bet_id"]
        resumed = await watcher.request("mines.active")
        assert resumed["state"]["revealed"] == [safe[0]] and resumed["bet_id"] == started["bet_id"]
    finally:
        await first.close()
        await watcher.close()
    await process.stop()
    await process.start()  # same port, same Redis
    client = await WsClient.open(process.ws_url, token)
    try:
        resumed = await client.request("mines.active")
        assert resumed["state"]["revealed"] == [safe[0]]
        await client.request("mines.reveal", tile=safe[1])
        cashed = await client.request("mines.cashout")
        assert cashed["bet"]["payout"] == payout(1_000, payout_multiplier(2, 2))
    finally:
        await client.close()
        await process.stop()


async def test_cashout_racing_a_reveal_from_two_tabs_ends_once(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    token, user = await new_guest(http, server.base_url)
    tab_a = await WsClient.open(server.ws_url, token)
    tab_b = await WsClient.open(server_b.ws_url, token)
    try:
        for _ in range(15):
            await start_mines(tab_a, mines=3, amount=100)
            mines = mines_of(await secret_state(redis, user["id"], "mines"), 3)
            safe = [tile for tile in range(25) if tile not in mines]
            await tab_a.request("mines.reveal", tile=safe[0])
            reveal, cashout = await asyncio.gather(
                tab_a.call("mines.reveal", tile=safe[1]), tab_b.call("mines.cashout")
            )
            assert cashout["ok"], cashout  # the cashout always applies (before or after)
            record = cashout["data"]["bet"]
            if reveal["ok"]:  # the reveal came first: cashed out after two reveals
                assert record["payout"] == payout(100, payout_multiplier(3, 2))
            else:  # the cashout came first; the reveal found the game over
                assert reveal["error"]["code"] == "GAME_NOT_ACTIVE"
                assert record["payout"] == payout(100, payout_multiplier(3, 1))
        audit = await audit_user(redis, user["id"])
        assert audit.ok and audit.open_bets == [], audit.problems
        assert audit.version == 1 + 15 * 2  # signup, then one bet and one win per game
    finally:
        await tab_a.close()
        await tab_b.close()


async def test_hilo_pays_the_compounded_multiplier(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    started = await player.request("hilo.start", amount=1_000, currency="PLAY", key="h1")
    state = await secret_state(redis, account[1]["id"], "hilo")
    cards = [int(f * 52) // 4 for f in floats(state["server_seed"], state["client_seed"],
                                              state["nonce"], 10)]  # fmt: skip
    assert started["state"]["cards"] == [started["state"]["cards"][0]]
    multiplier = Fraction(1)
    for step in range(3):  # always guess the likelier side, which may still lose
        rank, nxt = cards[step], cards[step + 1]
        guess = "higher_or_same" if rank <= 6 else "lower_or_same"
        reply = await player.request("hilo.guess", guess=guess)
        correct = nxt >= rank if guess == "higher_or_same" else nxt <= rank
        assert reply["result"]["result"] == ("correct" if correct else "wrong")
        if not correct:
            assert reply["bet"]["payout"] == 0
            return
        multiplier *= step_multiplier(Guess(guess), rank)
    cashed = await player.request("hilo.cashout")
    assert cashed["bet"]["payout"] == payout(1_000, floor_decimal(multiplier, 4))


async def test_hilo_cashout_needs_a_correct_guess(player: WsClient) -> None:
    await player.request("hilo.start", amount=100, currency="PLAY", key="h2")
    early = await player.call("hilo.cashout")
    assert early["error"]["code"] == "BAD_REQUEST"
    bad = await player.call("hilo.guess", guess="sideways")
    assert bad["error"]["code"] == "BAD_REQUEST" and bad["error"]["field"] == "guess"


async def test_hilo_skips_end_at_the_card_limit(
    player: WsClient,
    account: tuple[str, dict[str, Any]],
    redis: Redis,
    server: ServerProcess,
    http: httpx.AsyncClient,
) -> None:
    # The attack: skips (no risk, allowed by the rate limit) made a game, its
    # stored record and every reply grow without end. A game now draws at most
    # MAX_CARDS cards; the last one cashes out (the stake back after only skips).
    user_id = account[1]["id"]
    await player.request("hilo.start", amount=700, currency="PLAY", key="h-limit")
    state = await secret_state(redis, user_id, "hilo")
    for _ in range(MAX_CARDS - 2):
        reply = await player.call("hilo.guess", guess="skip")
        assert reply["data"]["state"]["state"] == "active"
    stored = await redis.hget(UserKeys(user_id).games, "hilo")
    assert len(stored) < 4_096
    last = await player.call("hilo.guess", guess="skip")
    assert len(json.dumps(last)) < 4_096
    ended = last["data"]
    assert ended["result"]["result"] == "skipped" and ended["result"]["card_limit"] is True
    assert ended["state"]["state"] == "cashed" and len(ended["state"]["cards"]) == MAX_CARDS
    assert ended["bet"]["payout"] == 700 and ended["balance"] == 100_000
    more = await player.call("hilo.guess", guess="skip")
    assert more["error"]["code"] == "GAME_NOT_ACTIVE"
    checked = await verify(http, server, state, "hilo", cards=MAX_CARDS)
    assert checked["outcome"] == {"cards": ended["state"]["cards"]}
    audit = await audit_user(redis, user_id)
    assert audit.ok and audit.open_bets == [], audit.problems


async def test_a_hilo_game_stored_by_the_previous_version_plays_on(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    # A game in progress while the server is upgraded: its record lists the moves only.
    user_id = account[1]["id"]
    await player.request("hilo.start", amount=300, currency="PLAY", key="h-upgrade")
    for _ in range(3):
        played = await player.request("hilo.guess", guess="skip")
    state = await secret_state(redis, user_id, "hilo")
    old = {key: state["record"][key] for key in ("server_seed", "client_seed", "nonce", "state")}
    await redis.hset(
        UserKeys(user_id).games,
        "hilo",
        json.dumps({**state, "record": {**old, "guesses": ["skip"] * 3}}),
    )
    resumed = await player.request("hilo.active")
    assert resumed["state"] == played["state"]
    moved = await player.request("hilo.guess", guess="skip")
    drawn = floats(state["server_seed"], state["client_seed"], state["nonce"], 5)
    assert moved["state"]["cards"][:4] == played["state"]["cards"]
    assert moved["result"]["card"] == card_from_float(drawn[4]).label
    stored = (await secret_state(redis, user_id, "hilo"))["record"]
    assert len(stored["cards"]) == 5  # written back in the current format


async def answer_right(client: WsClient, redis: Redis, user_id: str) -> dict[str, Any]:
    record = (await secret_state(redis, user_id, "quiz"))["record"]
    item = record["plan"][record["streak"]]
    return await client.request("quiz.answer", choice=item["order"].index(0))


async def test_quiz_streak_and_cashout(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    started = await player.request("quiz.start", amount=1_000, currency="PLAY", key="q1")
    question = started["state"]["question"]
    assert len(question["answers"]) == 4 and question["number"] == 1
    assert "reveal" not in question and "correct" not in json.dumps(started)
    first = await answer_right(player, redis, account[1]["id"])
    assert first["result"]["event"] == "correct" and first["state"]["streak"] == 1
    second = await answer_right(player, redis, account[1]["id"])
    assert second["state"]["multiplier"] == "3.8"
    cashed = await player.request("quiz.cashout")
    assert cashed["bet"]["payout"] == 3_800 and cashed["balance"] == 100_000 - 1_000 + 3_800


async def test_quiz_wrong_answer_loses(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis
) -> None:
    await player.request("quiz.start", amount=500, currency="PLAY", key="q2")
    record = (await secret_state(redis, account[1]["id"], "quiz"))["record"]
    wrong = record["plan"][0]["order"].index(1)
    lost = await player.request("quiz.answer", choice=wrong)
    assert lost["state"]["state"] == "lost" and lost["bet"]["payout"] == 0
    assert lost["result"]["reveal"] == record["plan"][0]["order"].index(0)
    bad = await player.call("quiz.answer", choice=4)
    assert bad["error"]["code"] == "BAD_REQUEST"


async def test_quiz_question_times_out(
    redis_url: str, log_dir: Path, http: httpx.AsyncClient, redis: Redis
) -> None:
    """The instance that asked the question ends it (no full sweep runs meanwhile)."""
    process = await ServerProcess(
        log_dir,
        REDIS_URL=redis_url,
        CROUPIER_QUIZ_TIME_LIMIT_MS="1000",
        CROUPIER_SWEEP_FULL_PASS_S="3600",
    ).start()
    token, user = await new_guest(http, process.base_url)
    client = await WsClient.open(process.ws_url, token)
    try:
        await client.request("quiz.start", amount=100, currency="PLAY", key="slow")
        await answer_right(client, redis, user["id"])
        ended = await client.next_event("game.state", timeout=10)
        while ended["data"]["state"]["state"] == "active":
            ended = await client.next_event("game.state", timeout=10)
        assert ended["data"]["state"]["ended_by"] == "timeout"
        assert ended["data"]["bet"]["payout"] == 0
        late = await client.call("quiz.answer", choice=0)
        assert late["error"]["code"] == "GAME_NOT_ACTIVE"
        audit = await audit_user(redis, user["id"])
        assert audit.ok and audit.open_bets == [] and audit.stored == {"PLAY": 99_900}
    finally:
        await client.close()
        await process.stop()


async def verify(
    http: httpx.AsyncClient, server: ServerProcess, state: dict[str, Any], game: str, **params: Any
) -> dict[str, Any]:
    """POST /api/fairness/verify with the game's (peeked) seeds."""
    seeds = {key: state[key] for key in ("server_seed", "client_seed", "nonce")}
    body = {"game": game, **seeds, "params": params}
    response = await http.post(f"{server.base_url}/api/fairness/verify", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_verify_recomputes_what_the_seeds_decided_in_each_step_game(
    player: WsClient,
    account: tuple[str, dict[str, Any]],
    redis: Redis,
    server: ServerProcess,
    http: httpx.AsyncClient,
) -> None:
    user_id = account[1]["id"]
    await start_mines(player, mines=7)
    mines_state = await secret_state(redis, user_id, "mines")
    lost = await player.request("mines.reveal", tile=min(mines_of(mines_state, 7)))
    checked = await verify(http, server, mines_state, "mines", mines=7)
    assert checked["outcome"] == {"mines": sorted(lost["state"]["mines"])}
    assert checked["params"] == {"mines": 7}

    await player.request("hilo.start", amount=100, currency="PLAY", key="verify-hilo")
    hilo_state = await secret_state(redis, user_id, "hilo")
    for _ in range(4):
        shown = (await player.request("hilo.guess", guess="skip"))["state"]["cards"]
    checked = await verify(http, server, hilo_state, "hilo", cards=5)
    assert checked["outcome"] == {"cards": shown} and len(shown) == 5

    started = await player.request("quiz.start", amount=100, currency="PLAY", key="verify-quiz")
    quiz_state = await secret_state(redis, user_id, "quiz")
    [first, *rest] = (await verify(http, server, quiz_state, "quiz"))["outcome"]["questions"]
    assert first["answers"] == started["state"]["question"]["answers"]
    answered = await player.request("quiz.answer", choice=first["correct"])
    assert answered["result"]["event"] == "correct"
    assert rest[0]["answers"] == answered["state"]["question"]["answers"]


@pytest.mark.parametrize(
    ("game", "params", "field"),
    [("mines", {"mines": 25}, "params.mines"), ("hilo", {"cards": MAX_CARDS + 1}, "params.cards"),
     ("quiz", {"extra": 1}, "params.extra")],
)  # fmt: skip
async def test_verify_refuses_bad_step_game_params(
    server: ServerProcess, http: httpx.AsyncClient, game: str, params: dict[str, Any], field: str
) -> None:
    body = {"game": game, "server_seed": "ab" * 32, "client_seed": "c", "nonce": 0}
    response = await http.post(
        f"{server.base_url}/api/fairness/verify", json=body | {"params": params}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


async def test_settled_step_games_appear_in_the_live_feed(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient
) -> None:
    watcher = await WsClient.open(server_b.ws_url)  # another instance, not signed in
    token, user = await new_guest(http, server.base_url)
    player = await WsClient.open(server.ws_url, token)
    try:
        await start_mines(player, mines=24, amount=432)
        await player.request("mines.reveal", tile=0)  # 24 mines: this ends it either way
        await player.request("hilo.start", amount=433, currency="PLAY", key=secrets.token_hex(6))
        played = await player.request("hilo.guess", guess="higher_or_same")
        if played["state"]["state"] == "active":
            await player.request("hilo.cashout")
        seen: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(10):
            while set(seen) != {"mines", "hilo"}:
                event = await watcher.next_event("bets.live")
                for item in event["data"]["bets"]:
                    if item["user"] == user["name"]:
                        seen[item["game"]] = item
        assert seen["mines"]["amount"] == 432 and seen["hilo"]["amount"] == 433
    finally:
        await watcher.close()
        await player.close()


async def test_a_start_drawn_on_a_stale_pair_is_drawn_again_on_the_active_one(
    two_tabs: tuple[dict[str, Any], WsClient, WsClient], redis: Redis
) -> None:
    """A start is drawn from the seed pair and nonce the instance last saw, and one script
    checks them: instance B saw nonce 1, instance A took it since, so B's first draw is
    refused and B starts the game on nonce 2, its board drawn from that nonce. A rotation
    the instance did not see is caught the same way."""
    user, a, b = two_tabs
    assert (await b.request("bet", **DICE, key="b-0"))["nonce"] == 0  # B caches nonce 1
    assert (await a.request("bet", **DICE, key="a-1"))["nonce"] == 1
    started = await start_mines(b)
    assert started["nonce"] == 2
    state = await secret_state(redis, user["id"], "mines")
    record = state["record"]
    assert state["nonce"] == record["nonce"] == 2  # the board is drawn from nonce 2
    assert (record["server_seed"], record["client_seed"]) == (
        state["server_seed"],
        state["client_seed"],
    )
    await b.request("mines.reveal", tile=next(t for t in range(25) if t not in mines_of(state, 3)))
    await b.request("mines.cashout")
    rotated = await a.request("seeds.rotate")  # B still holds the old pair
    started = await start_mines(b)
    assert started["server_seed_hash"] == rotated["active"]["server_seed_hash"]
    assert started["nonce"] == 0
    audit = await audit_user(redis, user["id"])
    assert audit.ok, audit.problems


MONITORED = pytest.mark.single_node(
    "MONITOR watches one Redis; on a cluster the user's slot lives on one of several nodes"
)


SCRIPT_CALLS = ("FCALL", "EVALSHA")
"""How MONITOR shows a script call: FCALL croupier_<sha1> on Redis 7, EVALSHA <sha1> on 6.2."""


async def monitored(redis: Redis, redis_url: str, work: Callable[[], Awaitable[Any]]) -> list[str]:
    """The commands clients sent Redis while `work()` ran (MONITOR, from a thread), as
    text."""
    marker = f"end-of-work-{secrets.token_hex(4)}"
    seen: list[str] = []
    watching = threading.Event()

    def monitor() -> None:
        with SyncRedis.from_url(redis_url) as watcher, watcher.monitor() as commands:
            watching.set()
            for command in commands.listen():
                if command.get("client_type") != "lua":  # not the commands scripts ran
                    seen.append(command["command"])
                if marker in command["command"]:
                    return

    watch = threading.Thread(target=monitor)
    watch.start()
    try:
        assert await asyncio.to_thread(watching.wait, 10)
        await asyncio.sleep(0.2)  # MONITOR is on before the work
        await work()
    finally:
        await redis.echo(marker)
        await asyncio.to_thread(watch.join, 10)
    return seen


@MONITORED
async def test_a_start_is_one_script(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis, redis_url: str
) -> None:
    """Opening the bet and drawing the game take one script call (step_start), where
    they took two (an open, then the first step_update)."""
    _, user = account
    start_sha, update_sha = (
        hashlib.sha1(source.text.encode()).hexdigest()
        for source in (
            script_source(STEPPED / name, True, OPEN_BET_HELPERS)
            for name in ("step_start.lua", "step_update.lua")
        )
    )
    seen = await monitored(redis, redis_url, lambda: start_mines(player))
    calls = [line for line in seen if user["id"] in line and line.startswith(SCRIPT_CALLS)]
    assert sum(start_sha in line for line in calls) == 1, calls
    assert not any(update_sha in line for line in calls), calls


async def test_starts_racing_instant_bets_on_two_instances_use_every_nonce_once(
    two_tabs: tuple[dict[str, Any], WsClient, WsClient], redis: Redis
) -> None:
    """Mines games started on one instance while dice bets go on on another: each start
    and each bet takes its own nonce (the loser of a race draws again), none is skipped,
    and the money agrees with the ledger."""
    user, a, b = two_tabs

    async def bets() -> list[int]:
        return [(await a.request("bet", **DICE, key=f"race-{n}"))["nonce"] for n in range(40)]

    async def games() -> list[int]:
        nonces = []
        for _ in range(15):
            started = await start_mines(b, mines=1, amount=10)
            nonces.append(started["nonce"])
            played = await b.request("mines.reveal", tile=0)
            if played["state"]["state"] == "active":
                await b.request("mines.cashout")
        return nonces

    bet_nonces, game_nonces = await asyncio.gather(bets(), games())
    assert sorted(bet_nonces + game_nonces) == list(range(55))
    audit = await audit_user(redis, user["id"])
    assert audit.ok, audit.problems
    assert audit.open_bets == []


async def test_an_action_from_an_instance_whose_copy_of_the_game_is_old_sees_the_new_one(
    two_tabs: tuple[dict[str, Any], WsClient, WsClient], redis: Redis
) -> None:
    """Instance A started the game and keeps its state; a reveal made through instance B
    moves it on. A's cash-out, refused by A's old copy (no tile revealed there), is tried
    on the game as it is and pays the multiplier of the reveal made on B."""
    user, a, b = two_tabs
    await start_mines(a, mines=3, amount=1_000)
    state = await secret_state(redis, user["id"], "mines")
    safe = next(tile for tile in range(25) if tile not in mines_of(state, 3))
    revealed = await b.request("mines.reveal", tile=safe)
    cashed = await a.request("mines.cashout")
    assert cashed["result"] == {"cashed_out": True}
    multiplier = revealed["state"]["multiplier"]
    assert cashed["bet"]["multiplier"] == multiplier == str(payout_multiplier(3, 1))
    audit = await audit_user(redis, user["id"])
    assert audit.ok, audit.problems


@MONITORED
async def test_an_action_after_the_instances_own_write_reads_nothing_back(
    player: WsClient, account: tuple[str, dict[str, Any]], redis: Redis, redis_url: str
) -> None:
    """The instance that wrote the game's last state acts from it: a reveal after the
    start is one script and no read of the games hash."""
    _, user = account
    await start_mines(player)
    state = await secret_state(redis, user["id"], "mines")
    safe = next(tile for tile in range(25) if tile not in mines_of(state, 3))
    seen = await monitored(redis, redis_url, lambda: player.request("mines.reveal", tile=safe))
    games_key = UserKeys(user["id"]).games
    reads = [line for line in seen if games_key in line and not line.startswith(SCRIPT_CALLS)]
    scripts = [line for line in seen if games_key in line and line.startswith(SCRIPT_CALLS)]
    assert reads == [] and len(scripts) == 1, seen
