"""Responsible-play limits over real servers, a private Redis and real WebSockets.

Three instances share one Redis: `a` and `b` on the real clock and `later` whose
limits clock runs 25 hours ahead (CROUPIER_CLOCK_OFFSET_S), so a raise that waits
24 h is pending on `a` and in force on `later` without any sleep.
"""

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from server.audit import audit_user
from server.crash import keys as crash_keys
from server.errors import CroupierError, ErrorCode
from server.limits.context import LimitContexts
from server.limits.periods import Clock, periods
from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.wallet import UserKeys, Wallet, WalletScripts
from server.wallet.scripts import script_source
from tests.crash_chain import crafted_hashes, install_chain
from tests.servers import ADMIN_TOKEN, ServerProcess, private_postgres, private_redis
from tests.wsclient import ReplyError, WsClient, new_guest

LATER_S = 25 * 3600
LIMITS_SET = Path(__file__).parent.parent / "server" / "limits" / "limits_set.lua"
DAY_MS = 86_400_000
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}
SETTINGS = {
    "CROUPIER_CRASH_BETTING_MS": "1500",
    "CROUPIER_CRASH_TICK_MS": "50",
    "CROUPIER_CRASH_CRASHED_MS": "200",
    "CROUPIER_FAUCET_INTERVAL_S": "1",
    "CROUPIER_RATE_LIMIT_PER_S": "100000",  # the races below bet as fast as the server answers
    "CROUPIER_RATE_LIMIT_BURST": "100000",
}
DICE = {"target": "98.00", "condition": "over"}
"""A dice bet that loses 98 times in 100: stakes mostly become losses."""
SURE_LOSS = {"target": "1000000.00"}
"""A Limbo bet that wins about once in a million: its stake is lost."""


@pytest.fixture(scope="module")
async def limits_redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with private_redis(tmp_path_factory.mktemp("limits-redis")) as url:
        yield url


@pytest.fixture(scope="module")
async def limits_redis(limits_redis_url: str) -> AsyncIterator[Redis]:
    client = connect(limits_redis_url)
    await install_chain(client, crafted_hashes(400, lambda _: (1, 1), seed=7))
    yield client
    await client.aclose()


async def _start(url: str, log_dir: Path, **env: str) -> ServerProcess:
    return await ServerProcess(log_dir, REDIS_URL=url, **SETTINGS, **env).start()


@pytest.fixture(scope="module")
async def sites(
    limits_redis: Redis, limits_redis_url: str, log_dir: Path
) -> AsyncIterator[dict[str, ServerProcess]]:
    """Instances `a`, `b` (real clock) and `later` (25 h ahead) on one Redis."""
    started = await asyncio.gather(
        _start(limits_redis_url, log_dir),
        _start(limits_redis_url, log_dir),
        _start(limits_redis_url, log_dir, CROUPIER_CLOCK_OFFSET_S=str(LATER_S)),
    )
    yield dict(zip(("a", "b", "later"), started, strict=True))
    await asyncio.gather(*(server.stop() for server in started))


