"""The WebSocket protocol against a real server: auth, replies, every error code."""

import asyncio
import base64
import json
import os
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.wallet import UserKeys
from tests.servers import ServerProcess
from tests.wsclient import WsClient, new_guest


async def next_reply(socket: ClientConnection) -> dict[str, Any]:
    """The next reply on a raw socket, skipping public events."""
    while True:
        message: dict[str, Any] = json.loads(await socket.recv())
        if "re" in message:
            return message


async def test_auth_sends_balances_before_the_reply(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, server.base_url)
    async with connect(server.ws_url) as socket:
        await socket.send(json.dumps({"op": "auth", "id": 1, "token": token}))
        own = []  # skip public events (Crash, live bets) that may come in between
        while len(own) < 3:
            message = json.loads(await socket.recv())
            if message.get("event") in (None, "balance"):
                own.append(message)
        *snapshots, reply = own
    assert snapshots == [
        {
            "event": "balance",
            "data": {
                "currency": currency, "balance": balance, "version": 1,
                "reason": {"type": "snapshot", "game": None, "ref": None},
            },
        }
        for currency, balance in (("BTC", 0), ("PLAY", 100_000))
    ], "one snapshot per configured currency"  # fmt: skip
    assert reply == {"re": 1, "ok": True, "data": {"user": user}}


