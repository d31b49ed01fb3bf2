"""The back office's reports and live figures from a short run of real bets, on a server
with a Redis and a PostgreSQL database of its own (so the figures are exactly this run's)."""

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.servers import ADMIN_TOKEN, ServerProcess, private_database, private_redis
from tests.wsclient import WsClient, new_guest

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "reports"}
GAMES = {
    "dice": {"target": "50.50", "condition": "over"},
    "limbo": {"target": "2.00"},
}
BETS_EACH = 15


@pytest.fixture(scope="module")
async def report_server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> AsyncIterator[tuple[ServerProcess, str]]:
    async with (
        private_redis(tmp_path_factory.mktemp("reports-redis")) as redis_url,
        private_database(database_url) as url,
    ):
        process = ServerProcess(
            tmp_path_factory.mktemp("reports-logs"), REDIS_URL=redis_url, DATABASE_URL=url
        )
        await process.start()
        yield process, url
        await process.stop()


@pytest.fixture(scope="module")
async def run(report_server: tuple[ServerProcess, str]) -> AsyncIterator[dict[str, Any]]:
    """Two players betting (one on each game) with their tabs open: the records of the bets."""
    server, url = report_server
    records: dict[str, list[dict[str, Any]]] = {}
    tabs: list[WsClient] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for game, params in GAMES.items():
            token, user = await new_guest(http, server.base_url)
            tab = await WsClient.open(server.ws_url, token)
            tabs.append(tab)
            records[user["id"]] = [
                await tab.request(
                    "bet",
                    game=game,
                    amount=100,
                    currency="PLAY",
                    key=secrets.token_hex(8),
                    params=params,
                )
                for _ in range(BETS_EACH)
            ]
    connection = await asyncpg.connect(url)
    try:
        async with asyncio.timeout(20):
            while await connection.fetchval("SELECT count(*) FROM bets") < 2 * BETS_EACH:
                await asyncio.sleep(0.1)
    finally:
        await connection.close()
    yield {"server": server, "records": records}
    for tab in tabs:
        await tab.close()


async def get(server: ServerProcess, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{server.base_url}/api/admin/{path}", params=params, headers=ADMIN
        )
    assert response.status_code == 200, response.text
    return response.json()


def expected_by_game(records: dict[str, list[dict[str, Any]]]) -> dict[str, Counter[str]]:
    sums: dict[str, Counter[str]] = {}
    for bets in records.values():
        for record in bets:
            sum_ = sums.setdefault(record["game"], Counter())
            sum_["bets"] += 1
            sum_["wagered"] += record["amount"]
            sum_["paid"] += record["payout"]
    return sums


@pytest.mark.parametrize("bucket", ["hour", "day"])
async def test_house_profit_per_game_matches_the_bets_with_both_edges(
    run: dict[str, Any], bucket: str
) -> None:
    report = await get(run["server"], "reports/profit", bucket=bucket, periods="3")
    assert report["bucket"] == bucket and report["bucket_ms"] in (3_600_000, 86_400_000)
    got: dict[str, Counter[str]] = {}
    for item in report["series"]:
        assert item["currency"] == "PLAY" and item["start"] % report["bucket_ms"] == 0
        assert item["start"] >= report["since"]
        assert item["profit"] == item["wagered"] - item["paid"]
        assert item["edge"] == pytest.approx(item["profit"] / item["wagered"])
        sum_ = got.setdefault(item["game"], Counter())
        for field in ("bets", "wagered", "paid"):
            sum_[field] += item[field]
    assert got == expected_by_game(run["records"])
    assert report["theoretical_edge"] == {"dice": 0.01, "limbo": 0.01}


async def test_top_winners_are_the_players_ahead_by_their_net_profit(run: dict[str, Any]) -> None:
    report = await get(run["server"], "reports/winners", hours="1")
    net = {
        user: sum(record["payout"] - record["amount"] for record in bets)
        for user, bets in run["records"].items()
    }
    # Largest net first; ties in user id order, as the report promises.
    ahead = sorted(
        ((n, user) for user, n in net.items() if n > 0), key=lambda pair: (-pair[0], pair[1])
    )
    assert [(item["net"], item["user_id"]) for item in report["items"]] == ahead
    for item in report["items"]:
        assert item["bets"] == BETS_EACH and item["name"].startswith("guest-")


async def test_live_figures_count_the_last_minute_and_show_the_crash_round(
    run: dict[str, Any],
) -> None:
    live = await get(run["server"], "live")
    assert live["sockets"] == 2  # the two tabs still open
    assert live["last_minute"]["bets"] == 2 * BETS_EACH
    assert live["last_minute"]["players"] == 2
    assert live["last_minute"]["bets_per_s"] == pytest.approx(2 * BETS_EACH / 60)
    crash = live["crash"]
    assert crash["phase"] in ("betting", "running", "crashed")
    assert crash["open"] == {}  # nobody bet on Crash
    assert crash["max_payout_per_round"] == {"PLAY": 100_000_000_000, "BTC": 100_000_000_000}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("reports/profit", {"bucket": "week"}),
        ("reports/profit", {"periods": "0"}),
        ("reports/profit", {"periods": "367"}),
        ("reports/winners", {"hours": "-1"}),
        ("reports/winners", {"limit": "1000"}),
        ("actions", {"limit": "x"}),
        ("users", {}),
        ("users", {"q": "a" * 41}),
        ("reports/winners", {"hours": "1", "unknown": "1"}),
        ("actions", {"before": "9" * 30}),
        ("actions", {"before": "1e3"}),
        ("reports/profit", {"periods": "\u0663"}),
        ("reports/winners", {"hours": "1.0"}),
    ],
)
async def test_bad_report_parameters_are_bad_requests(
    report_server: tuple[ServerProcess, str], path: str, params: dict[str, str]
) -> None:
    server, _ = report_server
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{server.base_url}/api/admin/{path}", params=params, headers=ADMIN
        )
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"
