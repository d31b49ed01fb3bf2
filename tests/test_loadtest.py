"""The load-test script in smoke mode, and `croupier audit` on the test Redis."""

import asyncio
import itertools
import json
import os
import re
import shlex
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from loadtest.audit import audit_player
from loadtest.options import parse_options
from loadtest.stats import Stats
from loadtest.user import Player
from server.embedded_redis import EmbeddedRedis, running_redis_pid
from server.redis_client import connect
from server.wallet import UserKeys
from tests.crash_chain import crafted_hashes, install_chain
from tests.servers import REDIS_VERSIONS, ServerProcess, private_database, private_redis
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


PROGRESS_LINE = re.compile(r"\[\s*([\d.]+)s\] users\s+(\d+)\s+bets\s+([\d,]+) \(\s*([\d,]+)/s\)")


def progress_lines(err: str) -> list[tuple[float, int, int, int]]:
    """(elapsed s, users betting, bets so far, bets/s) of each progress line on stderr."""
    return [
        (float(m[1]), int(m[2]), int(m[3].replace(",", "")), int(m[4].replace(",", "")))
        for m in map(PROGRESS_LINE.match, err.splitlines())
        if m
    ]


async def test_load_test_smoke_run_passes_its_audit(server: ServerProcess) -> None:
    # Think time keeps each socket under the server's default rate limit.
    status, out, err = await run_module(
        "loadtest", server.base_url, "--users", "4", "--tabs", "2", "--duration", "4",
        "--ramp", "0.5", "--think", "15", "--workers", "2", "--json", "--progress", "0.5",
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
    # One line per half second, each counting every worker's bets of its interval:
    # no interval during which all users were betting shows no bets.
    lines = progress_lines(err)
    assert [elapsed for elapsed, *_ in lines] == [0.5 * k for k in range(1, len(lines) + 1)], err
    steady = [now for before, now in itertools.pairwise(lines) if before[1] == now[1] == 4]
    assert len(steady) >= 2 and all(rate > 0 for *_, rate in steady), err
    assert lines[-1][2] <= report["bets"]


async def test_the_audit_waits_for_a_bet_that_closes_just_after_the_player_saw_it_end(
    server: ServerProcess,
) -> None:
    """A Crash round shows its bets lost or cashed as it crashes, and the leader closes
    them in the wallets just after: the audit reads the ledger again while a bet is open
    (here a Mines game, cashed out half a second into the audit)."""
    options = parse_options([server.base_url, "--users", "1", "--tabs", "1"])
    async with httpx.AsyncClient(base_url=options.http_url, timeout=10) as http:
        player = Player(0, options, Stats(), http)
        await player.start()
        try:
            while True:  # a game left open after one safe tile
                start = {"amount": 10, "currency": "PLAY", "mines": 1, "key": player.next_key()}
                assert await player.send("mines:start", "mines.start", start, keyed=True)
                reply = await player.send("mines:reveal", "mines.reveal", {"tile": 0}, keyed=False)
                assert reply is not None
                if not reply.get("bet"):
                    break
                player.settled(reply["bet"])  # the mine (1 in 25): lost, play again

            async def cash_out_later() -> None:
                await asyncio.sleep(0.5)
                reply = await player.send("mines:cashout", "mines.cashout", {}, keyed=False)
                assert reply is not None
                player.settled(reply["bet"])

            (problems, _), _ = await asyncio.gather(audit_player(player), cash_out_later())
        finally:
            await player.close()
    assert problems == []


SHORT_ROUND = (Decimal("1.00"), Decimal("1.30"))
"""Crash points of the load test's rounds: at most 4.4 s of flight."""


@pytest.mark.parametrize("binary", REDIS_VERSIONS)
async def test_load_test_plays_mines_and_crash_rounds_too(
    tmp_path: Path, log_dir: Path, binary: str | None
) -> None:
    # Its own Redis: the Crash loop belongs to whichever server leads on a Redis, and this
    # one has short rounds.
    async with private_redis(tmp_path / "redis", binary) as url:
        redis = connect(url)
        await install_chain(redis, crafted_hashes(300, lambda _: SHORT_ROUND, seed=3))
        await redis.aclose()
        fast_rounds = {"CROUPIER_CRASH_BETTING_MS": "600", "CROUPIER_CRASH_CRASHED_MS": "300"}
        server = await ServerProcess(log_dir, REDIS_URL=url, **fast_rounds).start()
        try:
            status, out, err = await run_module(
                "loadtest", server.base_url, "--users", "6", "--tabs", "1", "--duration", "6",
                "--think", "15", "--workers", "1", "--mix", "mines:3,crash:2,dice:1",
                "--seed", "5", "--json", "--progress", "0",
            )  # fmt: skip
        finally:
            await server.stop()
    assert status == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["audit"]["users_with_problems"] == 0
    ops = set(report["latency_ms"])
    assert {"mines:start", "mines:reveal", "crash:bet", "crash:state", "bet:dice"} <= ops, ops
    assert report["bets"] >= 6  # each settled bet is checked against the ledger by the audit


async def test_a_refused_sign_up_is_named_with_its_fix_and_is_no_discrepancy(
    tmp_path: Path, log_dir: Path
) -> None:
    # Its own Redis: sign-up attempts are counted in Redis per client address.
    async with private_redis(tmp_path / "redis") as url:
        server = await ServerProcess(
            log_dir, REDIS_URL=url, CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE="2"
        ).start()
        try:
            status, out, err = await run_module(
                "loadtest", server.base_url, "--users", "4", "--tabs", "0", "--duration", "1",
                "--think", "15", "--workers", "1", "--progress", "0",
            )  # fmt: skip
        finally:
            await server.stop()
    assert status == 3, out + err  # the run failed; nothing was found wrong
    lines = out.splitlines()
    [refused] = [line for line in lines if line.startswith("setup failed for ")]
    failed = int(refused.split()[3])
    assert refused == f"setup failed for {failed} of 4 users (not audited):" and failed > 0
    cause = (
        "sign-up refused: RATE_LIMITED; start the server with CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE"
    )
    assert lines[lines.index(refused) + 1].startswith(f"  {failed} x {cause}")
    [audited] = [line for line in lines if line.startswith("audit: ")]
    assert audited.startswith(f"audit: {4 - failed} users,")
    assert audited.endswith(" 0 with discrepancies") and "user ?" not in out
    assert lines[-1] == "FAILED"


def readme_load_test_commands() -> tuple[dict[str, str], list[str]]:
    """The README's load-test example: the server's environment and croupier-load's arguments."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### The load test (`croupier-load`)")[1].split("\n### ")[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    commands = [shlex.split(line) for block in blocks for line in block.splitlines()]
    servers = [words for words in commands if "croupier" in words]  # else the quick start's
    [load] = [words for words in commands if words[0] == "croupier-load"]
    env = dict(word.split("=", 1) for words in servers for word in words[: words.index("croupier")])
    return env, load[1:]


async def test_the_readme_example_runs_as_written(tmp_path: Path, log_dir: Path) -> None:
    env, args = readme_load_test_commands()
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        await install_chain(redis, crafted_hashes(300, lambda _: SHORT_ROUND, seed=4))
        await redis.aclose()
        # The server's defaults except what the README sets (and short Crash rounds).
        defaults: dict[str, str | None] = {
            "CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE": None,
            "CROUPIER_MAX_SOCKETS_PER_ADDRESS": None,
        }
        server = await ServerProcess(
            log_dir, REDIS_URL=url, CROUPIER_CRASH_BETTING_MS="600",
            CROUPIER_CRASH_CRASHED_MS="300", **{**defaults, **env},
        ).start()  # fmt: skip
        try:
            # As written, with the README's URL on this server's port, for 4 s: the 50 users
            # sign up and open their 150 sockets within that time too (some 2.5 s on a
            # busy machine with a cluster), and a user set up after it places no bet.
            args = [server.base_url if arg == "http://127.0.0.1:8000" else arg for arg in args]
            status, out, err = await run_module(
                "loadtest", *args, "--duration", "4", "--workers", "1", "--json", "--progress", "0"
            )
        finally:
            await server.stop()
    assert status == 0, out + err
    report = json.loads(out)
    assert report["settings"]["users"] == 50 and report["audit"]["users"] == 50
    assert report["ok"] and report["setup_failed"]["users"] == 0


async def test_a_rate_limited_bet_is_retried_after_a_pause(redis_url: str, log_dir: Path) -> None:
    slow = {"CROUPIER_RATE_LIMIT_PER_S": "50", "CROUPIER_RATE_LIMIT_BURST": "10"}
    server = await ServerProcess(log_dir, REDIS_URL=redis_url, **slow).start()
    try:
        status, out, err = await run_module(
            "loadtest", server.base_url, "--users", "1", "--tabs", "0", "--duration", "2.5",
            "--workers", "1", "--timeout", "5", "--json", "--progress", "0",
        )  # fmt: skip
    finally:
        await server.stop()
    assert status == 0, out + err
    report = json.loads(out)
    # Refused frames are answered at once (no timeout) and never flood the socket shut.
    assert report["errors"].get("RATE_LIMITED", 0) > 0, report["errors"]
    assert set(report["errors"]) == {"RATE_LIMITED"}, report["errors"]
    assert report["ok"] and report["recovered"] == report["unresolved"] == 0


async def until_all_bet(progress: asyncio.StreamReader, users: int) -> None:
    """Read progress lines until one shows `users` users betting."""
    async with asyncio.timeout(30):
        while line := (await progress.readline()).decode():
            if any(now == users and rate > 0 for _, now, _, rate in progress_lines(line)):
                return
    raise AssertionError("the load test ended before every user was betting")


@pytest.mark.single_node(
    "kills the redis-server, restarts it on its AOF (cluster: test_cluster_failover.py)"
)
async def test_bets_caught_by_a_redis_restart_are_recovered(tmp_path: Path, log_dir: Path) -> None:
    # appendfsync always: every reply the server sent is in the AOF Redis restarts on.
    embedded = EmbeddedRedis(tmp_path / "redis", "always")
    url = await embedded.start()
    server = await ServerProcess(log_dir, REDIS_URL=url).start()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "loadtest", server.base_url, "--users", "4", "--tabs", "1",
        "--duration", "5", "--think", "15", "--workers", "1", "--json", "--progress", "0.25",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        await until_all_bet(process.stderr, 4)
        redis_pid = running_redis_pid(embedded.pidfile)
        assert redis_pid is not None
        os.kill(redis_pid, signal.SIGKILL)
        await embedded.stop()  # only reaps the killed process
        await asyncio.sleep(2)
        assert await embedded.start() == url  # on its AOF
        out, err = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await server.stop()
        await embedded.stop()
    assert process.returncode == 0, (out + err).decode()
    report = json.loads(out)
    assert report["ok"] and report["audit"]["users_with_problems"] == 0
    assert report["recovered"] > 0 and report["unresolved"] == 0


async def audit(redis_url: str, **env: str) -> tuple[int, dict[str, Any]]:
    status, out, err = await run_module(
        "server", "audit", "--json", "--show", "1000", env={"REDIS_URL": redis_url, **env}
    )
    assert status in (0, 1), err
    report: dict[str, Any] = json.loads(out)
    return status, report


async def play_a_round_of_each(server: ServerProcess, http: httpx.AsyncClient) -> tuple[str, int]:
    """Three new users: a settled dice bet, an open Mines game, a settled Quiz game.

    Returns the Mines player's id and bet id."""
    clients, ids = [], []
    for _ in range(3):
        token, user = await new_guest(http, server.base_url)
        clients.append(await WsClient.open(server.ws_url, token))
        ids.append(user["id"])
    dice, mines, quiz = clients
    params = {"target": 50.5, "condition": "over"}
    await dice.request("bet", game="dice", amount=100, currency="PLAY", key="d", params=params)
    mines_game = await mines.request("mines.start", amount=300, currency="PLAY", mines=3, key="m")
    await quiz.request("quiz.start", amount=100, currency="PLAY", key="q")
    if (await quiz.request("quiz.answer", choice=0))["state"]["state"] == "active":
        await quiz.request("quiz.cashout")  # a right answer: take the win
    for client in clients:
        await client.close()
    return ids[1], mines_game["bet_id"]


async def test_audit_names_open_bets_and_gives_quiz_no_theoretical_edge(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    async with (
        private_redis(tmp_path / "redis") as url,
        private_database(database_url) as books_url,
    ):
        server = await ServerProcess(log_dir, REDIS_URL=url, DATABASE_URL=books_url).start()
        try:
            mines_user, mines_bet = await play_a_round_of_each(server, http)
        finally:
            await server.stop()
        status, report = await audit(url, DATABASE_URL=books_url)
        text_status, text, _ = await run_module(
            "server", "audit", env={"REDIS_URL": url, "DATABASE_URL": books_url}
        )
    assert status == text_status == 0 and report["ok"]  # an open bet alone fails nothing
    assert report["open_bets"] == report["users_with_open_bets"] == 1
    edges = {row["game"]: row["theoretical_edge"] for row in report["games"]}
    assert edges == {"dice": 0.01, "mines": 0.01, "quiz": None}
    assert report["problems"] == {mines_user: [f"open bet {mines_bet} (mines, 300 PLAY)"]}
    assert f"user {mines_user}: open bet {mines_bet} (mines, 300 PLAY)" in text.splitlines()
    [quiz_row] = [line for line in text.splitlines() if line.strip().startswith("quiz ")]
    assert quiz_row.endswith("skill game")


async def test_audit_command_finds_a_balance_moved_behind_the_ledger(
    server: ServerProcess, redis: Redis, redis_url: str, http: httpx.AsyncClient, database_url: str
) -> None:
    token, user = await new_guest(http, server.base_url)
    player = await WsClient.open(server.ws_url, token)
    for key in ("a1", "a2", "a3"):
        await player.request(
            "bet", game="dice", amount=100, currency="PLAY", key=key,
            params={"target": 50.5, "condition": "over"},
        )  # fmt: skip
    await player.close()

    # The session's servers keep every entry in Redis: the replay needs no PostgreSQL, and the
    # books of an empty database leave this test to the balances (other tests' wallet-level
    # bets have no bet records, which the books would report).
    async with private_database(database_url) as empty:
        status, clean = await audit(redis_url, DATABASE_URL=empty)
    assert status == 0 and clean["ok"], (clean["problems"], clean["books_problems"])
    assert clean["users"] >= 1 and clean["mismatched_users"] == 0

    wallet = UserKeys(user["id"]).wallet
    await redis.hincrby(wallet, "PLAY", 7)
    try:
        async with private_database(database_url) as empty:
            status, corrupted = await audit(redis_url, DATABASE_URL=empty)
    finally:
        await redis.hincrby(wallet, "PLAY", -7)
    assert status == 1 and not corrupted["ok"]
    assert corrupted["mismatched_users"] == 1
    # Other tests' users may have games in progress (open bets are listed, not failures).
    problems = corrupted["problems"][user["id"]]
    assert any(problem.startswith("PLAY: stored") for problem in problems)
