"""The server on a Redis Cluster of 3 primaries and 3 replicas (Redis 7)."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

import server
from server.audit import audit_all, audit_user
from server.db.archiver import journal_key
from server.realtime.sessions import CLOSE_SESSION_ENDED
from server.realtime.subscriber import ClusterSubscriber
from server.redis_client import connect
from server.redis_cluster_scripts import USER_PUBLISH, ClusterScriptRunner
from server.redis_scripts import ReplicaAcks
from server.slots import SLOTS, key_slot
from server.wallet import UserKeys, Wallet, WalletScripts
from tests.cluster import Cluster, cluster_unavailable, running_cluster
from tests.servers import ADMIN_TOKEN, ServerProcess, private_database
from tests.test_multi_instance import parallel_moves_are_exact, tab_resyncs_after
from tests.wsclient import WsClient, new_guest

pytestmark = pytest.mark.skipif(
    cluster_unavailable() is not None, reason=str(cluster_unavailable())
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="session")
async def cluster_redis(cluster: Cluster) -> AsyncIterator[Redis]:
    client = connect(cluster.url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def cluster_runner(cluster: Cluster) -> AsyncIterator[ClusterScriptRunner]:
    runner = ClusterScriptRunner(cluster.url)
    yield runner
    await runner.aclose()


@pytest.fixture(scope="session")
def cluster_wallet(cluster_redis: Redis, cluster_runner: ClusterScriptRunner) -> Wallet:
    return Wallet(cluster_redis, WalletScripts.register(cluster_runner), idempotency_ttl_s=86_400)


def users_on_each_primary(cluster: Cluster) -> list[str]:
    """One new user id per primary, each with its keys on that primary."""
    found: dict[int, str] = {}
    while len(found) < len(cluster.primaries()):
        user = secrets.token_hex(8)
        found.setdefault(cluster.primary_of(UserKeys(user).wallet).port, user)
    return list(found.values())


@pytest.fixture(scope="session")
async def cluster_server(cluster: Cluster, log_dir: Path) -> AsyncIterator[ServerProcess]:
    """An instance given the cluster as REDIS_CLUSTER_NODES."""
    process = ServerProcess(log_dir, REDIS_URL=None, REDIS_CLUSTER_NODES=cluster.nodes_setting)
    yield await process.start()
    await process.stop()


@pytest.fixture(scope="session")
async def cluster_server_b(cluster: Cluster, log_dir: Path) -> AsyncIterator[ServerProcess]:
    """A second instance, given the cluster as a `redis+cluster://` REDIS_URL."""
    process = ServerProcess(log_dir, REDIS_URL=cluster.url)
    yield await process.start()
    await process.stop()


async def test_parallel_moves_on_two_instances_are_exact_and_every_tab_sees_every_version(
    cluster_server: ServerProcess,
    cluster_server_b: ServerProcess,
    http: httpx.AsyncClient,
    cluster_redis: Redis,
) -> None:
    await parallel_moves_are_exact((cluster_server, cluster_server_b), http, cluster_redis, 200)


async def test_each_call_runs_on_the_primary_of_its_slot(
    cluster: Cluster, cluster_wallet: Wallet
) -> None:
    users = users_on_each_primary(cluster)
    assert len(users) == 3
    moves = await asyncio.gather(
        *(
            cluster_wallet.credit(user, 7, "PLAY", key=f"k{i}", kind="deposit")
            for i, user in enumerate(users)
        )
    )
    assert [move.balance for move in moves] == [7, 7, 7]
    for user in users:
        node = cluster.primary_of(UserKeys(user).wallet)
        assert node.cli("hget", UserKeys(user).wallet, "PLAY").strip() == "7"


async def test_a_call_whose_keys_span_two_slots_is_refused(
    cluster_runner: ClusterScriptRunner,
) -> None:
    script = cluster_runner.script("return 1")
    with pytest.raises(ValueError, match="different slots"):
        await script(["{u:a}:wallet", "{u:b}:wallet"])


async def test_scripts_a_node_forgot_are_loaded_again(
    cluster: Cluster, cluster_wallet: Wallet
) -> None:
    user = users_on_each_primary(cluster)[0]
    await cluster_wallet.credit(user, 5, "PLAY", key="before", kind="deposit")
    for node in cluster.primaries():
        node.cli("script", "flush")
        node.cli("function", "flush")  # Redis 7: the scripts are function libraries
    move = await cluster_wallet.credit(user, 5, "PLAY", key="after", kind="deposit")
    assert move.balance == 10


async def test_calls_follow_a_slot_that_moves_and_one_that_is_migrating(
    cluster: Cluster,
    cluster_wallet: Wallet,
    cluster_runner: ClusterScriptRunner,
    cluster_redis: Redis,
) -> None:
    user = users_on_each_primary(cluster)[0]
    keys = UserKeys(user)
    slot = key_slot(keys.wallet)
    await cluster_wallet.credit(user, 10, "PLAY", key="first", kind="deposit")
    home = cluster.primary_of(keys.wallet)
    others = [node for node in cluster.primaries() if node is not home]

    # Moved: the old owner answers MOVED, the runner reads the slot map again.
    await asyncio.to_thread(cluster.move_slot, slot, others[0])
    moved = await cluster_wallet.credit(user, 10, "PLAY", key="moved", kind="deposit")
    assert moved.balance == 20

    # Migrating: the keys already left, the old owner answers ASK for them. A script
    # with a key that is on neither node (a new idempotency key) is refused with
    # TRYAGAIN until the slot has moved: it is retried after a backoff.
    await asyncio.to_thread(cluster.move_slot, slot, others[1], False)
    try:
        asked = await cluster_runner.execute("HGET", keys.wallet, "PLAY")
        assert asked == "20"
        assert others[0].cli("hget", keys.wallet, "PLAY").startswith("ASK")
        during = asyncio.create_task(
            cluster_wallet.credit(user, 10, "PLAY", key="during", kind="deposit")
        )
        await asyncio.sleep(0.3)
        assert not during.done()
    finally:
        await asyncio.to_thread(cluster.finish_move, slot, others[1])
    assert (await during).balance == 30
    assert others[1].cli("hget", keys.wallet, "PLAY").strip() == "30"
    audit = await audit_user(cluster_redis, user)
    assert audit.ok and audit.stored == {"PLAY": 30}, audit.problems


async def test_the_subscriber_hears_public_and_sharded_channels(
    cluster: Cluster, cluster_wallet: Wallet, cluster_redis: Redis
) -> None:
    users = users_on_each_primary(cluster)
    received: list[tuple[str, str]] = []
    subscriber = ClusterSubscriber(cluster.url, lambda *message: received.append(message))
    await subscriber.connect()
    try:
        await subscriber.subscribe("croupier:public", *(UserKeys(u).events for u in users))
        for i, user in enumerate(users):
            await cluster_wallet.credit(user, 3, "PLAY", key=f"heard{i}", kind="deposit")
        await cluster_redis.publish("croupier:public", "to everyone")
        async with asyncio.timeout(5):
            while len(received) < len(users) + 1:
                await asyncio.sleep(0.01)
        assert ("croupier:public", "to everyone") in received
        assert {channel for channel, _ in received} == {
            "croupier:public",
            *(UserKeys(u).events for u in users),
        }
    finally:
        subscriber.close()


async def test_the_subscriber_ends_when_a_channel_slot_moves_away(
    cluster: Cluster,
) -> None:
    user = users_on_each_primary(cluster)[1]
    slot = key_slot(UserKeys(user).events)
    subscriber = ClusterSubscriber(cluster.url, print)
    await subscriber.connect()
    try:
        await subscriber.subscribe(UserKeys(user).events)
        target = next(n for n in cluster.primaries() if n is not cluster.primary_of_slot(slot))
        await asyncio.to_thread(cluster.move_slot, slot, target)
        async with asyncio.timeout(5):
            await subscriber.lost()
        assert not subscriber.connected
    finally:
        subscriber.close()


def test_only_the_ledger_helper_publishes_a_users_events() -> None:
    """A script that PUBLISHed a user's event itself would miss the sharded
    subscribers of a cluster: every one goes through `publish_user`."""
    package = Path(server.__file__).parent
    for path in package.rglob("*.lua"):
        text = path.read_text()
        assert "'PUBLISH'" not in text.replace(USER_PUBLISH, ""), path
        assert "'SPUBLISH'" not in text, path
    assert USER_PUBLISH in (package / "wallet" / "_ledger.lua").read_text()


async def guests_on_each_primary(
    cluster: Cluster, http: httpx.AsyncClient, base_url: str
) -> list[tuple[str, dict[str, Any]]]:
    """One new guest (token, user) per primary, each with its keys on that primary."""
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    while len(found) < len(cluster.primaries()):
        token, user = await new_guest(http, base_url)
        found.setdefault(cluster.primary_of(UserKeys(user["id"]).wallet).port, (token, user))
    return list(found.values())


async def test_bets_of_users_on_every_primary_and_a_mines_game_audit_exact(
    cluster: Cluster,
    cluster_server: ServerProcess,
    cluster_server_b: ServerProcess,
    http: httpx.AsyncClient,
    cluster_redis: Redis,
) -> None:
    guests = await guests_on_each_primary(cluster, http, cluster_server.base_url)
    tabs = [
        await WsClient.open(instance.ws_url, token)
        for token, _ in guests
        for instance in (cluster_server, cluster_server_b)
    ]
    try:
        records = await asyncio.gather(
            *(
                tab.request(
                    "bet",
                    game="dice",
                    amount=100 + i,
                    currency="PLAY",
                    params={"target": 50.5, "condition": "over"},
                    key=f"bet-{n}-{i}",
                )
                for n, tab in enumerate(tabs)
                for i in range(20)
            )
        )
        assert len(records) == len(tabs) * 20
        mines = tabs[0]
        started = await mines.request(
            "mines.start", amount=1_000, currency="PLAY", mines=3, key="mines-1"
        )
        assert started["state"]["state"] == "active"
        revealed = await mines.request("mines.reveal", tile=0)
        if revealed["state"]["state"] == "active":  # not a mine: take the win
            cashed = await mines.request("mines.cashout")
            assert cashed["state"]["state"] == "cashed"
        for token_user, pair in zip(guests, range(0, len(tabs), 2), strict=True):
            audit = await audit_user(cluster_redis, token_user[1]["id"])
            assert audit.ok and not audit.open_bets, audit.problems
            for tab in tabs[pair : pair + 2]:  # both instances saw every version
                assert await tab.wait_balance_version("PLAY", audit.version) == audit.stored["PLAY"]
        report = await audit_all(cluster_redis, batch=7)
        assert report.ok, report.failed
        assert report.users >= len(guests)
        assert report.open_bets == 0
    finally:
        for tab in tabs:
            await tab.close()


async def test_tabs_get_a_snapshot_after_their_channel_slot_moves(
    cluster: Cluster, cluster_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, cluster_server.base_url)
    tab = await WsClient.open(cluster_server.ws_url, token)
    try:
        assert tab.balance_versions == [1, 1]  # the snapshots (PLAY, BTC) sent at auth
        slot = key_slot(UserKeys(user["id"]).events)
        home = cluster.primary_of_slot(slot)
        target = next(node for node in cluster.primaries() if node is not home)
        await asyncio.to_thread(cluster.move_slot, slot, target)
        async with asyncio.timeout(10):  # resubscribed on the new owner, then resynced
            while len(tab.balance_versions) < 4:
                await tab.events.get()
        assert tab.balance_versions == [1, 1, 1, 1]
        body = {
            "user": user["id"],
            "amount": 9,
            "currency": "PLAY",
            "key": "after-move",
            "reason": "test",
        }
        response = await http.post(
            f"{cluster_server.base_url}/api/admin/credit", json=body, headers=ADMIN
        )
        assert response.status_code == 200
        assert await tab.wait_balance_version("PLAY", 2) == 100_009
    finally:
        await tab.close()


async def test_signing_out_closes_the_tabs_on_every_instance(
    cluster_server: ServerProcess, cluster_server_b: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, cluster_server.base_url)
    tabs = [await WsClient.open(s.ws_url, token) for s in (cluster_server, cluster_server_b)]
    response = await http.post(
        f"{cluster_server.base_url}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    for tab in tabs:
        async with asyncio.timeout(10):
            await tab.connection.wait_closed()


async def test_an_admin_finds_and_revokes_a_users_sessions_on_every_primary(
    cluster_server: ServerProcess, cluster_server_b: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, cluster_server.base_url)
    tabs = [await WsClient.open(s.ws_url, token) for s in (cluster_server, cluster_server_b)]
    found = await http.get(
        f"{cluster_server.base_url}/api/admin/users", params={"q": user["id"]}, headers=ADMIN
    )
    assert len(found.json()["sessions"]) == 1
    response = await http.post(
        f"{cluster_server.base_url}/api/admin/sessions/revoke",
        json={"user": user["id"], "reason": "test"},
        headers=ADMIN,
    )
    assert response.json() == {"revoked": 1}
    for tab in tabs:
        async with asyncio.timeout(10):
            await tab.connection.wait_closed()
        assert tab.connection.close_code == CLOSE_SESSION_ENDED


async def test_a_write_too_few_replicas_acknowledged_is_an_unknown_outcome(
    cluster: Cluster, cluster_redis: Redis
) -> None:
    """Every primary has one replica: a WAIT for two times out, the script has run."""
    runners = [
        ClusterScriptRunner(cluster.url, acks=ReplicaAcks(replicas, 50)) for replicas in (2, 1)
    ]
    too_many, enough = (
        Wallet(cluster_redis, WalletScripts.register(runner), idempotency_ttl_s=86_400)
        for runner in runners
    )
    user = secrets.token_hex(8)
    try:
        for _ in range(2):  # the retry with the same key replays: still unconfirmed
            with pytest.raises(RedisConnectionError, match="outcome unknown"):
                await too_many.credit(user, 5, "PLAY", key="once", kind="deposit")
        move = await enough.credit(user, 5, "PLAY", key="once", kind="deposit")
        assert move.replayed and move.balance == 5
        assert (await enough.balances(user)).balances == {"PLAY": 5}
    finally:
        for runner in runners:
            await runner.aclose()


async def bet_until_acknowledged(tab: WsClient, key: str) -> dict[str, Any]:
    """Place a dice bet, retrying with the same key while the outcome is unknown."""
    while True:
        reply = await tab.call(
            "bet", game="dice", amount=100, currency="PLAY", key=key,
            params={"target": 50.5, "condition": "over"},
        )  # fmt: skip
        if reply["ok"]:
            return dict(reply["data"])
        assert reply["error"]["code"] in ("INTERNAL", "UNAVAILABLE"), reply
        await asyncio.sleep(0.05)


async def test_a_primary_killed_under_bets_fails_over_and_no_acknowledged_bet_is_lost(
    own_cluster: Cluster, log_dir: Path, http: httpx.AsyncClient
) -> None:
    server = ServerProcess(log_dir, REDIS_URL=own_cluster.url, CROUPIER_REDIS_REPLICA_ACKS="1")
    await server.start()
    guests = await guests_on_each_primary(own_cluster, http, server.base_url)
    tabs = [await WsClient.open(server.ws_url, token) for token, _ in guests]
    victim = own_cluster.primary_of(UserKeys(guests[0][1]["id"]).wallet)
    halfway = asyncio.Event()
    per_user = 40

    async def play(n: int, tab: WsClient) -> list[dict[str, Any]]:
        placed = []
        for i in range(per_user):
            placed.append(await bet_until_acknowledged(tab, f"fo-{n}-{i}"))
            if n == 0 and i == per_user // 4:
                halfway.set()
        return placed

    try:
        async with asyncio.timeout(120):
            playing = asyncio.gather(*(play(n, tab) for n, tab in enumerate(tabs)))
            await halfway.wait()
            # Kill -9 with bets in flight; until the killed node is back as the new
            # primary's replica, that primary's writes cannot be acknowledged.
            await asyncio.to_thread(own_cluster.fail_over, victim)
            placed = await playing
        assert victim not in own_cluster.primaries()
        redis = connect(own_cluster.url)
        try:
            for (_, user), tab, bets in zip(guests, tabs, placed, strict=True):
                audit = await audit_user(redis, user["id"])
                assert audit.ok and not audit.open_bets, audit.problems
                ledger = await redis.hgetall(UserKeys(user["id"]).ledger)
                kinds = [json.loads(entry)["type"] for entry in ledger.values()]
                assert kinds.count("bet") == per_user  # each acknowledged bet, once
                assert len({bet["id"] for bet in bets}) == per_user
                # The server followed the failover: this tab still gets every event.
                assert await tab.wait_balance_version("PLAY", audit.version) == audit.stored["PLAY"]
        finally:
            await redis.aclose()
    finally:
        for tab in tabs:
            await tab.close()
        await server.stop()


async def test_a_busy_users_slot_migrates_while_it_bets(
    cluster: Cluster,
    cluster_server: ServerProcess,
    http: httpx.AsyncClient,
    cluster_redis: Redis,
) -> None:
    token, user = await new_guest(http, cluster_server.base_url)
    keys = UserKeys(user["id"])
    tab = await WsClient.open(cluster_server.ws_url, token)
    started = asyncio.Event()
    count = 60

    async def play() -> None:
        for i in range(count):
            await bet_until_acknowledged(tab, f"busy-{i}")
            if i == 10:
                started.set()

    try:
        async with asyncio.timeout(60):
            playing = asyncio.create_task(play())
            await started.wait()
            home = cluster.primary_of(keys.wallet)
            target = next(node for node in cluster.primaries() if node is not home)
            await asyncio.to_thread(cluster.move_slot, key_slot(keys.wallet), target)
            await playing
        assert cluster.primary_of(keys.wallet) is target
        audit = await audit_user(cluster_redis, user["id"])
        assert audit.ok and not audit.open_bets, audit.problems
        ledger = await cluster_redis.hgetall(keys.ledger)
        assert [json.loads(entry)["type"] for entry in ledger.values()].count("bet") == count
        assert await tab.wait_balance_version("PLAY", audit.version) == audit.stored["PLAY"]
    finally:
        await tab.close()


async def test_the_archiver_empties_the_journal_of_every_slot(
    cluster: Cluster,
    cluster_server: ServerProcess,
    http: httpx.AsyncClient,
    cluster_runner: ClusterScriptRunner,
    database_url: str,
) -> None:
    base_url = cluster_server.base_url

    async def waiting() -> int:
        lengths = await asyncio.gather(
            *(cluster_runner.execute("XLEN", journal_key(slot)) for slot in range(SLOTS))
        )
        return sum(lengths)

    users = [user["id"] for _, user in await guests_on_each_primary(cluster, http, base_url)]
    for user in users:
        body = {"user": user, "amount": 5, "currency": "PLAY", "key": "journaled", "reason": "test"}
        response = await http.post(f"{base_url}/api/admin/credit", json=body, headers=ADMIN)
        assert response.status_code == 200
    async with asyncio.timeout(30):  # read on each primary, written to PostgreSQL, deleted
        while await waiting():
            await asyncio.sleep(0.1)
    database = await asyncpg.connect(database_url)
    try:
        archived = await database.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE user_id = ANY($1)",
            users,
        )
    finally:
        await database.close()
    assert archived == 2 * len(users)  # each one's signup and this credit


async def test_croupier_audit_reads_every_primary(
    cluster: Cluster, cluster_server: ServerProcess, http: httpx.AsyncClient, database_url: str
) -> None:
    guests = await guests_on_each_primary(cluster, http, cluster_server.base_url)
    # The test servers keep every entry in Redis, so the replay needs no PostgreSQL; an empty
    # database keeps the books of other tests' wallet-level bets (which have no bet records)
    # out of this test.
    async with private_database(database_url) as empty:
        env = {**os.environ, "REDIS_CLUSTER_NODES": cluster.nodes_setting, "DATABASE_URL": empty}
        env.pop("REDIS_URL", None)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "server", "audit", "--json", "--batch", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["mismatched_users"] == 0
    assert report["users"] >= len(guests)


async def test_tabs_resync_after_a_shard_pubsub_connection_drops(
    cluster: Cluster, cluster_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    async def kill_on_the_users_primary(user_id: str) -> int:
        home = cluster.primary_of(UserKeys(user_id).events)
        return int(await asyncio.to_thread(home.cli, "client", "kill", "type", "pubsub"))

    await tab_resyncs_after(cluster_server, http, kill_on_the_users_primary)
