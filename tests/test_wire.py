"""Pre-encoded frames (server/realtime/wire.py): the encoder, and finding the transport."""

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.embedded_redis import free_port
from server.realtime import wire
from server.realtime.wire import encode_text, release, transport_of

TEXTS = {
    "empty": "",
    "125 bytes": "x" * 125,
    "126 bytes": "x" * 126,
    "65535 bytes": "x" * 65_535,
    "65536 bytes": "x" * 65_536,
    "non-ASCII, 126 bytes": "é" * 63,
    "non-ASCII, mixed": '{"event":"chat","data":"Grüße, 你好, 🎲 x2.00"}',
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_encoded_frame_is_what_websockets_parses_and_writes(text: str) -> None:
    encoded = encode_text(text)
    reader = StreamReader()
    reader.feed_data(encoded)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as done:
        next(parser)
    frame: Frame = done.value.value
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert bytes(frame.data).decode() == text
    assert reader.at_eof()  # the frame is the whole of the bytes
    assert encoded == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def pass_through(app: ASGIApp) -> ASGIApp:
    """A middleware wrapping `send` (as an app might, to log or alter messages)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_on(message: Message) -> None:
            await send(message)

        await app(scope, receive, send_on)

    return wrapped


@asynccontextmanager
async def uvicorn_serving(
    impl: str, deflate: bool, wrap: Callable[[ASGIApp], ASGIApp]
) -> AsyncIterator[str]:
    """An in-process uvicorn whose /ws says whether `transport_of` found the transport."""

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        transport = transport_of(websocket)
        if transport is None:
            await websocket.send_text("no transport")
        else:
            transport.write(encode_text("written to the transport"))
            await websocket.send_text("then sent through ASGI")
        await websocket.close()

    app = wrap(Starlette(routes=[WebSocketRoute("/ws", endpoint)]))
    port = free_port()
    config = uvicorn.Config(
        app, port=port, ws=impl, ws_per_message_deflate=deflate, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task


CASES = {
    "default": ("auto", False, lambda app: app, True),
    "sansio with permessage-deflate": ("websockets-sansio", True, lambda app: app, True),
    "unknown middleware around send": ("auto", False, pass_through, False),
    "legacy websockets protocol": ("websockets", False, lambda app: app, False),
}


@pytest.mark.filterwarnings(  # uvicorn's legacy "websockets" protocol is deprecated
    "ignore::DeprecationWarning", "ignore::uvicorn.config.UvicornDeprecationWarning"
)
@pytest.mark.parametrize(("impl", "deflate", "wrap", "found"), CASES.values(), ids=CASES.keys())
async def test_the_transport_is_found_only_where_it_is_safe(
    impl: str, deflate: bool, wrap: Callable[[ASGIApp], ASGIApp], found: bool
) -> None:
    async with uvicorn_serving(impl, deflate, wrap) as url, connect(url) as client:
        negotiated = [extension.name for extension in client.protocol.extensions]
        assert negotiated == (["permessage-deflate"] if deflate else [])
        received = [message async for message in client]
    if found:
        assert received == ["written to the transport", "then sent through ASGI"]
    else:
        assert received == ["no transport"]


async def test_a_released_socket_is_freed_without_the_garbage_collector() -> None:
    """Once the peer has closed, `release` breaks the parser's reference cycle: the
    protocol goes with its last reference, no collection needed."""
    protocols: list[weakref.ref[object]] = []
    done = asyncio.Event()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        protocol = wire._protocol_of(websocket)
        assert protocol is not None
        protocols.append(weakref.ref(protocol.conn))
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
        release(websocket)
        done.set()

    port = free_port()
    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    config = uvicorn.Config(app, port=port, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    gc.collect()
    gc.disable()
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
            async with connect(f"ws://127.0.0.1:{port}/ws") as client:
                await client.send("hello")
            await done.wait()
            while protocols[0]() is not None:  # uvicorn lets go of it after the task ends
                await asyncio.sleep(0.01)
    finally:
        gc.enable()
        server.should_exit = True
        await task
