"""Fan-out of the Crash ticks: many sockets on one instance, tick-to-receive lag.

The lag of a tick is when a socket received it minus when it was due:
started_at + elapsed_ms (the Redis clock, which is this host's). Run with -s to
see the figures; CRASH_FANOUT_SOCKETS sets the number of sockets.
"""

import asyncio
import json
import os
import statistics
import time
from decimal import Decimal
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from server.embedded_redis import EmbeddedRedis
from server.redis_client import connect as redis_connect
from tests.crash_chain import crafted_hashes, install_chain
from tests.servers import ServerProcess

SOCKETS = int(os.environ.get("CRASH_FANOUT_SOCKETS", "500"))


class Listener:
    """A socket that timestamps the Crash frames it receives."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames: list[tuple[float, str]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            assert isinstance(raw, str)
            if raw.startswith('{"event":"crash.'):
                self.frames.append((time.time() * 1000, raw))

    def events(self, name: str, round_id: int) -> list[tuple[float, dict[str, object]]]:
        found = []
        for received, raw in self.frames:
            event = json.loads(raw)
            if event["event"] == name and event["data"]["round_id"] == round_id:
                found.append((received, event["data"]))
        return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@pytest.mark.slow
async def test_every_socket_receives_every_tick_promptly(tmp_path: Path, log_dir: Path) -> None:
    embedded = EmbeddedRedis(tmp_path / "redis", "everysec")
    url = await embedded.start()
    redis = redis_connect(url)
    # Rounds of 2.00 to 2.20: 11.5 to 13 s of ticks.
    await install_chain(redis, crafted_hashes(20, lambda k: (Decimal(2), Decimal("2.2")), seed=3))
    env = {
        "REDIS_URL": url,
        "CROUPIER_CRASH_BETTING_MS": "500",
        "CROUPIER_CRASH_CRASHED_MS": "300",
        "CROUPIER_SEND_QUEUE_SIZE": "4096",
    }
    server = await ServerProcess(log_dir, **env).start()
    listeners: list[Listener] = []
    try:
        for start in range(0, SOCKETS, 100):
            batch = range(start, min(start + 100, SOCKETS))
            sockets = await asyncio.gather(*(connect(server.ws_url) for _ in batch))
            listeners += [Listener(socket) for socket in sockets]
        first = listeners[0]
        connected = len(first.frames)  # a round starting from now reaches every socket
        async with asyncio.timeout(60):
            while not any('"phase":"running"' in raw for _, raw in first.frames[connected:]):
                await asyncio.sleep(0.05)
            running = next(raw for _, raw in first.frames[connected:] if '"phase":"running"' in raw)
            round_id = json.loads(running)["data"]["round_id"]
            while not first.events("crash.crashed", round_id):
                await asyncio.sleep(0.1)
        await asyncio.sleep(1)

        started_at = int(json.loads(running)["data"]["started_at"])
        expected = [data["elapsed_ms"] for _, data in first.events("crash.tick", round_id)]
        lags = []
        for listener in listeners:
            ticks = listener.events("crash.tick", round_id)
            assert [data["elapsed_ms"] for _, data in ticks] == expected
            lags += [
                received - started_at - int(str(data["elapsed_ms"])) for received, data in ticks
            ]
        print(
            f"\n{SOCKETS} sockets x {len(expected)} ticks: tick-to-receive lag ms"
            f" p50 {percentile(lags, 0.5):.1f} p90 {percentile(lags, 0.9):.1f}"
            f" p99 {percentile(lags, 0.99):.1f} max {max(lags):.1f}"
            f" mean {statistics.fmean(lags):.1f}"
        )
        assert percentile(lags, 0.99) < 1000
    finally:
        for listener in listeners:
            await listener.socket.close()
            listener.task.cancel()
        await server.stop()
        await redis.aclose()
        await embedded.stop()
