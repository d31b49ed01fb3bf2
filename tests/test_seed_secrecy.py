"""The active server seed stays secret while anything is open on its pair.

Each attack here is one a player who wants a certain win would try: open a
step game, rotate the seed pair so that its server seed is revealed, recompute
the game's hidden outcome and play it out. Rotation is refused while a game is
open on the pair, over the WebSocket and over HTTP, and no reply, event or log
line carries an unrevealed server seed.
"""

import asyncio
import secrets
from collections import defaultdict
from typing import Any

import httpx
from redis.asyncio import Redis

from server.audit import audit_user
from server.wallet import UserKeys
from tests.servers import ServerProcess
from tests.wsclient import ReplyError, WsClient, new_guest


async def rotate_over_ws(client: WsClient) -> dict[str, Any]:
    return await client.request("seeds.rotate")


async def rotate_over_http(http: httpx.AsyncClient, base_url: str, token: str) -> httpx.Response:
    return await http.post(
        f"{base_url}/api/fairness/rotate",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )


async def assert_rotation_refused(
    client: WsClient, http: httpx.AsyncClient, server: ServerProcess, token: str
) -> None:
    try:
        revealed = await rotate_over_ws(client)
    except ReplyError as refused:
        assert refused.code == "GAME_ACTIVE", refused.error
    else:
        raise AssertionError(f"rotation revealed a seed in use: {revealed}")
    response = await rotate_over_http(http, server.base_url, token)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "GAME_ACTIVE"


async def play_out(client: WsClient, op: str, **params: Any) -> None:
    """Repeat `op` until the game is over (a loss, or the game's own end)."""
    for _ in range(100):
        reply = await client.request(op, **params)
        if reply["state"]["state"] != "active":
            return
    raise AssertionError(f"{op} never ended the game")


async def board_from_verify(
    http: httpx.AsyncClient, base_url: str, revealed: dict[str, Any], mines: int
) -> list[int]:
    response = await http.post(
        f"{base_url}/api/fairness/verify",
        json={
            "game": "mines",
            "server_seed": revealed["server_seed"],
            "client_seed": revealed["client_seed"],
            "nonce": revealed["nonce"] - 1,
            "params": {"mines": mines},
        },
    )
    response.raise_for_status()
    board: list[int] = response.json()["outcome"]["mines"]
    return board


async def test_mines_with_24_mines_cannot_be_won_by_rotating_the_seed(
    server: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        await client.request(
            "mines.start", amount=1_000, currency="PLAY", mines=24, key=secrets.token_hex(6)
        )
        # The attack: rotate, recompute the board from the revealed seed, reveal the safe tile.
        await assert_rotation_refused(client, http, server, token)
        # Once the game is over the pair can be rotated, and the board it reveals is the one played.
        lost = await client.request("mines.reveal", tile=0)
        if lost["state"]["state"] == "active":  # tile 0 was the one safe tile: cash out
            lost = await client.request("mines.cashout")
        rotated = await rotate_over_ws(client)
        board = await board_from_verify(http, server.base_url, rotated["revealed"], 24)
        assert sorted(board) == sorted(lost["state"]["mines"])
    finally:
        await client.close()
    audit = await audit_user(redis, user["id"])
    assert audit.ok and audit.open_bets == [], audit.problems


async def test_hilo_and_quiz_in_progress_refuse_rotation(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        await client.request("hilo.start", amount=1_000, currency="PLAY", key=secrets.token_hex(6))
        await assert_rotation_refused(client, http, server, token)
        await client.request("hilo.guess", guess="skip")
        await assert_rotation_refused(client, http, server, token)
        await play_out(client, "hilo.guess", guess="higher_or_same")
        await client.request("quiz.start", amount=1_000, currency="PLAY", key=secrets.token_hex(6))
        await assert_rotation_refused(client, http, server, token)
        await play_out(client, "quiz.answer", choice=0)
        assert (await rotate_over_ws(client))["revealed"] is not None
    finally:
        await client.close()


async def test_rotation_racing_bets_on_two_instances_never_settles_on_a_revealed_pair(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    """Four tabs on two instances bet while two of them rotate: every bet uses a nonce
    of its pair once, below the nonce at which that pair was revealed."""
    token, user = await new_guest(http, server.base_url)
    tabs = [
        await WsClient.open(instance.ws_url, token)
        for instance in (server, server_b, server, server_b)
    ]

    async def bettor(tab: WsClient, count: int) -> list[dict[str, Any]]:
        placed = []
        for _ in range(count):
            placed.append(
                await tab.request(
                    "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                    params={"target": "50.5", "condition": "under"},
                )
            )  # fmt: skip
        return placed

    async def rotator(tab: WsClient, count: int) -> int:
        done = 0
        for _ in range(count):
            await tab.request("seeds.rotate")
            done += 1
            await asyncio.sleep(0.005)
        return done

    try:
        results = await asyncio.gather(
            *(bettor(tab, 60) for tab in tabs), rotator(tabs[0], 15), rotator(tabs[1], 15)
        )
    finally:
        for tab in tabs:
            await tab.close()
    bets = [bet for placed in results[:4] for bet in placed]
    assert results[4] == results[5] == 15
    revealed = await redis.hgetall(UserKeys(user["id"]).revealed_seeds)
    nonces: dict[str, list[int]] = defaultdict(list)
    for bet in bets:
        nonces[bet["server_seed_hash"]].append(bet["nonce"])
    for seed_hash, used in nonces.items():
        assert sorted(used) == list(range(len(used))), f"nonces of {seed_hash}: {sorted(used)}"
        if seed_hash in revealed:
            revealed_at_nonce = int(
                revealed[seed_hash].split('"nonce":')[1].split(",")[0].strip("}")
            )
            assert len(used) == revealed_at_nonce, "a bet was placed on a revealed pair"
    audit = await audit_user(redis, user["id"])
    assert audit.ok and audit.open_bets == [], audit.problems


async def test_no_reply_event_or_log_line_carries_an_unrevealed_server_seed(
    server: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    """Play every kind of game and read every path a seed could leak through:
    replies, events, history (WebSocket and HTTP), verify, errors, the server log."""
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    seen: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def call(op: str, **params: Any) -> None:
        seen.append(repr(await client.call(op, **params)))

    try:
        await call("seeds")
        await call(
            "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
            params={"target": "50.5", "condition": "under"},
        )  # fmt: skip
        await call("bet", game="limbo", amount=10, currency="PLAY", key="x" * 129)  # bad key
        await call("mines.start", amount=10, currency="PLAY", mines=3, key=secrets.token_hex(6))
        await call("mines.active")
        await call("mines.reveal", tile=99)  # out of range: an error
        await call("hilo.start", amount=10, currency="PLAY", key=secrets.token_hex(6))
        await call("hilo.guess", guess="skip")
        await call("hilo.guess", guess="higher_or_same")
        await call("quiz.start", amount=10, currency="PLAY", key=secrets.token_hex(6))
        await call("quiz.active")
        await call("seeds.rotate")  # refused: games are open
        await call("bets", limit=100)
        await call("transactions", limit=100)
        for path in ("/api/bets?limit=100", "/api/fairness/seeds", "/api/transactions"):
            seen.append((await http.get(server.base_url + path, headers=headers)).text)
        await asyncio.sleep(0.2)
        while not client.events.empty():
            seen.append(repr(client.events.get_nowait()))
    finally:
        await client.close()
    active_seed = await redis.hget(UserKeys(user["id"]).seeds, "server_seed")
    assert active_seed
    for text in [*seen, server.log_text()]:
        assert active_seed not in text
