"""WebSocket client sockets: picows (fast, Cython) or the `websockets` library.

Both give the same small interface: text frames go out with `send`, every
text frame received is handed to `on_message`, and `on_close` is called once
when the connection ends. Compression is off on both (picows has none), so
they put the same bytes on the wire.
"""

import asyncio
import contextlib
import importlib.util
from collections.abc import Callable
from typing import Literal, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.exceptions import ConnectionClosed

ClientKind = Literal["picows", "websockets"]
CLIENT_KINDS: tuple[ClientKind, ...] = ("picows", "websockets")
MAX_FRAME_BYTES = 1 << 22

OnMessage = Callable[[str], None]
OnClose = Callable[[], None]


class Socket(Protocol):
    """An open client WebSocket."""

    async def send(self, text: str) -> None:
        """Send one text frame."""

    async def close(self) -> None:
        """Close the connection and wait until it is gone."""


def default_client() -> ClientKind:
    """picows when it is installed, else websockets."""
    return "picows" if importlib.util.find_spec("picows") is not None else "websockets"


async def connect(
    kind: ClientKind, url: str, on_message: OnMessage, on_close: OnClose, handshake_s: float
) -> Socket:
    """Open a WebSocket to `url` with the chosen client library."""
    if kind == "picows":
        from loadtest import _picows  # noqa: PLC0415 (an optional dependency)

        return await _picows.open_socket(url, on_message, on_close, handshake_s, MAX_FRAME_BYTES)
    return await WebsocketsSocket.open(url, on_message, on_close, handshake_s)


class WebsocketsSocket:
    """A `websockets` client connection with a reader task."""

    def __init__(
        self, connection: ClientConnection, on_message: OnMessage, on_close: OnClose
    ) -> None:
        self._connection = connection
        self._reader = asyncio.create_task(self._read(on_message, on_close))

    @classmethod
    async def open(
        cls, url: str, on_message: OnMessage, on_close: OnClose, handshake_s: float
    ) -> "WebsocketsSocket":
        connection = await websockets_connect(
            url, max_size=MAX_FRAME_BYTES, compression=None, open_timeout=handshake_s
        )
        return cls(connection, on_message, on_close)

    async def _read(self, on_message: OnMessage, on_close: OnClose) -> None:
        try:
            with contextlib.suppress(ConnectionClosed):
                async for message in self._connection:
                    if isinstance(message, str):
                        on_message(message)
        finally:
            on_close()

    async def send(self, text: str) -> None:
        await self._connection.send(text)

    async def close(self) -> None:
        await self._connection.close()
        await self._reader
