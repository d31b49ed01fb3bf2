"""One user, several tabs on two server instances sharing one Redis."""

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx
from redis.asyncio import Redis

from server.audit import audit_user
from server.wallet import UserKeys
from tests.servers import ADMIN_TOKEN, ServerProcess, node_serving
from tests.wsclient import WsClient, new_guest

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}


async def test_500_parallel_moves_across_two_instances_are_exact(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    await parallel_moves_are_exact((server, server_b), http, redis, 500)


async def parallel_moves_are_exact(
    instances: tuple[ServerProcess, ServerProcess],
    http: httpx.AsyncClient,
    redis: Redis,
    count: int,
) -> None:
    """`count` credits and debits of one user sent at once to both instances, whose
    four tabs (two per instance) see every balance version; a replay changes nothing."""
    server, server_b = instances
    token, user = await new_guest(http, server.base_url)
    tabs = [
        await WsClient.open(instance.ws_url, token)
        for instance in (server, server_b, server, server_b)
    ]
    rng = random.Random(7)
    moves = [
        ("credit" if rng.random() < 0.4 else "debit", rng.randint(1, 900)) for _ in range(count)
    ]

    async def move(i: int, kind: str, amount: int) -> tuple[str, int, bool]:
        instance = (server, server_b)[i % 2]
        body = {
            "user": user["id"],
            "amount": amount,
            "currency": "PLAY",
            "key": f"m{i}",
            "reason": "test",
        }
        response = await http.post(
            f"{instance.base_url}/api/admin/{kind}", json=body, headers=ADMIN
        )
        if response.status_code != 200:
            assert response.json()["error"]["code"] == "INSUFFICIENT_FUNDS"
        return kind, amount, response.status_code == 200

    try:
        results = await asyncio.gather(
            *(move(i, kind, amount) for i, (kind, amount) in enumerate(moves))
        )
        applied = [(kind, amount) for kind, amount, ok in results if ok]
        expected = 100_000 + sum(
            amount if kind == "credit" else -amount for kind, amount in applied
        )

        audit = await audit_user(redis, user["id"])
        assert audit.ok, audit.problems
        assert audit.stored == {"PLAY": expected}
        final_version = audit.version
        assert final_version == 1 + len(applied)

        for tab in tabs:
            assert await tab.wait_balance_version("PLAY", final_version) == expected
            live = tab.balance_versions[2:]  # after the snapshots (PLAY, BTC) sent at auth
            assert live == sorted(live) and len(set(live)) == len(live)
            assert set(live) == set(range(2, final_version + 1))
        # Replaying a key on the other instance changes nothing.
        body = {
            "user": user["id"],
            "amount": moves[0][1],
            "currency": "PLAY",
            "key": "m0",
            "reason": "test",
        }
        again = await http.post(
            f"{server_b.base_url}/api/admin/{moves[0][0]}", json=body, headers=ADMIN
        )
        assert again.status_code != 200 or again.json()["replayed"] is True
        assert (await audit_user(redis, user["id"])).stored == {"PLAY": expected}
    finally:
        for tab in tabs:
            await tab.close()


async def test_events_reach_only_their_user(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient
) -> None:
    alice_token, alice = await new_guest(http, server.base_url)
    bob_token, _ = await new_guest(http, server.base_url)
    alice_tab = await WsClient.open(server_b.ws_url, alice_token)
    bob_tab = await WsClient.open(server_b.ws_url, bob_token)
    try:
        body = {
            "user": alice["id"],
            "amount": 5,
            "currency": "PLAY",
            "key": "only-alice",
            "reason": "test",
        }
        await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
        assert await alice_tab.wait_balance_version("PLAY", 2) == 100_005
        await asyncio.sleep(0.2)
        assert bob_tab.balances["PLAY"] == (1, 100_000)
        assert bob_tab.balance_versions == [1, 1]  # his snapshots (PLAY, BTC) only
    finally:
        await alice_tab.close()
        await bob_tab.close()


async def test_tabs_resync_after_the_pubsub_connection_drops(
    server: ServerProcess, http: httpx.AsyncClient, redis_url: str
) -> None:
    async def kill_pubsub(user_id: str) -> int:
        async with node_serving(redis_url, UserKeys(user_id).events) as node:
            killed: int = await node.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        return killed

    await tab_resyncs_after(server, http, kill_pubsub)


async def tab_resyncs_after(
    server: ServerProcess, http: httpx.AsyncClient, kill: Callable[[str], Awaitable[int]]
) -> None:
    """`kill(user id)` drops pub/sub connections (returns how many); the user's tab
    still sees the balance of each credit after it."""
    token, user = await new_guest(http, server.base_url)
    tab = await WsClient.open(server.ws_url, token)
    try:
        assert await kill(user["id"]) >= 1
        body = {
            "user": user["id"],
            "amount": 11,
            "currency": "PLAY",
            "key": "after-drop",
            "reason": "test",
        }
        await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
        # Either the event itself (after resubscribing) or the resync snapshot arrives.
        assert await tab.wait_balance_version("PLAY", 2) == 100_011
        body = {**body, "key": "later"}
        await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
        assert await tab.wait_balance_version("PLAY", 3) == 100_022
    finally:
        await tab.close()
