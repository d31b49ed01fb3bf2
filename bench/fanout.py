"""Public-event fan-out: publish-to-receive lag at N connected sockets, RSS per socket
and garbage-collection pauses.

`python -m bench.fanout` starts a private redis-server and, for each N, each
`--workers` count and each `--gc` setting, a fresh Croupier server (its Crash
loop off, so the only traffic is ours), opens N WebSockets from `--processes`
client processes (separate from the server), measures the server's RSS growth
per connected socket, then publishes `--rate` events per second to
`croupier:public` through Redis for `--duration` seconds, each carrying its
publish time (ns). Every socket records receive time minus publish time.
Sockets the server closed, and events not received by the end (`--grace`
seconds after the last publish), are counted. Crash ticks come every 100 ms,
hence the default rate of 10/s. The CPU the server processes and the client
processes used while publishing (100% = one core) tells a saturated machine
from a slow server. Once the sockets have closed again, every server process's
`croupier_gc_pause_*` metrics give its full collections and its longest pause
since it became ready (the sockets opened, received and closed meanwhile).
(When the Crash part exposes tick times, the same receive side can time its
`crash.tick` events instead.)
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import (
    collect,
    cpu_seconds,
    croupier_server,
    machine,
    rss_kib,
    server_processes,
)
from loadtest.stats import Histogram
from loadtest.transport import CLIENT_KINDS, ClientKind, Socket, connect, default_client
from loadtest.worker import event_loop_runner
from server.embedded_redis import EmbeddedRedis
from server.realtime.hub import PUBLIC_CHANNEL
from server.redis_client import connect as redis_connect

EVENT = "bench.fanout"
CONNECTS_AT_ONCE = 100
METRICS_AT_ONCE = 16
GC_SETTINGS = {"tuned": "true", "default": "false"}
"""--gc choices -> CROUPIER_GC_TUNING."""


async def _watch(
    kind: ClientKind, url: str, sockets: int, *, ready: Any, stop: Any, out: Any
) -> None:
    state = {"closed": 0}
    prefix = f'{{"event":"{EVENT}"'
    published: dict[str, int] = {}  # every socket gets the same texts: parse each once
    lags: list[int] = []  # kept cheap here; the histogram is made at the end

    def on_message(text: str) -> None:
        if text.startswith(prefix):
            now = time.time_ns()
            sent = published.get(text)
            if sent is None:
                sent = published[text] = json.loads(text)["data"]["t"]
            lags.append(now - sent)

    def on_close() -> None:
        state["closed"] += 1

    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def open_one() -> Socket | None:
        async with gate:
            try:
                return await connect(kind, url, on_message, on_close, 30)
            except (OSError, TimeoutError):
                return None

    opened = await asyncio.gather(*(open_one() for _ in range(sockets)))
    connected = [socket for socket in opened if socket is not None]
    out.put(("connected", len(connected)))
    await asyncio.to_thread(ready.wait)  # the parent measured RSS
    cpu_start = cpu_seconds(os.getpid())
    await asyncio.to_thread(stop.wait)  # the parent finished publishing
    cpu_s = cpu_seconds(os.getpid()) - cpu_start
    closed_early = state["closed"]
    await asyncio.gather(*(socket.close() for socket in connected), return_exceptions=True)
    latency = Histogram()
    for lag in lags:
        latency.add(lag / 1000)
    out.put(
        {
            "connected": len(connected),
            "received": len(lags),
            "closed": closed_early,
            "cpu_s": cpu_s,
            "latency": latency.to_dict(),
        }
    )


def _watch_process(kind: ClientKind, url: str, sockets: int, signals: tuple[Any, Any, Any]) -> None:
    ready, stop, out = signals
    with event_loop_runner() as runner:
        runner.run(_watch(kind, url, sockets, ready=ready, stop=stop, out=out))


async def publish(redis_url: str, rate: float, duration: float) -> int:
    """Publish `rate` timestamped events per second for `duration` s; returns the count."""
    redis = redis_connect(redis_url, 2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    try:
        while sent < rate * duration:
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
            data = {"t": time.time_ns(), "seq": sent}
            frame = json.dumps({"event": EVENT, "data": data}, separators=(",", ":"))
            await redis.publish(PUBLIC_CHANNEL, frame)
            sent += 1
    finally:
        await redis.aclose()
    return sent


def metric(text: str, name: str) -> float:
    """The value of the sample `name` (with its labels) in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


def gc_pauses(base: str, workers: int) -> tuple[int, list[float]]:
    """Full collections (summed over the workers), and in any worker the longest pause
    (ms) of each generation and the most CPU time (ms) one collection used: /metrics is
    asked on many connections at once (any worker may accept each) until every worker
    has answered."""

    def ask(_: int) -> str:
        with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
            return str(response.read().decode())

    def longest(text: str) -> list[float]:
        names = [f'croupier_gc_pause_max_seconds{{generation="{g}"}}' for g in range(3)]
        cpu = [f'croupier_gc_pause_max_cpu_seconds{{generation="{g}"}}' for g in (1, 2)]
        walls = [1000 * metric(text, name) for name in names]
        return [*walls, 1000 * max(metric(text, name) for name in cpu)]

    seen: dict[float, tuple[int, list[float]]] = {}
    with ThreadPoolExecutor(METRICS_AT_ONCE) as pool:
        for _ in range(20):
            for text in pool.map(ask, range(METRICS_AT_ONCE)):
                full = int(metric(text, 'croupier_gc_pause_seconds_count{generation="2"}'))
                seen[metric(text, "croupier_process_id")] = (full, longest(text))
            if len(seen) == workers:
                pauses = [max(p[i] for _, p in seen.values()) for i in range(4)]
                return sum(full for full, _ in seen.values()), pauses
    raise RuntimeError(f"/metrics answered from {len(seen)} of {workers} workers")


