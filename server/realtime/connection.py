"""One client WebSocket: frames go straight to its transport, or through a bounded queue.

Fast path: when the transport's buffer is under its high-water mark and no
frame is queued or being sent, a frame is encoded here (a broadcast passes it
encoded once for all sockets, see `wire`) and goes to the transport with the
socket's next write. Otherwise, or when the transport is not reachable (see
`wire.transport_of`), it is queued for the writer task, which sends through
Starlette. Either way frames leave in the order they were sent.

Coalescing: the frames a socket gets on the fast path are joined and leave in
one transport write (one `send` system call, one TCP segment when they fit),
made by the process's `WriteBatch` once the callbacks of the current
event-loop iteration and the tasks they woke have run. A bet's reply (its task
woken by the script's reply) and its balance event (delivered straight from
the pub/sub connection) read from Redis together therefore leave together.

Overflow rule: a client that lets more than `send_queue_size` frames pile up
in the queue (they queue once its transport holds more than its high-water
mark) is closed at once with 1013 (try again later), its queue dropped; it
reconnects and resyncs. A slow socket therefore never slows the sender (a
round tick, a balance fan-out), and never holds more than its queue.
"""

import asyncio
import contextlib
import logging
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import Account
from server.metrics import Metrics
from server.realtime.wire import encode_text, transport_of

log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013
CLOSE_NOT_SIGNED_IN = 4408
"""Private-use code: the socket did not sign in within CROUPIER_UNAUTHENTICATED_IDLE_S."""
FLUSH_TIMEOUT_S = 5.0
"""How long a graceful close may wait for queued frames to drain."""


class WriteBatch:
    """The sockets of a process with fast-path frames not yet written."""

    def __init__(self) -> None:
        self._waiting: list[Connection] = []

    def add(self, connection: "Connection") -> None:
        """Write `connection`'s frames with the others of this iteration."""
        if not self._waiting:
            # A task woken by this iteration's I/O runs in the next one: flush
            # after it, so that what it sends leaves in the same write.
            loop = asyncio.get_running_loop()
            loop.call_soon(loop.call_soon, self.flush)
        self._waiting.append(connection)

    def flush(self) -> None:
        """One transport write per waiting socket."""
        waiting, self._waiting = self._waiting, []
        for connection in waiting:
            connection.flush()


class Connection:
    """A WebSocket with its identity and its outbound queue."""

    def __init__(
        self, websocket: WebSocket, send_queue_size: int, metrics: Metrics, batch: WriteBatch
    ) -> None:
        self.websocket = websocket
        self._metrics = metrics
        self._batch = batch
        self._unwritten = b""
        self.account: Account | None = None
        self._transport: asyncio.Transport | None = None
        self._high_water = 0
        self._pending: deque[str] = deque()
        self._sending = False
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
        """Find the transport; call once, after the handshake. The writer task starts
        with the first frame that queues (or the close): most sockets never need one."""
        self._transport = transport = transport_of(self.websocket)
        if transport is not None:
            self._high_water = transport.get_write_buffer_limits()[1]
        else:
            self._start_writer()

    def send(self, text: str, frame: bytes | None = None) -> None:
        """Send a text frame; never blocks. Overflow closes the socket at once.

        `frame` is `text` already encoded by `wire.encode_text` (a broadcast encodes once).
        """
        if self._close is not None:
            return
        transport = self._transport
        if transport is not None:
            if transport.is_closing():
                return  # the socket is going away: nothing more reaches the peer
            if (
                not self._pending
                and not self._sending
                and transport.get_write_buffer_size() <= self._high_water
            ):
                if not self._unwritten:
                    self._batch.add(self)
                self._unwritten += encode_text(text) if frame is None else frame
                self._metrics.ws_frames_direct += 1
                if len(self._unwritten) > self._high_water:
                    self.flush()  # a batch this large leaves now
                return
            self.flush()  # what waits for the batch goes before this frame
        if len(self._pending) >= self._limit:
            self._metrics.ws_closed["slow_consumer"] += 1
            self._abort(CLOSE_TRY_AGAIN, "send queue overflow")
            return
        self._pending.append(text)
        self._metrics.ws_frames_queued += 1
        self._start_writer()
        self._wake.set()

    def flush(self) -> None:
        """Write the fast-path frames not yet written, in one transport write."""
        frames, self._unwritten = self._unwritten, b""
        transport = self._transport
        if frames and transport is not None and not transport.is_closing():
            transport.write(frames)
            self._metrics.ws_writes += 1

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have been sent."""
        if self._close is None:
            self._close = (code, reason)
            self._start_writer()
            self._wake.set()

    async def stop(self) -> None:
        """Finish: let a graceful close flush (bounded), then stop the writer."""
        self.close(CLOSE_NORMAL, "gone")
        tasks = [task for task in (self._writer, self._closer) if task is not None]
        _, late = await asyncio.wait(tasks, timeout=FLUSH_TIMEOUT_S)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="ws-writer")

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
                    self._sending = True  # a direct write now would overtake this frame
                    await self.websocket.send_text(self._pending.popleft())
                    self._sending = False
                if self._close is not None:
                    self.flush()  # the close frame goes last
                    await self._close_now(*self._close)
                    return
        except (WebSocketDisconnect, OSError, RuntimeError):
            # The peer went away (or the socket was already closed): nothing to flush.
            self._close = self._close or (CLOSE_NORMAL, "gone")
        except Exception:
            log.exception("writer of %s failed", self.user_id)
            self._close = (CLOSE_INTERNAL, "internal error")
            await self._close_now(CLOSE_INTERNAL, "internal error")