class Player:
    """A guest with a token, usable over HTTP and WebSockets on any instance."""

    def __init__(self, http: httpx.AsyncClient, token: str, user: dict[str, Any]) -> None:
        self.http = http
        self.token = token
        self.id: str = user["id"]
        self.sockets: list[WsClient] = []

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def tab(self, server: ServerProcess) -> WsClient:
        client = await WsClient.open(server.ws_url, self.token)
        self.sockets.append(client)
        return client

    async def put(self, server: ServerProcess, **change: Any) -> httpx.Response:
        return await self.http.put(f"{server.base_url}/api/limits", json=change, headers=self.auth)

    async def set(self, server: ServerProcess, **change: Any) -> dict[str, Any]:
        response = await self.put(server, **change)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def view(self, server: ServerProcess) -> dict[str, Any]:
        response = await self.http.get(f"{server.base_url}/api/limits", headers=self.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def faucet(self, server: ServerProcess) -> httpx.Response:
        return await self.http.post(f"{server.base_url}/api/wallet/faucet", headers=self.auth)


@pytest.fixture
async def new_player(http: httpx.AsyncClient, sites: dict[str, ServerProcess]) -> Any:
    made: list[Player] = []

    async def make() -> Player:
        token, user = await new_guest(http, sites["a"].base_url)
        player = Player(http, token, user)
        made.append(player)
        return player

    yield make
    for player in made:
        for socket in player.sockets:
            await socket.close()


def limit_of(view: dict[str, Any], kind: str, period: str = "day") -> dict[str, Any]:
    (found,) = [x for x in view["limits"] if (x["kind"], x["period"]) == (kind, period)]
    return found


async def dice(tab: WsClient, amount: int) -> dict[str, Any]:
    return await tab.request(
        "bet", game="dice", amount=amount, currency="PLAY", params=DICE, key=secrets.token_hex(8)
    )


RETRY = frozenset({"BUSY", "RATE_LIMITED"})
"""Codes that ask for the same request again (the instances' race for the nonce, the rate)."""


async def bet_until_refused(
    tab: WsClient, amount: int, game: str = "dice", params: dict[str, str] = DICE
) -> list[dict[str, Any]]:
    """Bets until one is refused for another reason than RETRY (retried with its key);
    returns the bets placed and, last, that refusal."""
    outcomes: list[dict[str, Any]] = []
    for _ in range(400):
        request = {"game": game, "amount": amount, "currency": "PLAY", "params": params}
        request["key"] = secrets.token_hex(8)
        while True:
            try:
                outcomes.append(await tab.request("bet", **request))
                break
            except ReplyError as error:
                if error.code not in RETRY:
                    return [*outcomes, error.error]
            await asyncio.sleep(0.05)
    return outcomes


async def refused(code: str, call: Any) -> dict[str, Any]:
    with pytest.raises(ReplyError) as caught:
        await call
    assert caught.value.code == code, caught.value
    return caught.value.error


async def balanced(redis: Redis, user_id: str) -> dict[str, int]:
    audit = await audit_user(redis, user_id)
    assert audit.ok, audit.problems
    return audit.stored


def next_midnight_ms(zone: str, now_ms: int) -> int:
    return periods(zone, now_ms).day_end


# --- periods, computed in Python -------------------------------------------------------


def test_a_day_starts_at_local_midnight_a_week_on_monday_a_month_on_the_first() -> None:
    zone = ZoneInfo("Pacific/Auckland")
    before = datetime(2026, 3, 1, 23, 59, 59, tzinfo=zone)  # a Sunday, last of February+1
    after = before + timedelta(seconds=2)
    p, q = (
        periods("Pacific/Auckland", int(before.timestamp() * 1000)),
        periods("Pacific/Auckland", int(after.timestamp() * 1000)),
    )
    assert (p.day, p.week, p.month) == ("2026-03-01", "2026-02-23", "2026-03-01")
    assert (q.day, q.week, q.month) == ("2026-03-02", "2026-03-02", "2026-03-01")
    assert p.day_end == p.week_end == int(datetime(2026, 3, 2, tzinfo=zone).timestamp() * 1000)
    assert p.month_end == int(datetime(2026, 4, 1, tzinfo=zone).timestamp() * 1000)
    # The same instant is still Sunday 1 March in UTC: the zone decides.
    utc = periods("UTC", int(after.timestamp() * 1000))
    assert utc.day == "2026-03-01" and utc.day_end == int(
        datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000
    )


def test_a_day_with_a_clock_change_is_23_or_25_hours_long() -> None:
    spring = periods("Europe/Paris", int(datetime(2026, 3, 29, 12, tzinfo=UTC).timestamp() * 1000))
    autumn = periods("Europe/Paris", int(datetime(2026, 10, 25, 12, tzinfo=UTC).timestamp() * 1000))
    assert spring.day_end - spring.day_start == 23 * 3_600_000
    assert autumn.day_end - autumn.day_start == 25 * 3_600_000
    new_year = periods(
        "Europe/Paris", int(datetime(2026, 12, 31, 23, 30, tzinfo=UTC).timestamp() * 1000)
    )
    assert (new_year.day, new_year.week, new_year.month) == (
        "2027-01-01",
        "2026-12-28",
        "2027-01-01",
    )


# --- the rules of a bet -----------------------------------------------------------------


async def test_two_tabs_on_two_instances_never_lose_past_a_loss_limit(
    sites: dict[str, ServerProcess], limits_redis: Redis, new_player: Any
) -> None:
    player: Player = await new_player()
    view = await player.set(sites["a"], currency="PLAY", kind="loss", period="day", amount=1_000)
    assert limit_of(view, "loss") | {"used": 0} == limit_of(view, "loss")
    tabs = [await player.tab(sites["a"]), await player.tab(sites["b"])]

    # Each tab bets until the limit refuses one; every stake is lost.
    per_tab = await asyncio.gather(
        *(bet_until_refused(tab, 70, "limbo", SURE_LOSS) for tab in tabs)
    )
    results = [outcome for outcomes in per_tab for outcome in outcomes]
    placed = [x for x in results if "payout" in x]
    refusals = [x for x in results if "code" in x]
    lost = sum(x["amount"] - x["payout"] for x in placed)
    assert lost <= 1_000, "the loss limit is never overshot, by not one minor unit"
    assert len(refusals) == 2 and {x["code"] for x in refusals} == {"LOSS_LIMIT"}
    assert lost == 14 * 70, "and it is used up to the last stake that fits"
    tomorrow = next_midnight_ms("UTC", int(time.time() * 1000))
    assert {x["data"]["resets_at"] for x in refusals} == {tomorrow}
    assert "daily loss limit" in refusals[0]["message"]
    assert limit_of(await player.view(sites["b"]), "loss")["used"] == lost
    stored = await balanced(limits_redis, player.id)
    assert stored["PLAY"] == 100_000 - lost


async def test_a_wager_limit_counts_instant_mines_and_crash_bets(
    sites: dict[str, ServerProcess], limits_redis: Redis, new_player: Any
) -> None:
    player: Player = await new_player()
    await player.set(sites["a"], currency="PLAY", kind="wager", period="week", amount=1_000)
    tab = await player.tab(sites["a"])
    await dice(tab, 300)
    await tab.request(
        "mines.start", amount=300, currency="PLAY", mines=24, key=secrets.token_hex(6)
    )
    reveal = await tab.request("mines.reveal", tile=7)
    if reveal["state"]["state"] == "active":
        await tab.request("mines.cashout")
    await wait_for_betting(tab)
    crash = await tab.request("crash.bet", amount=300, currency="PLAY", key=secrets.token_hex(6))
    assert crash["bet"]["amount"] == 300
    # 900 wagered: 100 more is fine, 101 is not, in any game.
    error = await refused("WAGER_LIMIT", dice(tab, 101))
    assert error["data"]["resets_at"] == periods("UTC", int(time.time() * 1000)).week_end
    await refused(
        "WAGER_LIMIT",
        tab.request("mines.start", amount=101, currency="PLAY", mines=3, key=secrets.token_hex(6)),
    )
    await wait_for_betting(tab)
    await refused(
        "WAGER_LIMIT",
        tab.request("crash.bet", amount=101, currency="PLAY", key=secrets.token_hex(6)),
    )
    assert await limits_redis.hget(crash_keys.BETS, player.id) is None, "no place is held"
    await dice(tab, 100)
    assert limit_of(await player.view(sites["a"]), "wager", "week")["used"] == 1_000
    await wait_settled(limits_redis, player.id)


async def test_mines_and_dice_racing_on_two_instances_stop_exactly_at_a_wager_limit(
    sites: dict[str, ServerProcess], limits_redis: Redis, new_player: Any
) -> None:
    player: Player = await new_player()
    await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=2_000)
    mines_tab, dice_tab, crash_tab = (
        await player.tab(sites["a"]), await player.tab(sites["b"]), await player.tab(sites["b"]),
    )  # fmt: skip
    await wait_for_betting(crash_tab)
    await crash_tab.request("crash.bet", amount=300, currency="PLAY", key=secrets.token_hex(6))

    async def mines() -> tuple[int, str]:
        for played in range(40):
            try:
                await mines_tab.request(
                    "mines.start", amount=100, currency="PLAY", mines=24, key=secrets.token_hex(6)
                )
            except ReplyError as error:
                return played, error.code
            reveal = await mines_tab.request("mines.reveal", tile=7)
            if reveal["state"]["state"] == "active":
                await mines_tab.request("mines.cashout")
        return 40, "none"

    async def dice_bets() -> tuple[int, str]:
        outcomes = await bet_until_refused(dice_tab, 100)
        return len(outcomes) - 1, outcomes[-1].get("code", "none")

    (games, mines_code), (bets, dice_code) = await asyncio.gather(mines(), dice_bets())
    assert (mines_code, dice_code) == ("WAGER_LIMIT", "WAGER_LIMIT")
    assert 300 + 100 * (games + bets) == 2_000, "every minor unit of the limit, not one more"
    assert limit_of(await player.view(sites["a"]), "wager")["used"] == 2_000
    await wait_settled(limits_redis, player.id)


