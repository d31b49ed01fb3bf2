"""Every HTTP error answers the documented JSON: `{"error": {"code", "message", "field"?}}`.

A CroupierError becomes its code's status (`error_response`). Starlette's own
errors (an unknown path, a wrong method) go through `http_exception`. Anything
else raised while answering reaches `CatchAll`: it is logged (throttled; a bug
with its traceback) and answered INTERNAL with status 500 and no detail.
"""

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import HTTP_STATUS, CroupierError, ErrorCode
from server.logs import LogThrottle

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

_CODE_OF_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.FRAME_TOO_LARGE,
    429: ErrorCode.RATE_LIMITED,
}


def error_response(error: CroupierError) -> JSONResponse:
    """The JSON answer of an error, with its code's status."""
    return JSONResponse({"error": error.to_dict()}, status_code=HTTP_STATUS[error.code])


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException (404, 405...) as the JSON error of the same status."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    fallback = ErrorCode.INTERNAL if status >= 500 else ErrorCode.BAD_REQUEST
    code = _CODE_OF_STATUS.get(status, fallback)
    return JSONResponse(
        {"error": {"code": code.value, "message": exc.detail}},
        status_code=status,
        headers=exc.headers,
    )


class CatchAll:
    """ASGI middleware: an exception of an HTTP route is logged and answered INTERNAL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            endpoint = getattr(scope.get("endpoint"), "__name__", "request")
            _failures.failure(f"HTTP {endpoint}", error)
            if started:  # too late for an answer: the server drops the connection
                raise
            internal = CroupierError(ErrorCode.INTERNAL, "internal error; retry later")
            await error_response(internal)(scope, receive, send)
