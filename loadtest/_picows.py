"""The picows client socket (imported only when picows is chosen)."""

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from loadtest.transport import OnClose, OnMessage


class _Listener(WSListener):
    def __init__(self, on_message: OnMessage, on_close: OnClose) -> None:
        self._on_message = on_message
        self._on_close = on_close

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        # The server sends every message as one unfragmented frame.
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            self._on_message(frame.get_payload_as_utf8_text())
        elif kind == WSMsgType.CLOSE:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._on_close()


class PicowsSocket:
    """A picows transport: sends are synchronous writes to the socket buffer."""

    def __init__(self, transport: WSTransport) -> None:
        self._transport = transport

    async def send(self, text: str) -> None:
        self._transport.send(WSMsgType.TEXT, text.encode())

    async def close(self) -> None:
        if not self._transport.is_disconnected:
            self._transport.send_close(WSCloseCode.OK)
            self._transport.disconnect()
        await self._transport.wait_disconnected()


async def open_socket(
    url: str, on_message: OnMessage, on_close: OnClose, handshake_s: float, max_frame: int
) -> PicowsSocket:
    """Connect to `url`; frames go to `on_message`, the end to `on_close`."""
    transport, _ = await ws_connect(
        lambda: _Listener(on_message, on_close),
        url,
        websocket_handshake_timeout=handshake_s,
        max_frame_size=max_frame,
    )
    return PicowsSocket(transport)