async def wait_for_betting(tab: WsClient) -> dict[str, Any]:
    """The next Crash round open for bets with at least 700 ms left."""
    await tab.request("crash.state")
    async with asyncio.timeout(60):
        while True:
            event = await tab.next_event("crash.state", 60)
            data = event["data"]
            if data["phase"] == "betting" and data["betting_ends"] - time.time() * 1000 >= 700:
                return dict(data)


async def wait_settled(redis: Redis, user_id: str) -> None:
    async with asyncio.timeout(30):
        while True:
            audit = await audit_user(redis, user_id)
            if not audit.open_bets:
                assert audit.ok, audit.problems
                return
            await asyncio.sleep(0.2)


async def test_a_raise_waits_24_hours_and_a_lowering_applies_at_once(
    sites: dict[str, ServerProcess], new_player: Any
) -> None:
    player: Player = await new_player()
    await player.set(sites["a"], currency="PLAY", kind="loss", period="day", amount=5_000)
    view = await player.set(sites["a"], currency="PLAY", kind="loss", period="day", amount=1_000)
    assert limit_of(view, "loss")["amount"] == 1_000 and limit_of(view, "loss")["pending"] is None
    tab = await player.tab(sites["a"])
    await refused("LOSS_LIMIT", dice(tab, 2_000))

    asked = int(time.time() * 1000)
    view = await player.set(sites["a"], currency="PLAY", kind="loss", period="day", amount=9_000)
    pending = limit_of(view, "loss")["pending"]
    assert limit_of(view, "loss")["amount"] == 1_000 and pending["amount"] == 9_000
    assert asked + DAY_MS <= pending["effective_at"] <= int(time.time() * 1000) + DAY_MS
    await refused("LOSS_LIMIT", dice(tab, 2_000))
    assert limit_of(await player.view(sites["b"]), "loss")["pending"] == pending

    later = await player.view(sites["later"])
    assert limit_of(later, "loss")["amount"] == 9_000 and limit_of(later, "loss")["pending"] is None
    later_tab = await player.tab(sites["later"])
    placed = await dice(later_tab, 2_000)
    assert placed["amount"] == 2_000

    history = (await player.view(sites["a"]))["history"]
    assert [(h["setting"], h["old"], h["new"]) for h in history[:3]] == [
        ("PLAY:loss:day", "1000", "9000"),
        ("PLAY:loss:day", "5000", "1000"),
        ("PLAY:loss:day", "", "5000"),
    ]
    assert (
        history[0]["effective_at"] == pending["effective_at"] and history[0]["actor"] == player.id
    )