async def test_session_cookie_authenticates_the_socket(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(
        server.ws_url, additional_headers={"Cookie": f"croupier_session={token}"}
    )
    try:
        wallet = await client.request("wallet")
        assert wallet["balances"] == {"PLAY": 100_000, "BTC": 0}
        assert wallet["currencies"] == {"PLAY": 2, "BTC": 8}
    finally:
        await client.close()


async def test_unauthenticated_socket_may_only_auth_and_ping(server: ServerProcess) -> None:
    client = await WsClient.open(server.ws_url)
    try:
        assert "pong" in await client.request("ping")
        for op in ("wallet", "transactions"):
            reply = await client.call(op)
            assert reply["error"]["code"] == "UNAUTHENTICATED"
        for token in ("nope", "x" * 300):
            reply = await client.call("auth", token=token)
            assert reply["ok"] is False
        assert reply["error"]["code"] in {"UNAUTHENTICATED", "BAD_REQUEST"}
    finally:
        await client.close()


async def test_revoked_token_no_longer_authenticates(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    response = await http.post(
        f"{server.base_url}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    client = await WsClient.open(server.ws_url)
    try:
        reply = await client.call("auth", token=token)
        assert reply["error"]["code"] == "UNAUTHENTICATED"
    finally:
        await client.close()


async def test_a_socket_cannot_switch_to_another_user(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    alice, _ = await new_guest(http, server.base_url)
    bob, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, alice)
    try:
        reply = await client.call("auth", token=bob)
        assert reply["error"]["code"] == "FORBIDDEN"
    finally:
        await client.close()


BAD_FRAMES = [
    ("{not json", "BAD_JSON", None),
    ("[1, 2]", "BAD_REQUEST", None),
    ('"just a string"', "BAD_REQUEST", None),
    ('{"op": "teleport", "id": 1}', "UNKNOWN_OP", "op"),
    ('{"id": 2}', "BAD_REQUEST", "op"),
    ('{"op": 5, "id": 3}', "BAD_REQUEST", "op"),
    ('{"op": "wallet", "id": {"x": 1}}', "BAD_REQUEST", "id"),
    ('{"op": "wallet", "id": 4, "user": "someone-else"}', "BAD_REQUEST", "user"),
    ('{"op": "transactions", "id": 5, "limit": "10"}', "BAD_REQUEST", "limit"),
    ('{"op": "transactions", "id": 6, "limit": 0}', "BAD_REQUEST", "limit"),
    ('{"op": "transactions", "id": 7, "limit": 1000}', "BAD_REQUEST", "limit"),
    ('{"op": "transactions", "id": 8, "limit": 1.5}', "BAD_REQUEST", "limit"),
    ('{"op": "transactions", "id": 9, "game": "Dice!"}', "BAD_REQUEST", "game"),
    ('{"op": "transactions", "id": 10, "before": true}', "BAD_REQUEST", "before"),
    ('{"op": "transactions", "id": 11, "limit": 100000000000000000000000}', "BAD_REQUEST", "limit"),
    ('{"op": "transactions", "id": 12, "limit": NaN}', "BAD_JSON", None),
    ('{"op": "transactions", "id": 13, "limit": Infinity}', "BAD_JSON", None),
    ('{"op": "ping", "id": "\\ud800"}', "BAD_REQUEST", "id"),
    ('{"op": "seeds.rotate", "id": 14, "client_seed": "a\\udfffb"}', "BAD_REQUEST", "client_seed"),
]


@pytest.mark.parametrize(("frame", "code", "field"), BAD_FRAMES)
async def test_bad_frames_get_a_specific_error_and_the_socket_stays_open(
    server: ServerProcess, http: httpx.AsyncClient, frame: str, code: str, field: str | None
) -> None:
    token, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        before = await client.request("wallet")
        await client.send_raw(frame)
        reply = await client.next_orphan()
        assert reply["ok"] is False and reply["error"]["code"] == code, reply
        assert reply["error"].get("field") == field
        assert reply["error"]["message"]
        assert await client.request("wallet") == before
    finally:
        await client.close()


async def test_binary_and_oversized_frames_are_refused(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        await client.send_raw(b'{"op": "ping"}')
        assert (await client.next_orphan())["error"]["code"] == "BAD_REQUEST"
        huge = json.dumps({"op": "ping", "id": 1, "pad": "x" * 20_000})
        await client.send_raw(huge)
        assert (await client.next_orphan())["error"]["code"] == "FRAME_TOO_LARGE"
        assert "pong" in await client.request("ping")
    finally:
        await client.close()


async def test_transactions_over_the_socket(server: ServerProcess, http: httpx.AsyncClient) -> None:
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        page = await client.request("transactions", limit=10)
        assert page["next_before"] is None
        [signup] = page["items"]
        assert signup["user"] == user["id"] and signup["type"] == "deposit"
        assert signup["amount"] == 100_000 and signup["balance_after"] == 100_000
    finally:
        await client.close()


async def test_flood_is_rate_limited_then_closed_with_1008(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    async with connect(server.ws_url) as socket:
        await socket.send(json.dumps({"op": "auth", "id": 0, "token": token}))
        frame = json.dumps({"op": "ping"})
        codes: list[str] = []
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(2_000):
                await socket.send(frame)
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await socket.recv())
                    if message.get("ok") is False:
                        codes.append(message["error"]["code"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "RATE_LIMITED" in codes


async def test_rate_limited_replies_echo_the_request_id(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    async with connect(server.ws_url) as socket:
        await socket.send(json.dumps({"op": "auth", "id": "auth", "token": token}))
        sent = 300  # past the burst of 200, short of a flood that closes the socket
        for n in range(sent):
            await socket.send(json.dumps({"op": "ping", "id": n}))
        await socket.send("{not json")  # refused unread: no id to echo
        received: list[tuple[Any, str]] = []
        async with asyncio.timeout(10):
            while len(received) < sent + 2:  # + auth, + the bad frame
                message = json.loads(await socket.recv())
                if "re" in message:
                    code = "ok" if message["ok"] else message["error"]["code"]
                    received.append((message["re"], code))
    replies = dict(received)
    assert len(replies) == len(received) and set(replies) == {"auth", None, *range(sent)}
    assert "RATE_LIMITED" in {replies[n] for n in range(sent)}
    assert replies[None] in {"RATE_LIMITED", "BAD_JSON"}


async def test_foreign_origin_is_rejected(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    same_host = f"http://127.0.0.1:{server.port}"
    async with connect(server.ws_url, origin=same_host) as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"op": "ping", "id": 1}))
        assert (await next_reply(socket))["ok"] is True


async def test_a_socket_that_stops_reading_is_closed_with_1013(
    server: ServerProcess, redis: Redis, http: httpx.AsyncClient
) -> None:
    """Public frames pile up for a client that reads nothing: the server drops it."""
    watcher = await WsClient.open(server.ws_url)  # reads all along
    before = await frame_counts(http, server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .encode()
    )  # fmt: skip
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    writer.transport.pause_reading()  # from now on this client reads nothing
    frame = json.dumps({"event": "test.bulk", "data": {"pad": "x" * 8_000}})
    for _ in range(3_000):  # ~24 MB, far beyond the queue and the socket buffers
        await redis.publish("croupier:public", frame)
    async with asyncio.timeout(20):
        while (
            'croupier_ws_closed_total{reason="slow_consumer"}'
            not in (await http.get(f"{server.base_url}/metrics")).text
        ):
            await asyncio.sleep(0.1)
    # Reading again, the client finds what was in flight, then the close frame.
    writer.transport.resume_reading()
    received = b""
    async with asyncio.timeout(20):
        while b"\x03\xf5send queue overflow" not in received[-64:]:
            chunk = await reader.read(1 << 20)
            assert chunk, "connection ended without the 1013 close frame"
            received += chunk
    assert len(received) < 3_000 * 8_000  # the queue was dropped, not delivered
    writer.close()
    # Written at once until its buffer was full, then queued until the queue overflowed.
    assert (await frame_counts(http, server))["queued"] - before["queued"] >= 512  # queue size
    # Other sockets were not slowed down or dropped.
    async with asyncio.timeout(20):
        for _ in range(3_000):
            await watcher.next_event("test.bulk")
    await watcher.close()
    async with connect(server.ws_url) as fresh:
        await fresh.send(json.dumps({"op": "ping", "id": 2}))
        assert (await next_reply(fresh))["ok"] is True


async def frame_counts(http: httpx.AsyncClient, server: ServerProcess) -> dict[str, int]:
    """croupier_ws_frames_total by path (frames sent directly or queued), and
    croupier_ws_writes_total as `writes` (transport writes of the direct frames)."""
    text = (await http.get(f"{server.base_url}/metrics")).text
    names = {
        "direct": 'croupier_ws_frames_total{path="direct"} ',
        "queued": 'croupier_ws_frames_total{path="queued"} ',
        "writes": "croupier_ws_writes_total ",
    }
    return {
        name: int(line.rsplit(" ", 1)[1])
        for name, prefix in names.items()
        for line in text.splitlines()
        if line.startswith(prefix)
    }


@pytest.mark.single_node("the test publishes to the user's channel with PUBLISH, as on one Redis")
async def test_frames_a_socket_gets_in_one_iteration_leave_in_one_write(
    server: ServerProcess, redis: Redis, http: httpx.AsyncClient
) -> None:
    """Frames handed to a socket within one event-loop iteration (here: the messages of
    one read of the pub/sub connection) leave in one transport write, not one each.
    Whether a bet's reply and its balance event arrive in the same iteration depends on
    timing; `python -m bench.bets` prints how many frames each write carried."""
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    burst = 10
    try:
        before = await frame_counts(http, server)
        # One MULTI: Redis writes the burst to the subscriber in one go.
        async with redis.pipeline(transaction=True) as pipe:
            for n in range(burst):
                pipe.publish(
                    UserKeys(user["id"]).events,
                    json.dumps({"event": "test.burst", "data": {"n": n}}),
                )
            await pipe.execute()
        async with asyncio.timeout(10):
            assert [
                (await client.next_event("test.burst"))["data"]["n"] for _ in range(burst)
            ] == list(range(burst))
        after = await frame_counts(http, server)
    finally:
        await client.close()
    frames = after["direct"] - before["direct"]
    writes = after["writes"] - before["writes"]
    assert after["queued"] == before["queued"]
    # Public events (Crash ticks, the live feed) may add a frame and a write of their
    # own; the burst's frames share one write.
    assert frames - writes >= burst - 1, (frames, writes)


def sequence_frames(user_id: str, count: int, pad_bytes: list[int]) -> list[tuple[str, str]]:
    """(channel, frame) pairs numbered 0..count-1: every third one is for `user_id` only,
    the others public; frame n is padded with pad_bytes[n % len(pad_bytes)] bytes."""
    frames = []
    for n in range(count):
        data = {"n": n, "pad": "é" * (pad_bytes[n % len(pad_bytes)] // 2)}
        channel = UserKeys(user_id).events if n % 3 == 0 else "croupier:public"
        event = {"event": "test.seq", "data": data}
        frames.append((channel, json.dumps(event, ensure_ascii=False)))
    return frames


SAME_CONNECTION = pytest.mark.single_node(
    "public and a user's frames share one pub/sub connection only on one Redis (on a cluster"
    " the user's come from its shard), so only there is their order across channels kept"
)


async def publish_in_order(redis: Redis, frames: list[tuple[str, str]]) -> None:
    """One connection, one pipeline: subscribers get the messages in this order."""
    async with redis.pipeline(transaction=False) as pipe:
        for channel, frame in frames:
            pipe.publish(channel, frame)
        await pipe.execute()


async def received_sequence(client: WsClient, count: int) -> list[int]:
    numbers = []
    while len(numbers) < count:
        numbers.append((await client.next_event("test.seq"))["data"]["n"])
    return numbers


@SAME_CONNECTION
async def test_public_and_own_frames_arrive_in_order_written_straight_to_the_sockets(
    server: ServerProcess, redis: Redis, http: httpx.AsyncClient
) -> None:
    alice, alice_user = await new_guest(http, server.base_url)
    bob, _ = await new_guest(http, server.base_url)
    alices = [await WsClient.open(server.ws_url, alice) for _ in range(2)]
    others = [await WsClient.open(server.ws_url, bob), await WsClient.open(server.ws_url)]
    try:
        before = await frame_counts(http, server)
        # Payload lengths of the 7-, 16- and 64-bit forms, in non-ASCII text.
        frames = sequence_frames(alice_user["id"], 300, [0, 300, 0, 70_000])
        await publish_in_order(redis, frames)
        everything = list(range(len(frames)))
        public = [n for n in everything if n % 3]
        async with asyncio.timeout(20):
            for client in alices:
                assert await received_sequence(client, len(everything)) == everything
            for client in others:
                assert await received_sequence(client, len(public)) == public
        after = await frame_counts(http, server)
        delivered = 2 * len(everything) + 2 * len(public)
        # Readers that keep up get every frame through the fast path.
        assert after["direct"] - before["direct"] >= delivered
    finally:
        for client in [*alices, *others]:
            await client.close()


@SAME_CONNECTION
async def test_a_reader_that_falls_behind_gets_queued_frames_in_order(
    server: ServerProcess, redis: Redis, http: httpx.AsyncClient
) -> None:
    """Once its buffer is full, frames queue behind it; it catches up with all, in order."""
    token, user = await new_guest(http, server.base_url)
    slow = await WsClient.open(server.ws_url, token)
    fast = await WsClient.open(server.ws_url)
    try:
        slow.connection.transport.pause_reading()
        before = await frame_counts(http, server)
        frames = sequence_frames(user["id"], 3_000, [8_000])
        published = 0
        while (await frame_counts(http, server))["queued"] == before["queued"]:
            assert published < len(frames), "the slow reader's frames never queued"
            await publish_in_order(redis, frames[published : published + 10])
            published += 10
        await publish_in_order(redis, frames[published : published + 30])
        published += 30  # well under the queue size: the slow reader is not dropped
        slow.connection.transport.resume_reading()
        # More frames while it catches up: they must not overtake the queued ones.
        for _ in range(10):
            await publish_in_order(redis, frames[published : published + 10])
            published += 10
            await asyncio.sleep(0.002)
        async with asyncio.timeout(30):
            assert await received_sequence(slow, published) == list(range(published))
            public = [n for n in range(published) if n % 3]
            assert await received_sequence(fast, len(public)) == public
    finally:
        await slow.close()
        await fast.close()
