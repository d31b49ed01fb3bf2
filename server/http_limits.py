"""ASGI middleware bounding the body of an HTTP request.

`BodyLimit` reads a request's body before the app does. A declared
Content-Length over the limit is refused with 413 at once, without reading a
byte; a chunked body is refused as soon as it grows past the limit, so no more
than the limit is ever held. The app then gets the whole body in one message.
The rest of a refused body is read and dropped by the server until the
request's deadline (`server.request_deadline`), so the client sees the answer.
"""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import HTTP_STATUS, CroupierError, ErrorCode


class _TooLargeError(Exception):
    """The body grew past the limit."""


class _DisconnectedError(Exception):
    """The client went away (or ran out of time) before its body arrived."""


class BodyLimit:
    """Refuse HTTP request bodies over `max_bytes` with 413 BODY_TOO_LARGE."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        error = CroupierError(
            ErrorCode.BODY_TOO_LARGE, f"request bodies are limited to {max_bytes} bytes"
        )
        self._refusal = JSONResponse(
            {"error": error.to_dict()}, status_code=HTTP_STATUS[error.code]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal(scope, receive, send)
            return
        try:
            body = await self._read(receive)
        except _TooLargeError:
            await self._refusal(scope, receive, send)
            return
        except _DisconnectedError:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _DisconnectedError
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                raise _TooLargeError
            if not message.get("more_body", False):
                return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read in one message, then defers to the server's."""
    pending: Message | None = {"type": "http.request", "body": body, "more_body": False}

    async def replay() -> Message:
        nonlocal pending
        if pending is None:
            return await receive()
        message, pending = pending, None
        return message

    return replay