async def test_a_removed_limit_stays_until_24_hours_pass(
    sites: dict[str, ServerProcess], new_player: Any
) -> None:
    player: Player = await new_player()
    await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=500)
    view = await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=None)
    assert limit_of(view, "wager")["amount"] == 500
    assert limit_of(view, "wager")["pending"]["amount"] is None
    await refused("WAGER_LIMIT", dice(await player.tab(sites["a"]), 501))
    assert (await player.view(sites["later"]))["limits"] == []
    await dice(await player.tab(sites["later"]), 501)


ZONES = ["Pacific/Kiritimati", "Asia/Tokyo", "Asia/Kolkata", "Europe/Berlin",
         "America/New_York", "America/Los_Angeles", "Pacific/Pago_Pago", "Asia/Dubai",
         "Australia/Sydney", "America/Sao_Paulo", "Atlantic/Azores", "Asia/Bangkok",
         "Pacific/Honolulu"]  # fmt: skip
"""Zones around the globe: whatever the hour, their next midnights are hours apart."""


def soonest_and_latest_midnight(now: int) -> tuple[str, int, str]:
    """The zone whose next midnight comes first, that midnight, and the zone whose next
    midnight comes last (hours later)."""
    soonest = min(ZONES, key=lambda z: next_midnight_ms(z, now))
    latest = max(ZONES, key=lambda z: next_midnight_ms(z, now))
    midnight = next_midnight_ms(soonest, now)
    assert midnight < next_midnight_ms(latest, now) - 3_600_000
    return soonest, midnight, latest


