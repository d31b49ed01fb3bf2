"""`python -m server` / `croupier`: run one Croupier instance under uvicorn.

`croupier audit` replays every user's ledger instead (see server/audit.py).
"""

import logging
import sys

import uvicorn

from server.app import create_app
from server.audit import audit_command
from server.config import Settings
from server.request_deadline import request_deadline_protocol


def serve() -> None:
    """Start the server with settings from the environment."""
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        http=request_deadline_protocol(settings.request_timeout_s),
        ws_max_size=max(1 << 20, 4 * settings.max_frame_bytes),
        ws_ping_interval=settings.ping_interval_s,
        ws_ping_timeout=settings.ping_interval_s,
        ws_per_message_deflate=False,  # small JSON frames: compression costs more than it saves
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: only from listed proxies here.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        lifespan="on",
    )


def main() -> None:
    """`croupier` serves; `croupier audit [options]` audits the ledgers."""
    args = sys.argv[1:]
    if args[:1] == ["audit"]:
        sys.exit(audit_command(args[1:]))
    if args:
        sys.exit(f"usage: croupier [audit [--help]]  (unknown arguments: {' '.join(args)})")
    serve()


if __name__ == "__main__":
    main()
