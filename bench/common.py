"""What the benchmarks share: child processes (Redis, server, echo app) and a
closed-loop WebSocket driver running in worker processes.

Everything listens on 127.0.0.1 or a unix socket in a temporary directory;
nothing here touches a Redis the benchmark did not start.
"""

import asyncio
import json
import multiprocessing
import os
import queue
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.stats import Histogram
from loadtest.transport import ClientKind, Socket, connect
from loadtest.worker import event_loop_runner
from server.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """CPU model, cores, Python version and load, for the figures' caption."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()[0]
    return f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {load:.2f}"


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_processes(pid: int, workers: int) -> list[int]:
    """The server process and, with several workers, its worker processes."""
    if workers == 1:
        return [pid]
    deadline = time.monotonic() + 30
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        spawned = [
            int(child)
            for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        ]
        if len(spawned) >= workers:
            return [pid, *spawned]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(spawned)} of {workers} workers started")
        time.sleep(0.1)


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Wait until `url` answers 200 (or the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@contextmanager
def child(args: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[int]:
    """Run a child process until the block ends; yields its pid."""
    with log.open("ab") as out:
        process = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        wait_http(ready_url, process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def croupier_server(
    redis_url: str, workdir: Path, module: str = "server", **env: str
) -> Iterator[tuple[str, int]]:
    """A `python -m server` (or `module`) child on a free port: yields (base URL, pid).
    Unless `env` names a DATABASE_URL, it starts its own PostgreSQL in `workdir`."""
    port = free_port()
    workdir.chmod(0o755)  # under root the embedded PostgreSQL runs as an unprivileged user
    settings = {
        "REDIS_URL": redis_url,
        "CROUPIER_DATA_DIR": str(workdir / f"data-{port}"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "CROUPIER_LOG_LEVEL": "warning",
        "CROUPIER_WORKERS": "1",  # the CPU figures are of one process
        "CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE": "1000000",
        "CROUPIER_RATE_LIMIT_PER_S": "1000000",
        "CROUPIER_RATE_LIMIT_BURST": "1000000",
        "CROUPIER_MAX_SOCKETS_PER_ADDRESS": "1000000",  # every bench client is on 127.0.0.1
        "CROUPIER_UNAUTHENTICATED_IDLE_S": "86400",  # the fan-out bench's sockets never sign in
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", module]
    with child(args, settings, f"{base}/readyz", workdir / f"server-{port}.log") as pid:
        yield base, pid


@contextmanager
def echo_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """The bare echo app (`bench.echo`) on a free port: yields (ws URL, pid)."""
    port = free_port()
    args = [sys.executable, "-m", "bench.echo", str(port)]
    ready = f"http://127.0.0.1:{port}/healthz"
    with child(args, {}, ready, workdir / f"echo-{port}.log") as pid:
        yield f"ws://127.0.0.1:{port}/ws", pid


def guests(base_url: str, count: int) -> list[str]:
    """Session tokens of `count` new guest accounts."""
    tokens = []
    for _ in range(count):
        request = urllib.request.Request(f"{base_url}/api/auth/guest", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            tokens.append(json.loads(response.read())["token"])
    return tokens


@dataclass(frozen=True)
class Drive:
    """A closed-loop run: each client sends one request and waits for its reply."""

    url: str
    client: ClientKind
    frame: str
    """The request; `{n}` is replaced by a counter unique per client."""
    duration_s: float
    tokens: tuple[str, ...] = ()
    """Auth tokens, one per client; empty for the echo endpoint."""
    clients: int = 1


@dataclass
class DriveResult:
    """What a run measured, all processes together."""

    round_trips: int
    elapsed_s: float
    latency: Histogram
    cpu_s: float
    """CPU time the driver processes spent."""

    @property
    def rate(self) -> float:
        return self.round_trips / self.elapsed_s


async def _client_loop(spec: Drive, index: int, latency: Histogram, start: float) -> int:
    loop = asyncio.get_running_loop()
    replies: asyncio.Queue[str] = asyncio.Queue()

    def on_message(text: str) -> None:
        if not text.startswith('{"event"'):  # skip pushed events, keep replies
            replies.put_nowait(text)

    socket: Socket = await connect(spec.client, spec.url, on_message, lambda: None, 10)
    if spec.tokens:
        token = spec.tokens[index]
        await socket.send(json.dumps({"op": "auth", "id": 0, "token": token}))
        await replies.get()
    await asyncio.sleep(max(0.0, start - time.time()))
    deadline = loop.time() + spec.duration_s
    prefix = f"c{index}-{os.getpid()}-"
    parts = spec.frame.split("{n}")
    done = 0
    while loop.time() < deadline:
        frame = (prefix + str(done)).join(parts)
        sent = time.perf_counter()
        await socket.send(frame)
        reply = await replies.get()
        latency.add((time.perf_counter() - sent) * 1e6)
        if '"ok":false' in reply:
            raise RuntimeError(f"error reply: {reply}")
        done += 1
    await socket.close()
    return done


async def _drive_async(spec: Drive, indexes: list[int], start: float) -> dict[str, Any]:
    latency = Histogram()
    counts = await asyncio.gather(*(_client_loop(spec, i, latency, start) for i in indexes))
    return {"round_trips": sum(counts), "latency": latency.to_dict()}


def _drive_process(spec: Drive, indexes: list[int], start: float, out: Any) -> None:
    with event_loop_runner() as runner:
        result = runner.run(_drive_async(spec, indexes, start))
    usage = os.times()
    out.put({**result, "cpu_s": usage.user + usage.system})


def collect(out: Any, workers: list[Any], deadline: float, tagged: bool = False) -> list[Any]:
    """One message from each worker process; raises if one dies or time runs out.

    With `tagged`, the workers go on running (their next message comes later).
    """
    results: list[Any] = []
    while len(results) < len(workers):
        try:
            results.append(out.get(timeout=0.5))
        except queue.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead or time.time() > deadline:
                for worker in workers:
                    worker.kill()
                raise RuntimeError(f"worker processes failed: {dead or 'timeout'}") from None
    if not tagged:
        for worker in workers:
            worker.join(10)
    return results


def drive(spec: Drive, processes: int) -> DriveResult:
    """Run `spec.clients` clients spread over `processes` worker processes."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start = time.time() + 1.5 + 0.002 * spec.clients  # time to spawn and connect
    groups = [list(range(spec.clients))[p::processes] for p in range(processes)]
    workers = [
        context.Process(target=_drive_process, args=(spec, group, start, out))
        for group in groups
        if group
    ]
    for worker in workers:
        worker.start()
    results = collect(out, workers, time.time() + spec.duration_s + 60)
    latency = Histogram()
    for result in results:
        latency.merge(Histogram.from_dict(result["latency"]))
    return DriveResult(
        round_trips=sum(r["round_trips"] for r in results),
        elapsed_s=spec.duration_s,
        latency=latency,
        cpu_s=sum(r["cpu_s"] for r in results),
    )
