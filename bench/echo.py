"""A bare WebSocket echo endpoint on the server's stack (Starlette + uvicorn).

`python -m bench.echo PORT` serves `/ws`: every text frame is sent back as is.
It runs uvicorn with the same WebSocket settings as `server/__main__.py`, so a
round trip through it is the floor of any op of the real server.
"""

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def main() -> None:
    uvicorn.run(
        Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws", echo)]),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        ws_max_size=1 << 20,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
