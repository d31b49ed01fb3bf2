"""What one client can cost a real server: request bodies, slow or half-sent requests,
sockets per address, sockets that never sign in. Each test performs the attack."""

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.servers import ServerProcess
from tests.wsclient import WsClient, new_guest

T = TypeVar("T")
TIMEOUT_S = 1
SOCKETS_PER_ADDRESS = 3
LIMITED = {
    "CROUPIER_REQUEST_TIMEOUT_S": str(TIMEOUT_S),
    "CROUPIER_MAX_SOCKETS_PER_ADDRESS": str(SOCKETS_PER_ADDRESS),
    "CROUPIER_UNAUTHENTICATED_IDLE_S": str(TIMEOUT_S),
}
MAX_BODY_BYTES = 65_536  # the default
BIG_BODY_BYTES = 32 * 1024 * 1024


@pytest.fixture(scope="module")
async def limited(redis_url: str, log_dir: Path) -> AsyncIterator[ServerProcess]:
    """A server with short timeouts and a small socket cap (each test uses its own address)."""
    process = await ServerProcess(log_dir, REDIS_URL=redis_url, **LIMITED).start()
    yield process
    await process.stop()


def rss_kib(pid: int) -> int:
    """The resident set size of a process (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc status")


async def sampling_rss(pid: int, work: Awaitable[T]) -> tuple[T, int]:
    """Await `work` while sampling the process's RSS: its result and the RSS's highest
    growth in bytes (a sample every few milliseconds)."""
    task = asyncio.ensure_future(work)
    base = peak = rss_kib(pid)
    while not task.done():
        peak = max(peak, rss_kib(pid))
        await asyncio.wait({task}, timeout=0.005)
    return task.result(), (peak - base) * 1024


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, await reader.readexactly(length)


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := await reader.read(65_536):
            received += chunk
    return received


async def post_raw(
    server: ServerProcess, framing: str, chunks: Iterable[bytes]
) -> tuple[int, bytes]:
    """POST `chunks` to /api/fairness/verify while reading the reply; the upload stops
    when the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST /api/fairness/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n".encode()
    )

    async def upload() -> None:
        with contextlib.suppress(ConnectionError):
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()

    uploading = asyncio.create_task(upload())
    try:
        async with asyncio.timeout(60):
            return await read_response(reader)
    finally:
        uploading.cancel()
        writer.close()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_over_the_limit_is_refused_without_being_read(
    limited: ServerProcess, framing: str
) -> None:
    # The attack: one unauthenticated 400 MB POST took the server from 74 MB to 1.28 GB.
    piece = b"x" * 65_536
    count = BIG_BODY_BYTES // len(piece)
    if framing == "content-length":
        header = f"Content-Length: {BIG_BODY_BYTES}"
        chunks: Iterable[bytes] = itertools.repeat(piece, count)
    else:
        header = "Transfer-Encoding: chunked"
        chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
        chunks = itertools.chain(itertools.repeat(chunk, count), [b"0\r\n\r\n"])
    (status, body), growth = await sampling_rss(limited.pid, post_raw(limited, header, chunks))
    print(f"RSS growth with {framing}: {growth / 2**20:.1f} MiB")
    assert status == 413, body
    assert json.loads(body)["error"]["code"] == "BODY_TOO_LARGE"
    assert growth < BIG_BODY_BYTES / 8


async def test_a_body_at_the_limit_is_served(
    limited: ServerProcess, http: httpx.AsyncClient
) -> None:
    request = {"game": "dice", "server_seed": "ab" * 32, "client_seed": "c", "nonce": 0,
               "params": {"target": 50.5, "condition": "over"}}  # fmt: skip
    text = json.dumps(request).encode()
    url = f"{limited.base_url}/api/fairness/verify"
    headers = {"Content-Type": "application/json"}
    fits = await http.post(url, content=text.ljust(MAX_BODY_BYTES), headers=headers)
    assert fits.status_code == 200, fits.text  # JSON may end in spaces
    over = await http.post(url, content=text.ljust(MAX_BODY_BYTES + 1), headers=headers)
    assert over.status_code == 413 and over.json()["error"]["code"] == "BODY_TOO_LARGE"


