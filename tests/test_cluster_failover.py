"""Kill -9 of a Redis Cluster primary under the load test, with two server instances."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from server.redis_client import connect
from server.wallet import UserKeys
from tests.cluster import Cluster, ClusterNode, cluster_unavailable
from tests.servers import ServerProcess, private_database
from tests.test_loadtest import until_all_bet

pytestmark = pytest.mark.skipif(
    cluster_unavailable() is not None, reason=str(cluster_unavailable())
)

USERS = 8
REPLICA_BEHIND_S = 1.0
"""How long the victim's replica is stopped before the kill: what the primary acknowledged
meanwhile never reached it."""


def busiest_primary(cluster: Cluster) -> ClusterNode:
    """The primary holding the most wallets."""

    def wallets(node: ClusterNode) -> int:
        return len(node.cli("--scan", "--pattern", "{u:*}:wallet").split())

    return max(cluster.primaries(), key=wallets)


async def lost_acknowledged_bets(cluster: Cluster, acknowledged: dict[str, Any]) -> list[str]:
    """The bet ids the load test saw acknowledged that are not in their user's ledger."""
    redis = connect(cluster.url)
    lost = []
    try:
        for user, ops in acknowledged.items():
            entries = await redis.hvals(UserKeys(user).ledger)
            in_ledger = {e["ref"] for e in map(json.loads, entries) if e["type"] == "bet"}
            lost += [str(op["bet"]) for op in ops if str(op["bet"]) not in in_ledger]
    finally:
        await redis.aclose()
    return lost


async def load_test_through_a_failover(
    cluster: Cluster, log_dir: Path, tmp_path: Path, books_url: str, acks: int
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The load test against two instances on `cluster` (and the database `books_url`) with
    CROUPIER_REDIS_REPLICA_ACKS=acks; once every user bets, the busiest primary's replica
    falls behind and the primary is killed -9. Returns the load test's exit status, report
    and acknowledged bets."""
    env = {"REDIS_URL": cluster.url, "DATABASE_URL": books_url}
    servers = [
        ServerProcess(log_dir, **env, CROUPIER_REDIS_REPLICA_ACKS=str(acks)) for _ in range(2)
    ]
    for server in servers:
        await server.start()
    acknowledged_path = tmp_path / f"acknowledged-{acks}.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "loadtest", *(s.base_url for s in servers),
        "--users", str(USERS), "--tabs", "1", "--duration", "12", "--think", "15",
        "--workers", "1", "--json", "--progress", "0.25",
        "--acknowledged", str(acknowledged_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        await until_all_bet(process.stderr, USERS)
        victim = busiest_primary(cluster)
        await asyncio.to_thread(cluster.fail_over, victim, REPLICA_BEHIND_S)
        assert victim not in cluster.primaries()
        out, err = await asyncio.wait_for(process.communicate(), 180)
        for server in servers:  # both followed the failover without a restart
            assert server.running, server.log_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for server in servers:
            await server.stop()
    assert process.returncode is not None and out, err.decode()
    return process.returncode, json.loads(out), json.loads(acknowledged_path.read_text())


async def test_no_bet_acknowledged_with_replica_acks_is_lost_in_a_failover_under_load(
    own_cluster: Cluster, log_dir: Path, tmp_path: Path, database_url: str
) -> None:
    async with private_database(database_url) as books_url:
        status, report, acknowledged = await load_test_through_a_failover(
            own_cluster, log_dir, tmp_path, books_url, acks=1
        )
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "server", "audit", "--json"],
            env={**os.environ, "REDIS_URL": own_cluster.url, "DATABASE_URL": books_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert status == 0 and report["ok"], report
    assert report["unresolved"] == 0 and report["audit"]["users_with_problems"] == 0
    assert report["recovered"] > 0  # the failover caught bets whose retries then applied once
    assert len(acknowledged) == USERS
    assert sum(len(ops) for ops in acknowledged.values()) == report["bets"]
    assert await lost_acknowledged_bets(own_cluster, acknowledged) == []
    audit = json.loads(done.stdout)
    assert done.returncode == 0 and audit["ok"], done.stdout + done.stderr
    assert audit["mismatched_users"] == 0 and audit["users"] == USERS
