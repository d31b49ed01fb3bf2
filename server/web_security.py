"""Browser-facing protections of the HTTP routes: cross-site requests and framing.

`WebSecurity` is an ASGI middleware. On every HTTP response it sets a Content
Security Policy fitted to the site in static/ (scripts, styles, images and
connections from this host only, a data: favicon, never framed), plus
X-Frame-Options, X-Content-Type-Options and Referrer-Policy. It refuses a
state-changing request (any method but GET, HEAD, OPTIONS):

* from a foreign page: FORBIDDEN when its Origin (else its Referer) is neither
  this host nor in `CROUPIER_ALLOWED_ORIGINS` (`Origin: null` is foreign);
* not typed as JSON: BAD_REQUEST when it has a Content-Type other than
  `application/json`, or a body and no Content-Type.

What a browser can send to another site without a CORS preflight (which this
server never approves) is a form (typed), a `no-cors` fetch with a body (typed
text/plain or untyped) or one without a body: the second rule refuses the
first two, and the browser's Origin header the third. The session cookie is
also SameSite=Lax, so a cross-site POST does not carry it at all. A request
with no Origin and no Referer (a script, with a bearer token or the cookie)
is therefore no forgery and is allowed, as long as a body it has is JSON.
"""

import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import CroupierError, ErrorCode
from server.http_errors import error_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "croupier_session"
"""The HttpOnly, SameSite=Lax cookie that carries the session token for the site."""
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_FIXED_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """A page's origin may act here: none given, this host, listed, or `*` listed."""
    if origin is None or "*" in allowed or urlsplit(origin).netloc == host:
        return True
    return origin.rstrip("/") in {entry.rstrip("/") for entry in allowed}


def content_security_policy(host: str | None) -> str:
    """The CSP of every response; `connect-src` names the WebSocket URLs of `host`."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return (
        "default-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def refusal(headers: Headers, method: str, allowed: list[str]) -> CroupierError | None:
    """Why a request must not reach its route, or None."""
    if method in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is None and "referer" in headers:
        parts = urlsplit(headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}"
    if not origin_allowed(origin, headers.get("host"), allowed):
        return CroupierError(ErrorCode.FORBIDDEN, "cross-origin request refused")
    content_type = headers.get("content-type")
    if content_type is None:
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if not has_body:
            return None
    elif content_type.split(";", 1)[0].strip().lower() == "application/json":
        return None
    return CroupierError(ErrorCode.BAD_REQUEST, "send Content-Type: application/json")


class WebSecurity:
    """ASGI middleware: security headers on every HTTP response, cross-site refusals."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        policy = content_security_policy(headers.get("host")).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"content-security-policy", policy),
                    *_FIXED_HEADERS,
                ]
            await send(message)

        refused = refusal(headers, scope["method"], self.allowed_origins)
        if refused is not None:
            await error_response(refused)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
