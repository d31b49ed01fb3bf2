"""One client WebSocket: every write goes through a bounded queue and one writer task.

Overflow rule: a client that lets more than `send_queue_size` frames pile up
is closed at once with 1013 (try again later), its queue dropped; it
reconnects and resyncs. A slow socket therefore never slows the sender (a
round tick, a balance fan-out), and never holds more than its queue.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import Account

log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013
FLUSH_TIMEOUT_S = 5.0
"""How long a graceful close may wait for queued frames to drain."""


class Connection:
    """A WebSocket with its identity and its outbound queue."""

    def __init__(
        self,
        websocket: WebSocket,
        send_queue_size: int,
        on_overflow: Callable[[], None] = lambda: None,
    ) -> None:
        self.websocket = websocket
        self._on_overflow = on_overflow
        self.account: Account | None = None
        self._pending: deque[str] = deque()
        self._limit = send_queue_size
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str | None:
        return self.account.id if self.account else None

    @property
    def closing(self) -> bool:
        return self._close is not None

    @property
    def close_code(self) -> int | None:
        """The code the server closed (or is closing) this socket with, if it did."""
        return self._close[0] if self._close else None

    def start(self) -> None:
        """Start the writer task; call once, after the handshake was accepted."""
        self._writer = asyncio.create_task(self._write_loop(), name="ws-writer")

    def send(self, frame: str) -> None:
        """Queue a text frame; never blocks. Overflow closes the socket at once."""
        if self._close is not None:
            return
        if len(self._pending) >= self._limit:
            self._on_overflow()
            self._abort(CLOSE_TRY_AGAIN, "send queue overflow")
            return
        self._pending.append(frame)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have been sent."""
        if self._close is None:
            self._close = (code, reason)
            self._wake.set()

    async def stop(self) -> None:
        """Finish: let a graceful close flush (bounded), then stop the writer."""
        if self._close is None:
            self._close = (CLOSE_NORMAL, "gone")
        tasks = [task for task in (self._writer, self._closer) if task is not None]
        _, late = await asyncio.wait(tasks, timeout=FLUSH_TIMEOUT_S)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _abort(self, code: int, reason: str) -> None:
        # Nothing more is queued. The close frame goes out as soon as the peer
        # reads again; a peer that never does is dropped by the keepalive ping.
        self._close = (code, reason)
        self._pending.clear()
        if self._writer is not None:
            self._writer.cancel()  # it may be stuck waiting for the peer to read
        self._closer = asyncio.create_task(self._close_now(code, reason), name="ws-closer")

    async def _close_now(self, code: int, reason: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            await self.websocket.close(code, reason)

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    await self.websocket.send_text(self._pending.popleft())
                if self._close is not None:
                    await self._close_now(*self._close)
                    return
        except (WebSocketDisconnect, OSError, RuntimeError):
            # The peer went away (or the socket was already closed): nothing to flush.
            self._close = self._close or (CLOSE_NORMAL, "gone")
        except Exception:
            log.exception("writer of %s failed", self.user_id)
            self._close = (CLOSE_INTERNAL, "internal error")
            await self._close_now(CLOSE_INTERNAL, "internal error")
