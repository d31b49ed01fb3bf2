"""The Starlette application and its lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server.admin import routes as admin_routes
from server.api import routes
from server.bets import ops as bet_ops
from server.bets.http import routes as bet_routes
from server.collector import tune_for_serving
from server.config import Settings
from server.crash import ops as crash_ops
from server.crash.http import routes as crash_routes
from server.crash.service import CrashService
from server.db.database import Database
from server.embedded_redis import EmbeddedRedis
from server.http_errors import CatchAll, http_exception
from server.http_limits import BodyLimit
from server.limits import ops as limit_ops
from server.limits.http import routes as limit_routes
from server.logs import redact
from server.services import Services
from server.socket_cap import SocketCap
from server.stepped import ops as stepped_ops
from server.supervise import Supervisor
from server.upgrade import copy_history_to_journal, drop_history_indexes, upgrade_open_bets
from server.web_security import WebSecurity
from server.ws import websocket_endpoint

log = logging.getLogger(__name__)

OP_MODULES = (bet_ops, stepped_ops, crash_ops, limit_ops)
"""Modules whose import registers their WebSocket ops in `server.ops.OPS`."""

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def admin_page(request: Request) -> Response:
    """The back office (it signs in with the admin token: the page itself is public)."""
    return FileResponse(STATIC_DIR / "admin.html")


def create_app(settings: Settings | None = None) -> Starlette:
    """A Croupier app; it owns Redis (embedded if no URL), the pub/sub hub and loops."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Whatever started is stopped in reverse order, also when a later step of
        # the start-up fails (no embedded server is left behind).
        async with AsyncExitStack() as started:
            url = settings.redis_url
            if url is None:
                embedded = EmbeddedRedis(settings.data_dir, settings.appendfsync)
                url = await embedded.start()
                started.push_async_callback(embedded.stop)
            database = await Database.open(settings)
            started.push_async_callback(database.close)
            services = Services.build(settings, url, database.pool)
            started.push_async_callback(services.aclose)
            # Runs once the loops and Crash have stopped (callbacks run in reverse).
            started.push_async_callback(services.archiver.drain)
            app.state.services = services
            await upgrade_open_bets(services.redis, services.wallet, services.stepped)
            await copy_history_to_journal(services.redis)
            await drop_history_indexes(services.redis)
            await services.bets.refs.load(services.redis)
            app.state.crash = crash = CrashService(services)
            await crash.start()
            started.push_async_callback(crash.stop)
            metrics = services.metrics
            loops = [
                Supervisor("pubsub-hub", services.hub.run, metrics),
                Supervisor(
                    "bets-live",
                    partial(services.bets.live.run, services.hub.publish_public),
                    metrics,
                ),
                Supervisor("game-expiry", services.stepped.run_expiry, metrics),
                Supervisor("game-expiry-full", services.stepped.run_full_sweeps, metrics),
                Supervisor("archiver", services.archiver.run, metrics),
                Supervisor("archiver-full-pass", services.archiver.run_full_passes, metrics),
            ]
            for loop in loops:
                loop.start()
                started.push_async_callback(loop.stop)  # each bounded
            if settings.gc_tuning:
                tune_for_serving()
            metrics.gc_pauses.start()
            started.callback(metrics.gc_pauses.stop)
            log.info(
                "croupier ready on redis %s and PostgreSQL %s", redact(url), redact(database.url)
            )
            yield

    return Starlette(
        routes=[
            *routes,
            *admin_routes,
            Route("/admin", admin_page),
            *bet_routes,
            *crash_routes,
            *limit_routes,
            WebSocketRoute("/ws", websocket_endpoint),
            Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static"),
        ],
        middleware=[
            Middleware(WebSecurity, allowed_origins=settings.allowed_origins),
            Middleware(CatchAll),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(SocketCap, limit=settings.max_sockets_per_address),
        ],
        exception_handlers={HTTPException: http_exception},
        lifespan=lifespan,
    )
