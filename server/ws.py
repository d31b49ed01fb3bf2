"""The /ws endpoint: handshake checks, the receive loop and request dispatch.

Per socket: frames over `max_frame_bytes` answer FRAME_TOO_LARGE, frames past
the rate limit answer RATE_LIMITED, and a client that keeps flooding (as many
refused frames as the burst, with no quiet second between them) is closed
with 1008. Requests run
concurrently (at most MAX_IN_FLIGHT per socket) except `inline` ops such as
`auth`, which finish before the next frame is read. A socket still signed out
`unauthenticated_idle_s` after it opened is closed with 4408, whatever it sent.
"""

import asyncio
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.errors import CroupierError, ErrorCode
from server.logs import LogThrottle
from server.ops import OPS, Op, authenticate
from server.protocol import dumps, parse_json_object, parse_params, take_request_id
from server.realtime.connection import CLOSE_NOT_SIGNED_IN, CLOSE_POLICY, Connection
from server.realtime.ratelimit import TokenBucket
from server.realtime.wire import release
from server.services import Services
from server.web_security import SESSION_COOKIE, origin_allowed

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

MAX_IN_FLIGHT = 32
FLOOD_QUIET_S = 1.0
"""Rate-limited frames count towards a flood until the client keeps quiet this long."""


def reply_error(request_id: Any, error: CroupierError) -> str:
    return dumps({"re": request_id, "ok": False, "error": error.to_dict()})


class Session:
    """The server side of one WebSocket."""

    def __init__(self, services: Services, websocket: WebSocket) -> None:
        settings = services.settings
        self.services = services
        self.connection = Connection(
            websocket, settings.send_queue_size, services.metrics, services.hub.writes
        )
        self._bucket = TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst)
        self._flooded = 0
        self._last_refusal = 0.0
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        websocket = self.connection.websocket
        services = self.services
        origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
        if not origin_allowed(origin, host, services.settings.allowed_origins):
            services.metrics.ws_closed["origin"] += 1
            await websocket.close(CLOSE_POLICY)
            return
        await websocket.accept()
        services.metrics.ws_connections += 1
        services.hub.join(self.connection)
        self.connection.start()
        sign_in = asyncio.get_running_loop().call_later(
            services.settings.unauthenticated_idle_s, self._close_if_signed_out
        )
        try:
            for greet in services.greeters:
                await greet(self.connection)
            await authenticate(services, self.connection, websocket.cookies.get(SESSION_COOKIE))
            await self._receive_loop()
        except WebSocketDisconnect:
            pass
        finally:
            sign_in.cancel()
            services.metrics.ws_connections -= 1
            for task in self._tasks:
                task.cancel()
            await services.hub.leave(self.connection)
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.connection.stop()
            release(websocket)

    def _close_if_signed_out(self) -> None:
        if self.connection.account is None:
            self.services.metrics.ws_closed["signed_out_idle"] += 1
            self.connection.close(CLOSE_NOT_SIGNED_IN, "not signed in")

    async def _receive_loop(self) -> None:
        websocket = self.connection.websocket
        while not self.connection.closing:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self._refuse(CroupierError(ErrorCode.BAD_REQUEST, "send JSON in text frames"))
                continue
            await self._handle_frame(text)

    async def _handle_frame(self, text: str) -> None:
        if self.connection.closing:
            return  # e.g. its session just ended: nothing more runs on this socket
        settings = self.services.settings
        if not self._bucket.take():
            now = time.monotonic()
            if now - self._last_refusal > FLOOD_QUIET_S:
                self._flooded = 0
            self._last_refusal = now
            self._flooded += 1
            limited = CroupierError(ErrorCode.RATE_LIMITED, "too many messages, slow down")
            self._refuse(limited, self._request_id_of(text))
            if self._flooded >= settings.rate_limit_burst:
                self.services.metrics.ws_closed["flood"] += 1
                self.connection.close(CLOSE_POLICY, "rate limit exceeded")
            return
        request_id = None
        try:
            self._check_size(text)
            request = parse_json_object(text)
            request_id = take_request_id(request)
            op_name, op = self._route(request)
        except CroupierError as error:
            self._refuse(error, request_id)
            return
        if op.inline:
            await self._execute(op_name, request_id, op, request)
            return
        await self._in_flight.acquire()
        task = asyncio.create_task(self._execute(op_name, request_id, op, request))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _check_size(self, text: str) -> None:
        limit = self.services.settings.max_frame_bytes
        if len(text) > limit // 4 and len(text.encode()) > limit:
            raise CroupierError(ErrorCode.FRAME_TOO_LARGE, f"frames are limited to {limit} bytes")

    def _request_id_of(self, text: str) -> Any:
        """The id of a frame that is refused before it is read, if it has a valid one."""
        try:
            self._check_size(text)
            return take_request_id(parse_json_object(text))
        except CroupierError:
            return None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight.release()

    def _route(self, request: dict[str, Any]) -> tuple[str, Op]:
        op_name = request.pop("op", None)
        if not isinstance(op_name, str):
            raise CroupierError(ErrorCode.BAD_REQUEST, "op: a string is required", "op")
        op = OPS.get(op_name)
        if op is None:
            raise CroupierError(ErrorCode.UNKNOWN_OP, f"unknown op {op_name[:64]!r}", "op")
        if op.needs_auth and self.connection.account is None:
            raise CroupierError(ErrorCode.UNAUTHENTICATED, "send auth with a session token first")
        return op_name, op

    async def _execute(
        self, op_name: str, request_id: Any, op: Op, request: dict[str, Any]
    ) -> None:
        services = self.services
        try:
            params = parse_params(op.params, request, services.validation_context)
            data = await op.handler(services, self.connection, params)
        except CroupierError as error:
            services.metrics.request(op_name, error.code.value)
            self.connection.send(reply_error(request_id, error))
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            _failures.failure(f"op {op_name}", error)
            services.metrics.request(op_name, ErrorCode.INTERNAL.value)
            internal = CroupierError(ErrorCode.INTERNAL, "internal error; retry with the same key")
            self.connection.send(reply_error(request_id, internal))
            return
        services.metrics.request(op_name, "ok")
        self.connection.send(dumps({"re": request_id, "ok": True, "data": data}))

    def _refuse(self, error: CroupierError, request_id: Any = None) -> None:
        self.services.metrics.request("-", error.code.value)
        self.connection.send(reply_error(request_id, error))


async def websocket_endpoint(websocket: WebSocket) -> None:
    """Starlette endpoint for /ws."""
    await Session(websocket.app.state.services, websocket).run()
