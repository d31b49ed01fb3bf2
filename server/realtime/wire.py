"""WebSocket frames encoded by the server and written straight to the socket's transport.

A server-to-client frame is not masked, so a text message is the same bytes
on every socket: a broadcast encodes it once (`encode_text`) and writes it to
each socket's transport, skipping the per-socket ASGI send path.

`transport_of` finds the transport under uvicorn's default WebSocket protocol
("websockets-sansio", which uvicorn's "auto" picks), reached through the ASGI
`send` Starlette hands the endpoint. Anything else (another ASGI server,
uvicorn's "websockets" or "wsproto" protocols, an unknown middleware wrapping
`send`, an extension other than permessage-deflate) gives None, and the
caller keeps the ASGI path. Under permessage-deflate an uncompressed frame
(RSV1 clear) is still valid (RFC 7692, section 6), so it is allowed.

`release` helps the garbage collector: the sans-I/O protocol under uvicorn's
socket parses with a generator that refers to the protocol, a cycle that
outlives the socket until a full collection. Once the transport is closing
nothing steps that generator again, so it is swapped for one that holds
nothing, and a closed socket is freed by reference counting at once.
"""

import struct
from asyncio import Transport
from collections.abc import Generator

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.protocol import State

_FIN_TEXT = 0x81
_STARLETTE_SENDER = (
    "starlette._exception_handler",
    "wrap_app_handling_exceptions.<locals>.wrapped_app.<locals>.sender",
)
"""Starlette's exception wrapper around `send` (every route has one): it forwards
WebSocket messages as they are, to the `send` in its closure."""


def encode_text(text: str) -> bytes:
    """`text` as one unmasked, unfragmented WebSocket text frame (RFC 6455, section 5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_TEXT, 126, size) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, size) + payload


def _protocol_of(websocket: WebSocket) -> WebSocketsSansIOProtocol | None:
    send = websocket._send
    if (getattr(send, "__module__", None), getattr(send, "__qualname__", None)) == (
        _STARLETTE_SENDER
    ):
        try:
            cells = dict(zip(send.__code__.co_freevars, send.__closure__ or (), strict=True))
            send = cells["send"].cell_contents
        except (AttributeError, KeyError, ValueError):
            return None
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol) or send != protocol.send:
        return None
    return protocol


def transport_of(websocket: WebSocket) -> Transport | None:
    """The transport under an accepted WebSocket, or None if frames cannot be written to it.

    The protocol found closes its transport whenever the WebSocket stops being
    open (a close frame received, a protocol error, a keepalive timeout, the
    server shutting down), except when the app itself closes it: while the
    transport is not closing and the app has not closed it, frames may go out.
    """
    protocol = _protocol_of(websocket)
    if protocol is None:
        return None
    conn = protocol.conn
    if conn.state is not State.OPEN or protocol.transport.is_closing():
        return None
    if not all(isinstance(extension, PerMessageDeflate) for extension in conn.extensions):
        return None
    return protocol.transport


def _parked() -> Generator[None]:
    while True:
        yield


def release(websocket: WebSocket) -> None:
    """Break the parser's cycle of a socket whose transport is closing (else do nothing)."""
    protocol = _protocol_of(websocket)
    if protocol is None or not protocol.transport.is_closing():
        return
    parser = _parked()
    next(parser)
    protocol.conn.parser = parser
