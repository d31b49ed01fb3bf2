"""Bets on a Redis Cluster: 1 vs 3 primaries, and replica acks off vs on, in one run.

`python -m bench.cluster` starts private Redis Clusters of Redis 7's
`/usr/bin/redis-server` (1 primary + 1 replica, then 3 primaries + 3 replicas,
AOF everysec) and a Croupier server on each, and drives `--clients` clients
betting (dice, a new key per bet) for `--duration` seconds: on 1 primary (the
baseline), on 3 primaries, and on 3 primaries with CROUPIER_REDIS_REPLICA_ACKS=1.
Figures: bets/s and latency percentiles, with ratios to the baseline, and the
Redis CPU per bet of each primary. On a machine of few cores throughput cannot
grow with primaries (they share the cores with the server and the clients):
what shows the spread is each primary's CPU per bet.
"""

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis

from bench.bets import bet_frame
from bench.common import Drive, DriveResult, croupier_server, drive, guests, machine
from loadtest.transport import CLIENT_KINDS, default_client
from tests.cluster import Cluster, cluster_unavailable, running_cluster


@contextmanager
def primaries_cpu(cluster: Cluster) -> Iterator[dict[int, float]]:
    """CPU seconds each primary (by port) spends inside the `with` block."""
    clients = {node.port: Redis(port=node.port) for node in cluster.primaries()}

    def seconds() -> dict[int, float]:
        infos = {port: client.info("cpu") for port, client in clients.items()}
        return {port: info["used_cpu_user"] + info["used_cpu_sys"] for port, info in infos.items()}

    spent = {port: -value for port, value in seconds().items()}
    yield spent
    for port, value in seconds().items():
        spent[port] += value
    for client in clients.values():
        client.close()


def bets_on(
    args: argparse.Namespace, cluster: Cluster, workdir: Path, **env: str
) -> tuple[DriveResult, list[float]]:
    """Drive bets through a server on `cluster`: the result and each primary's CPU per bet (us)."""
    with croupier_server(cluster.url, workdir, **env) as (base, _):
        tokens = tuple(guests(base, args.clients))
        ws_url = base.replace("http", "ws", 1) + "/ws"
        spec = Drive(ws_url, args.client, bet_frame("dice"), args.duration, tokens, args.clients)
        with primaries_cpu(cluster) as spent:
            result = drive(spec, args.processes)
    bets = max(result.round_trips, 1)
    return result, [1e6 * seconds / bets for seconds in spent.values()]


def row(label: str, result: DriveResult, cpu: list[float], baseline: DriveResult) -> str:
    h = result.latency.summary_ms()
    b = baseline.latency.summary_ms()
    per_primary = " ".join(f"{us:>5.0f}" for us in cpu)
    ratios = {q: h[q] / b[q] for q in ("p50", "p99")}
    return (
        f"{label:<22}{result.rate:>9,.0f} ({result.rate / baseline.rate:>5.2f}x)"
        f"{h['p50']:>7.2f} ({ratios['p50']:>4.2f}x){h['p99']:>7.2f} ({ratios['p99']:>4.2f}x)"
        f"   {per_primary}  (sum {sum(cpu):.0f})"
    )


def run(args: argparse.Namespace, workdir: Path) -> None:
    print(f"bench/cluster on {machine()}")
    print(
        f"client {args.client}, {args.clients} clients, {args.processes} driver process(es),"
        f" {args.duration:g} s per run, dice"
    )
    print(
        f"{'':<22}{'bets/s':>9}{'':9}{'p50 ms':>7}{'':8}{'p99 ms':>7}{'':8}"
        "   Redis CPU per bet per primary (us)"
    )
    with running_cluster(workdir / "one", primaries=1) as one:
        baseline, cpu = bets_on(args, one, workdir)
    print(row("1 primary", baseline, cpu, baseline))
    with running_cluster(workdir / "three") as three:
        spread, cpu = bets_on(args, three, workdir)
        print(row("3 primaries", spread, cpu, baseline))
        acked, cpu = bets_on(args, three, workdir, CROUPIER_REDIS_REPLICA_ACKS="1")
        print(row("3 primaries, acks 1", acked, cpu, baseline))
    h, a = spread.latency.summary_ms(), acked.latency.summary_ms()
    print(
        f"replica acks 1 vs 0 on 3 primaries: bets/s {acked.rate / spread.rate:.2f}x,"
        f" p50 {a['p50'] / h['p50']:.2f}x, p99 {a['p99'] / h['p99']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="clients (50)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--processes", type=int, default=1, help="driver processes (1)")
    parser.add_argument("--client", choices=CLIENT_KINDS, default=default_client())
    args = parser.parse_args()
    if (reason := cluster_unavailable()) is not None:
        raise SystemExit(reason)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