async def test_the_period_follows_the_players_zone(
    sites: dict[str, ServerProcess],
    limits_redis: Redis,
    limits_redis_url: str,
    log_dir: Path,
    new_player: Any,
) -> None:
    """A server whose clock is just past the next local midnight of one zone (and hours
    before another's): a player of that zone starts a new day there, the other does not."""
    now = int(time.time() * 1000)
    zone, midnight, later_zone = soonest_and_latest_midnight(now)
    offset_s = (midnight - now) / 1000 + 60
    local, other = await new_player(), await new_player()
    view = await local.set(sites["a"], zone=zone)
    assert view["zone"] == zone
    await other.set(sites["a"], zone=later_zone)
    for player in (local, other):
        await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=100)
        await dice(await player.tab(sites["a"]), 100)
        await refused("WAGER_LIMIT", dice(await player.tab(sites["a"]), 1))
    error = await refused("WAGER_LIMIT", dice(await local.tab(sites["b"]), 1))
    assert error["data"]["resets_at"] == midnight
    after = await _start(limits_redis_url, log_dir, CROUPIER_CLOCK_OFFSET_S=str(offset_s))
    try:
        await dice(await local.tab(after), 100)
        await refused("WAGER_LIMIT", dice(await other.tab(after), 1))
    finally:
        for player in (local, other):
            for socket in player.sockets:
                await socket.close()
            player.sockets.clear()
        await after.stop()
    await balanced(limits_redis, local.id)


async def test_a_zone_change_never_resets_the_counters(
    sites: dict[str, ServerProcess], new_player: Any
) -> None:
    """Counting starts with the first setting (here a zone); changing zones carries the
    current periods' counts over, so a limit set afterwards sees them."""
    player: Player = await new_player()
    await player.set(sites["a"], zone="UTC")
    await dice(await player.tab(sites["a"]), 100)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Paris"):
        await player.set(sites["a"], zone=zone)
    view = await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=100)
    assert limit_of(view, "wager")["used"] == 100
    await refused("WAGER_LIMIT", dice(await player.tab(sites["b"]), 1))


async def test_a_zone_change_cannot_start_a_new_day_early(
    sites: dict[str, ServerProcess],
    limits_redis: Redis,
    limits_redis_url: str,
    log_dir: Path,
    new_player: Any,
) -> None:
    """The attack: a player who used a daily limit moves to the zone whose midnight comes
    first, to bet again there before their own midnight. While a limit is set (or a
    removal waits) the zone is locked: the change is refused, and past that zone's
    midnight the player's day has not ended."""
    now = int(time.time() * 1000)
    zone, midnight, own_zone = soonest_and_latest_midnight(now)
    player: Player = await new_player()
    await player.set(sites["a"], zone=own_zone)
    await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=100)
    await dice(await player.tab(sites["a"]), 100)
    moved = await player.put(sites["a"], zone=zone)
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "ZONE_LOCKED"
    await player.set(sites["a"], currency="PLAY", kind="wager", period="day", amount=None)
    moved = await player.put(sites["a"], zone=zone)
    assert moved.json()["error"]["code"] == "ZONE_LOCKED", "a removal waits 24 h: still locked"
    after = await _start(
        limits_redis_url, log_dir, CROUPIER_CLOCK_OFFSET_S=str((midnight - now) / 1000 + 60)
    )
    try:
        await refused("WAGER_LIMIT", dice(await player.tab(after), 1))
    finally:
        for socket in player.sockets:
            await socket.close()
        player.sockets.clear()
        await after.stop()
    assert (await player.view(sites["a"]))["zone"] == own_zone
    await balanced(limits_redis, player.id)


