"""A deadline for each HTTP request to arrive whole, which uvicorn's HTTP protocol lacks.

uvicorn closes a kept-alive connection that stays idle after a response, but
not one that opens and sends nothing, half a request line or header block, or
half a body: each such connection (a WebSocket handshake that never completes
is one) holds a socket, a file descriptor and maybe a task for ever. The
protocol made here starts a timer when a connection opens and when a request
begins on it, stops it once the request has fully arrived (or turned into a
WebSocket), and closes the connection if it fires first.

The same deadline bounds how long a refused body is read and thrown away: a
body over the limit is answered 413 at once (`server.http_limits`), and the
connection is left open until the client has sent the rest or the deadline
passes, so the client reads the answer instead of a reset.

The hooks are asyncio's protocol methods, httptools' parser callbacks and
uvicorn's WebSocket upgrade; the class extended, uvicorn's HttpToolsProtocol,
is not a public API. `HOOKS` names what is overridden and
`request_deadline_protocol` checks that the class still has it: if an upgrade
of uvicorn drops one, it logs an error and returns uvicorn's default protocol,
which has no such deadline.
"""

import asyncio
import logging
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.config import Settings

log = logging.getLogger(__name__)

HOOKS = (
    "connection_made",
    "connection_lost",
    "on_message_begin",
    "on_message_complete",
    "handle_websocket_upgrade",
)
"""The methods of uvicorn's HttpToolsProtocol this module overrides."""


def request_deadline_protocol() -> type[asyncio.Protocol] | str:
    """uvicorn's `http` option: its httptools protocol, with a request arriving within
    `CROUPIER_REQUEST_TIMEOUT_S` (a module-level class: worker processes import it)."""
    if not all(callable(getattr(HttpToolsProtocol, hook, None)) for hook in HOOKS):
        log.error("uvicorn's HttpToolsProtocol changed: serving without a request deadline")
        return "auto"
    return RequestDeadline


@cache
def deadline_s() -> float:
    """The deadline of this process (its settings, read once)."""
    return Settings().request_timeout_s


class RequestDeadline(HttpToolsProtocol):
    """Closes a connection whose request has not fully arrived in time."""

    _deadline: asyncio.TimerHandle | None = None
    _socket: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._socket = transport
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the first request's deadline runs from the connection
            self._start_deadline()

    def on_message_complete(self) -> None:
        self._stop_deadline()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._stop_deadline()  # the connection is the WebSocket protocol's from now on
        super().handle_websocket_upgrade()

    def _start_deadline(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(deadline_s(), self._request_late)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _request_late(self) -> None:
        self._deadline = None
        if self._socket is not None:
            self._socket.close()
