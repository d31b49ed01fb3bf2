"""End-to-end bets against bare echo round trips of the same stack, in one run.

`python -m bench.bets` starts a private redis-server, a Croupier server
(`python -m server`, rate limits raised) and a bare Starlette + uvicorn echo
app (`bench.echo`), then for each client count runs a closed loop against
each for `--duration` seconds: every client sends one frame and waits for its
reply. Bets are instant-game `bet` ops (dice by default), each with a new
idempotency key, fully settled when the reply comes; echo frames are the same
JSON text sent back unchanged. The figure is bets/s over echo round trips/s
(target: >= 45%), with latency percentiles (target: p99 < 10 ms at 50
clients).
"""

import argparse
import asyncio
import json
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx
from redis import Redis

from bench.common import (
    Drive,
    DriveResult,
    cpu_seconds,
    croupier_server,
    drive,
    echo_server,
    guests,
    machine,
    server_processes,
)
from loadtest.transport import CLIENT_KINDS, default_client
from server.embedded_redis import EmbeddedRedis

PARAMS = {
    "dice": {"target": "50.50", "condition": "over"},
    "limbo": {"target": "2.00"},
    "plinko": {"rows": 12, "risk": "medium"},
    "keno": {"picks": [3, 9, 14, 22, 31], "risk": "classic"},
}


def bet_frame(game: str) -> str:
    """A bet request; `{n}` becomes a counter unique per client (id and key)."""
    request = {"op": "bet", "id": "#", "game": game, "amount": 10, "currency": "PLAY"}
    request |= {"params": PARAMS[game], "key": "#"}
    return json.dumps(request, separators=(",", ":")).replace('"#"', '"{n}"')


def row(label: str, clients: int, result: DriveResult) -> str:
    h = result.latency.summary_ms()
    return (
        f"{label:<6}{clients:>8}{result.rate:>11,.0f}{h['p50']:>8.2f}{h['p95']:>8.2f}"
        f"{h['p99']:>8.2f}{h['max']:>8.2f}"
    )


def bets_run(
    args: argparse.Namespace, base: str, tokens: tuple[str, ...], clients: int
) -> DriveResult:
    ws_url = base.replace("http", "ws", 1) + "/ws"
    spec = Drive(
        ws_url, args.client, bet_frame(args.game), args.duration, tokens[:clients], clients
    )
    return drive(spec, args.processes)


def run(args: argparse.Namespace, workdir: Path, redis_url: str) -> None:
    frame = bet_frame(args.game)
    print(f"bench/bets on {machine()}")
    redis = Redis.from_url(redis_url)
    version = redis.info("server")["redis_version"]
    print(
        f"client {args.client}, {args.processes} driver process(es), {args.duration:g} s per run,"
        f" game {args.game}, Redis {version} (appendfsync {args.appendfsync}),"
        f" {args.workers} server worker(s)"
    )
    print(
        f"{'':<6}{'clients':>8}{'per s':>11}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  (ms)"
        "   CPU per round trip or bet (us): server, Redis"
    )
    with ExitStack() as stack:
        server = croupier_server(redis_url, workdir, CROUPIER_WORKERS=str(args.workers))
        base, server_pid = stack.enter_context(server)
        server_pids = server_processes(server_pid, args.workers)
        echo_url, echo_pid = stack.enter_context(echo_server(workdir))
        tokens = tuple(guests(base, max(args.clients)))
        for clients in args.clients:
            spec = Drive(echo_url, args.client, frame, args.duration, clients=clients)
            with CpuMeter([echo_pid], redis) as echo_cpu:
                echo = drive(spec, args.processes)
            print(row("echo", clients, echo) + echo_cpu.per(echo.round_trips))
            frames, writes = ws_frames_and_writes(base)
            with CpuMeter(server_pids, redis) as bets_cpu:
                bets = bets_run(args, base, tokens, clients)
            frames_after, writes_after = ws_frames_and_writes(base)
            per_write = (frames_after - frames) / max(writes_after - writes, 1)
            print(
                row("bets", clients, bets)
                + bets_cpu.per(bets.round_trips)
                + f"   bets/echo = {bets.rate / echo.rate:.1%}"
                + f"   frames/write = {per_write:.2f}"
            )
    redis.close()


def ws_frames_and_writes(base_url: str) -> tuple[int, int]:
    """Frames sent on the direct path and the transport writes that carried them, from
    /metrics (with several workers: the figures of the worker that answered)."""
    text = httpx.get(f"{base_url}/metrics").text
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line[:1] != "#")
    return (
        int(values['croupier_ws_frames_total{path="direct"}']),
        int(values["croupier_ws_writes_total"]),
    )


class CpuMeter:
    """CPU time server processes and Redis spend inside a `with` block."""

    def __init__(self, pids: list[int], redis: Redis) -> None:
        self._pids = pids
        self._redis = redis
        self._server = self._redis_cpu = 0.0

    def _redis_seconds(self) -> float:
        info = self._redis.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def __enter__(self) -> "CpuMeter":
        self._server = -sum(cpu_seconds(pid) for pid in self._pids)
        self._redis_cpu = -self._redis_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server += sum(cpu_seconds(pid) for pid in self._pids)
        self._redis_cpu += self._redis_seconds()

    def per(self, count: int) -> str:
        """The server's and Redis's CPU per unit of work, in microseconds."""
        count = max(count, 1)
        return f"   {1e6 * self._server / count:>5.0f} {1e6 * self._redis_cpu / count:>5.0f}"


async def with_redis(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-bets-") as tmp:
        redis_server = EmbeddedRedis(Path(tmp) / "redis", args.appendfsync)
        url = await redis_server.start()
        try:
            await asyncio.to_thread(run, args, Path(tmp), url)
        finally:
            await redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 10, 50], help="client counts (1 10 50)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--processes", type=int, default=1, help="driver processes (1)")
    parser.add_argument("--client", choices=CLIENT_KINDS, default=default_client())
    parser.add_argument("--game", choices=sorted(PARAMS), default="dice")
    parser.add_argument(
        "--workers", type=int, default=1, help="server worker processes (1; CPU summed over all)"
    )
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="everysec")
    asyncio.run(with_redis(parser.parse_args()))


if __name__ == "__main__":
    main()
