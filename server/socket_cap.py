"""ASGI middleware capping the WebSockets one client address holds open on this instance.

The address is the one the ASGI server reports (`scope["client"]`): the peer,
or the client a trusted proxy names. A socket over the cap is accepted and at
once closed with 1008 and a reason a browser can read (an HTTP 429 at the
handshake would be cheaper, but uvicorn logs every such denial as an error), and
counted in /metrics as `croupier_ws_closed_total{reason="per_address_limit"}`.
"""

from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from server.realtime.connection import CLOSE_POLICY


class SocketCap:
    """At most `limit` WebSockets open at once per client address."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._open: Counter[str] = Counter()
        self._reason = f"at most {limit} sockets per client address"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "websocket" or client is None:
            await self.app(scope, receive, send)
            return
        address = client[0]
        if self._open[address] >= self.limit:
            scope["app"].state.services.metrics.ws_closed["per_address_limit"] += 1
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            await websocket.close(CLOSE_POLICY, self._reason)
            return
        self._open[address] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._open[address] -= 1
            if not self._open[address]:
                del self._open[address]
