"""`python -m server` / `croupier`: run Croupier under uvicorn, one process per core.

`croupier audit` replays every user's ledger instead (see server/audit.py).
"""

import asyncio
import copy
import logging
import logging.config
import os
import sys
from typing import Any

import uvicorn
import uvicorn.config

from server.app import create_app
from server.audit import audit_command
from server.config import Settings
from server.embedded_postgres import EmbeddedPostgres
from server.embedded_redis import EmbeddedRedis
from server.request_deadline import request_deadline_protocol

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(workers: int | None) -> None:
    """Serve with settings from the environment, in `workers` processes on one port
    (None: CROUPIER_WORKERS, else one per core)."""
    settings = Settings()
    count = workers or settings.workers or os.cpu_count() or 1
    logging_config = log_config(settings.log_level)
    logging.config.dictConfig(logging_config)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": logging_config,
        "http": request_deadline_protocol(),
        "ws_max_size": max(1 << 20, 4 * settings.max_frame_bytes),
        "ws_ping_interval": settings.ping_interval_s,
        "ws_ping_timeout": settings.ping_interval_s,
        # Small JSON frames: compression costs more than it saves.
        "ws_per_message_deflate": False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: only listed proxies here.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
        "lifespan": "on",
    }
    if count == 1:
        uvicorn.run(create_app(settings), **options)
        return
    serve_workers(settings, count, options)


def serve_workers(settings: Settings, count: int, options: dict[str, Any]) -> None:
    """Start the embedded servers this process owns (if no URLs are set), then run
    `count` workers on one port under uvicorn's supervisor, which restarts a worker
    that dies; Ctrl-C stops them all, then the embedded servers."""
    redis = postgres = None
    try:
        # The workers read their settings from this environment: one Redis and one
        # PostgreSQL for all of them, and one Crash leader among them (the lease).
        if settings.redis_url is None:
            redis = EmbeddedRedis(settings.data_dir, settings.appendfsync)
            os.environ["REDIS_URL"] = asyncio.run(redis.start())
        if settings.database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir)
            os.environ["DATABASE_URL"] = asyncio.run(postgres.start())
        uvicorn.run("server.app:create_app", factory=True, workers=count, **options)
    finally:
        for embedded in (postgres, redis):
            if embedded is not None:
                asyncio.run(embedded.stop())


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration with a root logger for everything else (this
    server's own lines), applied in the parent and in every worker."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["croupier"] = {"format": LOG_FORMAT}
    config["handlers"]["croupier"] = {
        "class": "logging.StreamHandler",
        "formatter": "croupier",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["croupier"], "level": level.upper()}
    return config


def main() -> None:
    """`croupier` serves; `croupier audit [options]` audits the ledgers."""
    args = sys.argv[1:]
    if args[:1] == ["audit"]:
        sys.exit(audit_command(args[1:]))
    workers = None
    if len(args) == 2 and args[0] == "--workers" and args[1].isdigit() and int(args[1]) > 0:
        workers, args = int(args[1]), []
    if args:
        sys.exit(
            "usage: croupier [--workers N] | croupier audit [--help]"
            f"  (unknown arguments: {' '.join(args)})"
        )
    serve(workers)


if __name__ == "__main__":
    main()