def measure(
    args: argparse.Namespace, redis_url: str, workdir: Path, sockets: int, *, workers: int, gc: str
) -> tuple[str, float]:
    """One N, worker count and GC setting: connect, RSS, publish, collect; returns the
    table row and its p99 lag (ms)."""
    context = multiprocessing.get_context("spawn")
    out, ready, stop = context.Queue(), context.Event(), context.Event()
    env = {
        "CROUPIER_CRASH_ENABLED": "false",
        "CROUPIER_WORKERS": str(workers),
        "CROUPIER_GC_TUNING": GC_SETTINGS[gc],
    }
    with croupier_server(redis_url, workdir, **env) as (base, pid):
        url = base.replace("http", "ws", 1) + "/ws"
        pids = server_processes(pid, workers)
        base_rss = sum(rss_kib(p) for p in pids)
        shares = [
            sockets // args.processes + (p < sockets % args.processes)
            for p in range(args.processes)
        ]
        clients = [
            context.Process(
                target=_watch_process, args=(args.client, url, share, (ready, stop, out))
            )
            for share in shares
        ]
        for client in clients:
            client.start()
        connected = sum(m[1] for m in collect(out, clients, time.time() + 300, tagged=True))
        time.sleep(1.0)  # let the server settle after the handshakes
        per_socket = (sum(rss_kib(p) for p in pids) - base_rss) / max(connected, 1)
        server_cpu = sum(cpu_seconds(p) for p in pids)
        started = time.monotonic()
        ready.set()
        sent = asyncio.run(publish(redis_url, args.rate, args.duration))
        time.sleep(args.grace)
        stop.set()
        elapsed = time.monotonic() - started
        server_cpu = sum(cpu_seconds(p) for p in pids) - server_cpu
        results = collect(out, clients, time.time() + 120)
        time.sleep(1.0)  # let the server close the sockets
        full_collections, longest = gc_pauses(base, workers)
    latency = Histogram()
    for result in results:
        latency.merge(Histogram.from_dict(result["latency"]))
    received = sum(r["received"] for r in results)
    closed = sum(r["closed"] for r in results)
    lags = [latency.percentile(p) / 1000 for p in (0.5, 0.9, 0.99)] + [latency.max / 1000]
    lost = sent * connected - received
    client_cpu = sum(r["cpu_s"] for r in results)
    row = (
        f"{sockets:>7,}{workers:>8}{gc:>8}{connected:>10,}{per_socket:>9.1f}{sent:>6}"
        f"{received:>11,}{lost:>9,}{closed:>7,}{''.join(f'{lag:>9.1f}' for lag in lags)}"
        f"{100 * server_cpu / elapsed:>8.0f}%{100 * client_cpu / elapsed:>8.0f}%"
        f"{full_collections:>6}{''.join(f'{pause:>8.1f}' for pause in longest)}"
    )
    return row, lags[2]


async def with_redis(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        redis_server = EmbeddedRedis(Path(tmp) / "redis", "everysec")
        url = await redis_server.start()
        try:
            print(f"bench/fanout on {machine()}")
            print(
                f"client {args.client}, {args.processes} client processes, {args.rate:g} events/s"
                f" for {args.duration:g} s per N"
            )
            print(
                f"{'N':>7}{'workers':>8}{'gc':>8}{'connected':>10}{'KiB/sock':>9}{'sent':>6}"
                f"{'received':>11}{'missing':>9}{'closed':>7}{'p50':>9}{'p90':>9}{'p99':>9}"
                f"{'max':>9}{'server':>9}{'clients':>9}{'full':>6}{'gc0 max':>8}{'gc1 max':>8}"
                f"{'gc2 max':>8}{'gc cpu':>8}{'p99/base':>9}  (lag and pauses in ms; CPU while"
                " publishing, 100% = one core; full: full collections; gcN max: longest pause of"
                " generation N; gc cpu: most CPU time of one collection; p99/base: p99 against"
                " the first row of the same N)"
            )
            for sockets in args.sockets:
                base_p99 = None
                for workers in args.workers:
                    for gc in args.gc:
                        row, p99 = await asyncio.to_thread(
                            measure, args, url, Path(tmp), sockets, workers=workers, gc=gc
                        )
                        base_p99 = base_p99 or p99
                        print(f"{row}{100 * p99 / base_p99:>8.0f}%", flush=True)
        finally:
            await redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sockets", type=int, nargs="+", default=[1000, 5000, 10000], help="N (1000 5000 10000)"
    )
    parser.add_argument("--rate", type=float, default=10.0, help="events per second (10)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of events (10)")
    parser.add_argument("--grace", type=float, default=3.0, help="seconds to drain after (3)")
    parser.add_argument("--processes", type=int, default=2, help="client processes (2)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="server processes (1 2)"
    )
    parser.add_argument(
        "--gc", choices=GC_SETTINGS, nargs="+", default=["tuned"],
        help="collector settings: tuned (the server's) and/or default (CPython's) (tuned)",
    )  # fmt: skip
    parser.add_argument("--client", choices=CLIENT_KINDS, default=default_client())
    asyncio.run(with_redis(parser.parse_args()))


if __name__ == "__main__":
    main()
