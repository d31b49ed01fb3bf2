"""The load-test script in smoke mode, and `croupier audit` on the test Redis."""

import asyncio
import json
import os
import sys
from typing import Any

import httpx
from redis.asyncio import Redis

from server.wallet import UserKeys
from tests.servers import ServerProcess
from tests.wsclient import WsClient, new_guest


async def run_module(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `python -m <args>`; returns (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_load_test_smoke_run_passes_its_audit(server: ServerProcess) -> None:
    # Think time keeps each socket under the server's default rate limit.
    status, out, err = await run_module(
        "loadtest", server.base_url, "--users", "4", "--tabs", "2", "--duration", "3",
        "--ramp", "0.5", "--think", "15", "--workers", "2", "--json", "--progress", "0",
    )  # fmt: skip
    assert status == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["bets"] > 20
    assert report["audit"]["users"] == 4 and report["audit"]["users_with_problems"] == 0
    assert report["audit"]["ledger_entries"] >= report["bets"] + 4  # + the signup deposits
    assert report["balance_event_lag_ms"]["count"] > 0
    assert {name.partition(":")[2] for name in report["latency_ms"] if ":" in name} == {
        "dice", "limbo", "plinko", "keno",
    }  # fmt: skip


async def audit(redis_url: str) -> tuple[int, dict[str, Any]]:
    status, out, err = await run_module(
        "server", "audit", "--json", "--show", "1000", env={"REDIS_URL": redis_url}
    )
    assert status in (0, 1), err
    report: dict[str, Any] = json.loads(out)
    return status, report


async def test_audit_command_finds_a_balance_moved_behind_the_ledger(
    server: ServerProcess, redis: Redis, redis_url: str, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, server.base_url)
    player = await WsClient.open(server.ws_url, token)
    for key in ("a1", "a2", "a3"):
        await player.request(
            "bet", game="dice", amount=100, currency="PLAY", key=key,
            params={"target": 50.5, "condition": "over"},
        )  # fmt: skip
    await player.close()

    status, clean = await audit(redis_url)
    assert status == 0 and clean["ok"], clean["problems"]
    assert clean["users"] >= 1 and clean["mismatched_users"] == 0
    dice = [row for row in clean["games"] if (row["game"], row["currency"]) == ("dice", "PLAY")]
    assert dice and dice[0]["bets"] >= 3 and dice[0]["theoretical_edge"] == 0.01

    wallet = UserKeys(user["id"]).wallet
    await redis.hincrby(wallet, "PLAY", 7)
    try:
        status, corrupted = await audit(redis_url)
    finally:
        await redis.hincrby(wallet, "PLAY", -7)
    assert status == 1 and not corrupted["ok"]
    assert corrupted["mismatched_users"] == 1
    [problems] = corrupted["problems"].values()
    assert list(corrupted["problems"]) == [user["id"]]
    assert any(problem.startswith("PLAY: stored") for problem in problems)