async def test_a_self_excluded_player_cannot_bet_or_deposit_and_nobody_lifts_it(
    sites: dict[str, ServerProcess], limits_redis: Redis, http: httpx.AsyncClient, new_player: Any
) -> None:
    player: Player = await new_player()
    asked = int(time.time() * 1000)
    view = await player.set(sites["a"], pause="self_exclusion_6m")
    until = view["pause"]["until"]
    assert view["pause"]["kind"] == "self_exclusion" and until >= asked + 183 * DAY_MS
    tab = await player.tab(sites["b"])
    error = await refused("SELF_EXCLUDED", dice(tab, 1))
    assert error["data"]["resets_at"] == until
    await refused(
        "SELF_EXCLUDED",
        tab.request("mines.start", amount=10, currency="PLAY", mines=3, key=secrets.token_hex(6)),
    )
    await wait_for_betting(tab)
    await refused(
        "SELF_EXCLUDED", tab.request("crash.bet", amount=10, currency="PLAY", key="crash")
    )
    assert await limits_redis.hget(crash_keys.BETS, player.id) is None, "no place is held"
    faucet = await player.faucet(sites["a"])
    assert faucet.status_code == 403
    assert faucet.json()["error"] == {
        "code": "SELF_EXCLUDED",
        "message": faucet.json()["error"]["message"],
        "data": {"resets_at": until},
    }
    # Nobody shortens it: not the player...
    for shorter in ("cool_off_24h", "cool_off_30d"):
        response = await player.put(sites["a"], pause=shorter)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "SELF_EXCLUDED"
    # ...not the back office, whatever it does to the account...
    base = sites["a"].base_url
    for path in ("credit", "debit"):
        body = {"user": player.id, "amount": 5, "currency": "PLAY", "key": secrets.token_hex(6),
                "reason": "limits test"}  # fmt: skip
        response = await http.post(f"{base}/api/admin/{path}", json=body, headers=ADMIN)
        assert response.status_code == 200, response.text
    revoke = {"user": player.id, "reason": "limits test"}
    assert (
        await http.post(f"{base}/api/admin/sessions/revoke", json=revoke, headers=ADMIN)
    ).is_success
    lookup = await http.get(f"{base}/api/admin/users", params={"q": player.id}, headers=ADMIN)
    assert lookup.json()["limits"]["pause"] == {"kind": "self_exclusion", "until": until}
    # ...and the admin token opens no player route nor any limits route of its own.
    for method in ("PUT", "POST", "DELETE"):
        for path in ("/api/limits", "/api/admin/limits", f"/api/admin/users/{player.id}/limits"):
            response = await http.request(method, f"{base}{path}", json={"pause": "cool_off_24h"},
                                          headers=ADMIN)  # fmt: skip
            assert response.status_code in (401, 404, 405), (method, path)
    assert await limits_redis.hget(f"{{u:{player.id}}}:limits", "pause_until") == str(until)
    assert (await player.put(sites["a"], pause="cool_off_24h")).status_code == 401, "signed out"


async def test_a_cool_off_can_only_be_extended(
    sites: dict[str, ServerProcess], new_player: Any
) -> None:
    player: Player = await new_player()
    view = await player.set(sites["a"], pause="cool_off_24h")
    assert view["pause"]["kind"] == "cool_off"
    error = await refused("COOL_OFF", dice(await player.tab(sites["a"]), 1))
    assert error["data"]["resets_at"] == view["pause"]["until"]
    longer = await player.set(sites["a"], pause="cool_off_7d")
    assert longer["pause"]["until"] > view["pause"]["until"]
    response = await player.put(sites["a"], pause="cool_off_24h")
    assert response.status_code == 403 and response.json()["error"]["code"] == "COOL_OFF"
    forever = await player.set(sites["a"], pause="self_exclusion_permanent")
    assert forever["pause"] == {"kind": "self_exclusion", "until": None}
    error = await refused("SELF_EXCLUDED", dice(await player.tab(sites["later"]), 1))
    assert error["data"]["resets_at"] is None
    # 25 h later the 24 h cool-off would be over; a permanent exclusion is not.
    assert (await player.view(sites["later"]))["pause"]["until"] is None


async def test_a_cool_off_ends_by_itself(sites: dict[str, ServerProcess], new_player: Any) -> None:
    player: Player = await new_player()
    await player.set(sites["a"], pause="cool_off_24h")
    await refused("COOL_OFF", dice(await player.tab(sites["a"]), 1))
    assert (await player.view(sites["later"]))["pause"] is None
    await dice(await player.tab(sites["later"]), 1)


async def test_a_deposit_limit_bounds_the_faucet(
    sites: dict[str, ServerProcess], limits_redis: Redis, new_player: Any
) -> None:
    player: Player = await new_player()
    await player.set(sites["a"], currency="PLAY", kind="deposit", period="day", amount=150_000)
    first = await player.faucet(sites["a"])
    assert first.status_code == 200, first.text
    async with asyncio.timeout(10):
        while True:  # the faucet refills every second in these tests
            second = await player.faucet(sites["b"])
            if second.status_code != 429:
                break
            await asyncio.sleep(0.2)
    assert second.status_code == 403
    error = second.json()["error"]
    assert error["code"] == "DEPOSIT_LIMIT" and "daily deposit limit" in error["message"]
    assert error["data"]["resets_at"] == next_midnight_ms("UTC", int(time.time() * 1000))
    assert limit_of(await player.view(sites["a"]), "deposit")["used"] == 100_000
    assert (await balanced(limits_redis, player.id))["PLAY"] == 200_000


