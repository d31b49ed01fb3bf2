"""One client WebSocket: every write goes through a bounded queue and one writer task.

Overflow rule: a client that lets more than `send_queue_size` frames pile up
is closed with 1013 (try again later); it reconnects and resyncs. A slow
socket therefore never slows the sender (a round tick, a balance fan-out).
"""

import asyncio
import logging
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import Account

log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013


class Connection:
    """A WebSocket with its identity and its outbound queue."""

    def __init__(self, websocket: WebSocket, send_queue_size: int) -> None:
        self.websocket = websocket
        self.account: Account | None = None
        self._pending: deque[str] = deque()
        self._limit = send_queue_size
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None

    @property
    def user_id(self) -> str | None:
        return self.account.id if self.account else None

    @property
    def closing(self) -> bool:
        return self._close is not None

    def send(self, frame: str) -> None:
        """Queue a text frame; never blocks. Overflow closes the socket."""
        if self._close is not None:
            return
        if len(self._pending) >= self._limit:
            self._pending.clear()
            self.close(CLOSE_TRY_AGAIN, "send queue overflow")
            return
        self._pending.append(frame)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (none, after an overflow)."""
        if self._close is None:
            self._close = (code, reason)
            self._wake.set()

    async def write_loop(self) -> None:
        """The only task that writes to the socket; ends when it is closed."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    await self.websocket.send_text(self._pending.popleft())
                if self._close is not None:
                    await self.websocket.close(*self._close)
                    return
        except (WebSocketDisconnect, OSError, RuntimeError):
            # The peer went away (or the socket was already closed): nothing to flush.
            self._close = self._close or (CLOSE_NORMAL, "gone")
        except Exception:
            log.exception("writer of %s failed", self.user_id)
            self._close = (CLOSE_INTERNAL, "internal error")
            await self.websocket.close(CLOSE_INTERNAL)
