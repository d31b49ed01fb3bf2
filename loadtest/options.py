"""Command-line options of the load test."""

import argparse
import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from loadtest.games import GAMES, INSTANT_GAMES, parse_mix
from loadtest.transport import CLIENT_KINDS, ClientKind, default_client


@dataclass(frozen=True)
class LoadOptions:
    """Everything a worker needs to know (picklable)."""

    http_url: str
    ws_urls: tuple[str, ...]
    """The WebSocket URL of each server: tab t of user i opens on ws_urls[(i + t) % n]."""
    users: int
    tabs: int
    mix: dict[str, float]
    duration_s: float
    bets: int | None
    ramp_s: float
    think_ms: float
    amount: int
    currency: str
    workers: int
    client: ClientKind
    timeout_s: float
    progress_s: float
    json: bool
    seed: int | None
    audit_timeout_s: float
    retry_window_s: float
    acknowledged_path: str | None

    def ws_url_for(self, user: int, tab: int) -> str:
        """Where socket `tab` (0: the betting one) of user number `user` connects."""
        return self.ws_urls[(user + tab) % len(self.ws_urls)]

    def quota(self, user: int) -> int | None:
        """How many bets user number `user` places (None: until the time is up)."""
        if self.bets is None:
            return None
        return self.bets // self.users + (1 if user < self.bets % self.users else 0)


def server_urls(url: str) -> tuple[str, str]:
    """(HTTP base URL, WebSocket URL) from either one."""
    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss"):
        http_scheme = "https" if parts.scheme == "wss" else "http"
        path = parts.path.removesuffix("/ws")
        return urlunsplit((http_scheme, parts.netloc, path, "", "")), url
    if parts.scheme in ("http", "https"):
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        base = url.rstrip("/")
        return base, urlunsplit((ws_scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))
    raise ValueError(f"{url!r}: give the server's http(s):// or ws(s):// URL")


def parse_options(argv: list[str] | None = None) -> LoadOptions:
    """Parse the command line; exits with status 2 on bad usage."""
    parser = argparse.ArgumentParser(
        prog="croupier-load",
        description="Simulate parallel bettors over real WebSockets against a running Croupier"
        " server, then audit every simulated user through the HTTP API.",
    )
    parser.add_argument(
        "url",
        nargs="+",
        help="server URL: http://host:port or ws://host:port/ws; several instances of one"
        " deployment: each user's sockets are spread over them, HTTP goes to the first",
    )
    parser.add_argument("-u", "--users", type=int, default=10, help="parallel bettors (10)")
    parser.add_argument(
        "--tabs", type=int, default=1, help="extra sockets per user that only watch balances (1)"
    )
    parser.add_argument(
        "--mix",
        default=",".join(INSTANT_GAMES),
        help=f"games and weights, e.g. dice:3,mines:1 (of: {', '.join(GAMES)})",
    )
    parser.add_argument(
        "-d", "--duration", type=float, default=30.0, help="seconds of betting, at most (30)"
    )
    parser.add_argument("-n", "--bets", type=int, help="total bets to place, spread over users")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds to start all users (1)")
    parser.add_argument("--think", type=float, default=0.0, help="mean think time, ms (0)")
    parser.add_argument("--amount", type=int, default=10, help="stake in minor units (10)")
    parser.add_argument("--currency", default="PLAY", help="bet currency (PLAY)")
    parser.add_argument(
        "-w", "--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2),
        help="worker processes (half the cores)",
    )  # fmt: skip
    parser.add_argument("--client", choices=CLIENT_KINDS, default=default_client())
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per op (10)")
    parser.add_argument(
        "--progress", type=float, default=1.0, help="progress line interval, s; 0: none (1)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--seed", type=int, help="seed of the players' random choices")
    parser.add_argument(
        "--audit-timeout", type=float, default=300.0, help="seconds allowed for the audit (300)"
    )
    parser.add_argument(
        "--retry-window",
        type=float,
        default=30.0,
        help="seconds to keep retrying a bet whose outcome is unknown, with back-off (30)",
    )
    parser.add_argument(
        "--acknowledged",
        metavar="FILE",
        help="write every bet the server acknowledged (op, key, bet id per user) as JSON",
    )
    args = parser.parse_args(argv)
    try:
        urls = [server_urls(url) for url in args.url]
        mix = parse_mix(args.mix)
    except ValueError as error:
        parser.error(str(error))
    for name in ("users", "workers", "duration", "amount", "timeout", "audit_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    for name in ("tabs", "ramp", "think", "progress", "retry_window"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.bets is not None and args.bets < 1:
        parser.error("--bets must be positive")
    return LoadOptions(
        http_url=urls[0][0],
        ws_urls=tuple(ws_url for _, ws_url in urls),
        users=args.users,
        tabs=args.tabs,
        mix=mix,
        duration_s=args.duration,
        bets=args.bets,
        ramp_s=min(args.ramp, args.duration),
        think_ms=args.think,
        amount=args.amount,
        currency=args.currency,
        workers=min(args.workers, args.users),
        client=args.client,
        timeout_s=args.timeout,
        progress_s=args.progress,
        json=args.json,
        seed=args.seed,
        audit_timeout_s=args.audit_timeout,
        retry_window_s=args.retry_window,
        acknowledged_path=args.acknowledged,
    )