async def test_wins_lower_the_loss_counted(
    sites: dict[str, ServerProcess], limits_redis: Redis, new_player: Any
) -> None:
    """Bets that win 98 times in 100 (paying about 1.01x): 2,400 staked under a loss
    limit of 2,000, since each win gives its stake back (six losses in eight would stop it)."""
    player: Player = await new_player()
    await player.set(sites["a"], currency="PLAY", kind="loss", period="month", amount=2_000)
    tab = await player.tab(sites["a"])
    likely = {"target": "2.00", "condition": "over"}
    total_lost = 0
    for _ in range(8):
        placed = await tab.request(
            "bet", game="dice", amount=300, currency="PLAY", params=likely, key=secrets.token_hex(8)
        )
        total_lost += placed["amount"] - placed["payout"]
    assert limit_of(await player.view(sites["a"]), "loss", "month")["used"] == total_lost
    assert total_lost <= 2_000
    await balanced(limits_redis, player.id)


async def test_the_wallet_counts_stakes_payouts_and_refunds_and_not_adjustments(
    limits_redis_url: str, limits_redis: Redis
) -> None:
    """Wallet calls as Crash makes them, on a clock set to midday (no period ends mid-test)."""
    now = int(time.time() * 1000)
    midday = periods("UTC", now).day_start + DAY_MS // 2
    clock = Clock((midday - now) / 1000)
    runner = script_runner(limits_redis_url)
    wallet = Wallet(
        limits_redis, WalletScripts.register(runner), 86_400, limits=LimitContexts(clock)
    )
    user = secrets.token_hex(8)
    try:
        await wallet.credit(user, 10_000, "PLAY", key="signup", kind="deposit")
        limits = UserKeys(user).limits
        await limits_redis.hset(limits, mapping={"PLAY:loss:day": 1_000, "PLAY:deposit:day": 5_000})
        first = await wallet.debit(user, 600, "PLAY", key="b1", game="crash", ref="crash:1")
        with pytest.raises(CroupierError) as caught:
            await wallet.debit(user, 401, "PLAY", key="b2", game="crash", ref="crash:1")
        assert caught.value.code is ErrorCode.LOSS_LIMIT
        assert caught.value.data == {"resets_at": periods("UTC", clock.now_ms()).day_end}
        assert first.tx is not None
        await wallet.rollback(user, first.tx["id"], key="r1", kind="refund")
        second = await wallet.debit(user, 1_000, "PLAY", key="b3", game="crash", ref="crash:2")
        assert second.tx is not None
        await wallet.settle(user, second.tx["id"], 400, key="s2")
        await wallet.credit(user, 7_000, "PLAY", key="gift", kind="adjust")
        await wallet.credit(user, 5_000, "PLAY", key="top-up", kind="deposit")
        with pytest.raises(CroupierError) as caught:
            await wallet.credit(user, 1, "PLAY", key="more", kind="deposit")
        assert caught.value.code is ErrorCode.DEPOSIT_LIMIT
        counters = await limits_redis.hgetall(limits)
        assert (counters["PLAY:day:loss"], counters["PLAY:day:wager"]) == ("600", "1600")
        assert counters["PLAY:day:deposit"] == "5000"
        assert (await balanced(limits_redis, user))["PLAY"] == 10_000 + 7_000 + 5_000 - 600
    finally:
        await runner.aclose()


# --- bad input ---------------------------------------------------------------------------