async def test_a_body_that_stops_arriving_is_cut_off(limited: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
    writer.write(
        b"POST /api/fairness/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"game": '
    )
    try:
        async with asyncio.timeout(TIMEOUT_S + 9):
            assert await until_closed(reader) == b""
    finally:
        writer.close()


HALF_SENT = [
    b"",  # connected, sent nothing
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    # A whole request, then half of the next one on the kept-alive connection.
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\n",
]


async def test_half_sent_requests_are_closed_and_health_still_answers(
    limited: ServerProcess, http: httpx.AsyncClient
) -> None:
    # The attack: requests and WebSocket handshakes that never finish were held
    # open for ever (1,100 of them took /healthz down for 40 s).
    held = []
    try:
        for start in HALF_SENT * 60:
            reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
            writer.write(start)
            held.append((reader, writer))
        assert (await http.get(f"{limited.base_url}/healthz")).status_code == 200
        async with asyncio.timeout(TIMEOUT_S + 9):
            tails = await asyncio.gather(*(until_closed(reader) for reader, _ in held))
    finally:
        for _, writer in held:
            writer.close()
    for start, tail in zip(HALF_SENT * 60, tails, strict=True):
        assert tail.count(b"HTTP/1.1 200") == start.count(b"\r\n\r\n")  # only whole requests


async def closes_by_reason(http: httpx.AsyncClient, server: ServerProcess, reason: str) -> int:
    """croupier_ws_closed_total for `reason` (0 until the first one)."""
    text = (await http.get(f"{server.base_url}/metrics")).text
    prefix = f'croupier_ws_closed_total{{reason="{reason}"}} '
    return sum(int(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))


async def admitted(url: str, **kwargs: Any) -> WsClient | None:
    """A new socket if the server keeps it (it answers a ping), None if it closes it."""
    client = await WsClient.open(url, **kwargs)
    ping = asyncio.ensure_future(client.call("ping"))
    closed = asyncio.ensure_future(client.connection.wait_closed())
    await asyncio.wait({ping, closed}, return_when=asyncio.FIRST_COMPLETED)
    closed.cancel()
    if ping.done() and ping.exception() is None:
        return client
    ping.cancel()
    await client.close()
    return None


async def test_sockets_per_address_are_capped(
    limited: ServerProcess, http: httpx.AsyncClient
) -> None:
    # The attack: one address opened 3,000 sockets, and every one got every broadcast.
    token, _ = await new_guest(http, limited.base_url)
    here = {"local_addr": ("127.0.0.2", 0)}
    refused_before = await closes_by_reason(http, limited, "per_address_limit")
    sockets = [
        await WsClient.open(limited.ws_url, token, **here) for _ in range(SOCKETS_PER_ADDRESS)
    ]
    try:
        refused = await WsClient.open(limited.ws_url, **here)
        async with asyncio.timeout(10):
            await refused.connection.wait_closed()
        assert refused.connection.close_code == 1008
        reason = f"at most {SOCKETS_PER_ADDRESS} sockets per client address"
        assert refused.connection.close_reason == reason
        assert await closes_by_reason(http, limited, "per_address_limit") == refused_before + 1
        elsewhere = await WsClient.open(limited.ws_url, token, local_addr=("127.0.0.3", 0))
        sockets.append(elsewhere)
        assert await elsewhere.request("ping")
        for socket in sockets[:SOCKETS_PER_ADDRESS]:  # still open
            assert await socket.request("ping")
        await sockets.pop(0).close()
        async with asyncio.timeout(10):  # the slot is free once the server saw the close
            while (again := await admitted(limited.ws_url, **here)) is None:
                await asyncio.sleep(0.05)
        sockets.append(again)
    finally:
        for socket in sockets:
            await socket.close()


async def test_a_socket_that_does_not_sign_in_is_closed(
    limited: ServerProcess, http: httpx.AsyncClient
) -> None:
    # The attack: signed-out sockets stayed open for ever (3,000 of them after
    # 120 s, a quarter of a core in broadcasts). Pings do not keep one open.
    token, _ = await new_guest(http, limited.base_url)
    here = {"local_addr": ("127.0.0.4", 0)}
    idle_before = await closes_by_reason(http, limited, "signed_out_idle")
    signed_in = await WsClient.open(limited.ws_url, token, **here)
    signs_in_later = await WsClient.open(limited.ws_url, **here)
    anonymous = await WsClient.open(limited.ws_url, **here)

    async def keep_pinging() -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await anonymous.send_raw(json.dumps({"op": "ping"}))
                await asyncio.sleep(0.1)

    pinging = asyncio.create_task(keep_pinging())
    try:
        await signs_in_later.request("auth", token=token)
        async with asyncio.timeout(TIMEOUT_S + 9):
            await anonymous.connection.wait_closed()
        assert anonymous.connection.close_code == 4408
        assert await closes_by_reason(http, limited, "signed_out_idle") == idle_before + 1
        await asyncio.sleep(TIMEOUT_S / 2)  # past the limit for all three
        assert await signed_in.request("ping")
        assert await signs_in_later.request("ping")
    finally:
        pinging.cancel()
        for client in (signed_in, signs_in_later, anonymous):
            await client.close()
