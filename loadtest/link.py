"""The Croupier protocol over one socket: requests matched by id, events to a callback."""

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from loadtest.transport import ClientKind, Socket, connect

OnEvent = Callable[[str, dict[str, Any]], None]


class LinkClosedError(Exception):
    """The connection ended before the reply came."""


def _expire(future: "asyncio.Future[dict[str, Any]]") -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Link:
    """One WebSocket speaking protocol v1."""

    def __init__(self, on_event: OnEvent) -> None:
        self._on_event = on_event
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._socket: Socket | None = None
        self.closed = False

    @classmethod
    async def open(
        cls, kind: ClientKind, url: str, on_event: OnEvent, handshake_s: float
    ) -> "Link":
        link = cls(on_event)
        link._socket = await connect(kind, url, link._on_message, link._on_close, handshake_s)
        return link

    def _on_message(self, text: str) -> None:
        message = json.loads(text)
        event = message.get("event")
        if event is not None:
            self._on_event(event, message["data"])
            return
        request_id = message.get("re")
        if request_id is None and len(self._waiting) == 1:
            # A frame refused unread (past the rate limit) is answered without its
            # id; with one request in flight, that request is the one refused.
            request_id = next(iter(self._waiting))
        future = self._waiting.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(message)

    def _on_close(self) -> None:
        self.closed = True
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(LinkClosedError())

    async def call(self, op: str, params: dict[str, Any], wait_s: float) -> dict[str, Any]:
        """Send a request and return the whole reply (`ok` true or false).

        Raises LinkClosedError or TimeoutError: the outcome is then unknown.
        """
        if self.closed or self._socket is None:
            raise LinkClosedError()
        request_id = next(self._ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiting[request_id] = future
        expiry = loop.call_later(wait_s, _expire, future)  # lighter than wait_for
        try:
            await self._socket.send(json.dumps({"op": op, "id": request_id, **params}))
            return await future
        finally:
            expiry.cancel()
            self._waiting.pop(request_id, None)

    async def close(self) -> None:
        if self._socket is not None and not self.closed:
            await self._socket.close()
        self.closed = True