def daily_loss(**override: Any) -> dict[str, Any]:
    """A change of the PLAY daily loss limit to 5, with `override` applied."""
    return {"currency": "PLAY", "kind": "loss", "period": "day", "amount": 5} | override


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (daily_loss(currency="XYZ"), "UNKNOWN_CURRENCY", "currency"),
        (daily_loss(period="year"), "BAD_REQUEST", "period"),
        (daily_loss(kind="fun"), "BAD_REQUEST", "kind"),
        *(
            (daily_loss(amount=amount), "INVALID_AMOUNT", "amount")
            for amount in (-5, 0, 1.5, "100", 2**53, 10**30)
        ),
        ({"currency": "PLAY", "kind": "loss", "period": "day"}, "BAD_REQUEST", None),
        ({"zone": "Mars/Olympus_Mons"}, "UNKNOWN_ZONE", "zone"),
        ({"zone": 5}, "BAD_REQUEST", "zone"),
        ({"pause": "cool_off_1h"}, "BAD_REQUEST", "pause"),
        ({"pause": None}, "BAD_REQUEST", None),
        ({"reality_check_min": 7}, "BAD_REQUEST", None),
        ({"zone": "UTC", "pause": "cool_off_24h"}, "BAD_REQUEST", None),
        ({}, "BAD_REQUEST", None),
        ({"limit": 5}, "BAD_REQUEST", "limit"),
    ],
)
async def test_bad_changes_get_a_specific_code_and_change_nothing(
    *,
    sites: dict[str, ServerProcess],
    limits_redis: Redis,
    new_player: Any,
    change: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    player: Player = await new_player()
    response = await player.put(sites["a"], **change)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and error.get("field") == field
    assert await limits_redis.exists(f"{{u:{player.id}}}:limits") == 0
    tab = await player.tab(sites["a"])
    reply = await tab.call("limits.set", **change)
    assert reply["ok"] is False and reply["error"]["code"] == code


async def test_limits_over_websocket_and_the_reality_check_setting(
    sites: dict[str, ServerProcess], new_player: Any
) -> None:
    player: Player = await new_player()
    tab = await player.tab(sites["a"])
    view = await tab.request("limits.set", reality_check_min=30)
    assert view["reality_check_min"] == 30 and view["pause"] is None and view["zone"] == "UTC"
    view = await tab.request("limits.set", currency="BTC", kind="loss", period="day", amount=500)
    assert limit_of(view, "loss")["currency"] == "BTC"
    assert (await tab.request("limits"))["history"][0]["setting"] == "BTC:loss:day"
    off = await tab.request("limits.set", reality_check_min=0)
    assert off["reality_check_min"] == 0


async def test_a_change_reaches_postgresql_through_the_journal_alone(
    sites: dict[str, ServerProcess], limits_redis_url: str, database_url: str, new_player: Any
) -> None:
    """The change and its journal record are one atomic step: a change whose caller died
    before writing it to PostgreSQL itself is recorded there by the archiver."""
    player: Player = await new_player()
    await player.set(sites["a"], reality_check_min=30)
    keys = UserKeys(player.id)
    contexts = LimitContexts(Clock())
    runner = script_runner(limits_redis_url)
    try:
        limits_set = runner.script(script_source(LIMITS_SET))
        args = ["limit", "PLAY:loss:week", "5000", "86400000", player.id, "PLAY:loss:week"]
        reply = await contexts.run(limits_set, player.id, [keys.limits, keys.journal], args)
    finally:
        await runner.aclose()
    assert reply[0] == "ok" and int(reply[4]) == 2, "the second change of this player"
    database = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(30):  # the full pass reads every journal
            while True:
                rows = await database.fetch(
                    "SELECT seq, setting, old_value, new_value FROM limit_changes"
                    " WHERE user_id = $1 ORDER BY seq",
                    player.id,
                )
                if len(rows) == 2:
                    break
                await asyncio.sleep(0.2)
    finally:
        await database.close()
    assert [tuple(row) for row in rows] == [
        (1, "reality_check", "0", "30"),
        (2, "PLAY:loss:week", "", "5000"),
    ]
    history = (await player.view(sites["b"]))["history"]
    assert [item["setting"] for item in history] == ["PLAY:loss:week", "reality_check"]


async def test_a_change_made_while_postgresql_is_down_stands_and_is_recorded_later(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """Limits live in Redis: with PostgreSQL down a player still reads and lowers them (the
    answer says the history cannot be read now), and the change reaches the history once
    PostgreSQL is back."""
    async with private_postgres() as postgres, private_redis(tmp_path / "redis") as url:
        process = await ServerProcess(log_dir, REDIS_URL=url, DATABASE_URL=postgres.url).start()
        try:
            token, user = await new_guest(http, process.base_url)
            player = Player(http, token, user)
            await player.set(process, reality_check_min=30)
            await postgres.stop()
            view = await player.set(process, currency="PLAY", kind="loss", period="day", amount=500)
            assert limit_of(view, "loss")["amount"] == 500
            assert view["history"] is None  # unreadable now, not empty
            assert (await player.view(process))["history"] is None
            await postgres.start()
            async with asyncio.timeout(30):
                while not (history := (await player.view(process))["history"]) or len(history) < 2:
                    await asyncio.sleep(0.2)
            assert [item["setting"] for item in history] == ["PLAY:loss:day", "reality_check"]
        finally:
            await process.stop()
