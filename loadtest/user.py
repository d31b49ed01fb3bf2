"""One simulated user: a betting socket, watching tabs, and what the client saw.

The player socket places bets one after another (a closed loop with think
time); each watching tab only receives `balance` events. Everything the
client learns is kept for the audit: the balances it expects from its own
replies, the newest balance each tab was shown, and any version a tab missed.
"""

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from loadtest.games import GAMES, INSTANT_GAMES
from loadtest.link import Link, LinkClosedError, OnEvent
from loadtest.options import LoadOptions
from loadtest.stats import Stats

RETRY_CODES = frozenset({"RATE_LIMITED", "BUSY", "INTERNAL"})
"""Error replies after which the same request (same key) is sent again."""
UNKNOWN_OUTCOME = frozenset({"INTERNAL", "TIMEOUT", "CLOSED"})
"""Failures after which the bet may or may not have been placed."""
RETRY_FIRST_S = 0.01
RETRY_MAX_S = 1.0
"""Retries back off from the first delay, doubling, up to the longest."""
RATE_LIMITED_PAUSE_S = 1.1
"""Quiet time after RATE_LIMITED: the server closes a socket that is refused as many
times as its burst with no quiet second in between."""


SIGN_UP_LIMIT_FIX = (
    "start the server with CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE above the users signed up"
    " per minute (e.g. 1000; the default allows 20 per client address)"
)


class SetupError(Exception):
    """The user could not be created or could not sign in.

    `code` (step:cause) is counted with the errors; the message says what failed
    and, where it knows one, how to fix it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign_up_refused(code: str) -> SetupError:
    """The guest sign-up answered error `code`."""
    fix = f"; {SIGN_UP_LIMIT_FIX}" if code == "RATE_LIMITED" else ""
    return SetupError(f"guest:{code}", f"sign-up refused: {code}{fix}")


@dataclass
class Tab:
    """What one socket of the user was shown by `balance` events."""

    start_version: int = -1
    start_balances: dict[str, int] = field(default_factory=dict)
    """The sign-in snapshot: one event per currency, all of one version."""
    last_version: int = -1
    balances: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    """Versions never received since the last resync: a snapshot the server sends
    every tab after its pub/sub connection came back (events sent meanwhile are lost)."""
    stale: int = 0
    """Live events at or below the newest version already seen."""

    def on_balance(self, data: dict[str, Any]) -> None:
        version: int = data["version"]
        currency: str = data["currency"]
        snapshot = data["reason"]["type"] == "snapshot"
        if self.start_version < 0:
            self.start_version = self.last_version = version
        if snapshot and version == self.start_version == self.last_version:
            self.start_balances[currency] = data["balance"]
        elif snapshot:
            # A resync (it may come after live events it is older than): the
            # events of the versions missed so far were lost with the connection.
            self.missing = 0
        elif version > self.last_version + data.get("entries", 1):
            self.missing += version - self.last_version - data.get("entries", 1)
        if version < self.last_version or (version == self.last_version and not snapshot):
            self.stale += not snapshot
            return
        self.last_version = version
        self.balances[currency] = data["balance"]


def settles_a_bet(reason: dict[str, Any]) -> bool:
    """Whether a balance event with this reason is the one of a bet's settlement:
    an instant bet's single change (type `bet`), or a Mines win (type `win`)."""
    if reason["game"] in INSTANT_GAMES:
        return bool(reason["type"] == "bet")
    return bool(reason["type"] == "win" and reason["game"] == "mines")


class LagTracker:
    """Settle-to-receipt lag of settling balance events on the watching tabs.

    That event carries the bet id as its `ref` (see `settles_a_bet`); the bet
    reply carries `settled_at` (server clock, ms). Whichever arrives second
    makes the sample.
    """

    def __init__(self, stats: Stats, watchers: int) -> None:
        self._stats = stats
        self._watchers = watchers
        self._settled: dict[str, tuple[int, int]] = {}
        """bet id -> (settled_at, tabs still to report)."""
        self._early: list[dict[str, float]] = [{} for _ in range(watchers)]

    def settled(self, ref: str, settled_at: int) -> None:
        waiting = self._watchers
        for early in self._early:
            received = early.pop(ref, None)
            if received is not None:
                self._stats.lag.add((received - settled_at) * 1000)
                waiting -= 1
        if waiting:
            self._settled[ref] = (settled_at, waiting)

    def received(self, tab: int, ref: str) -> None:
        now_ms = time.time() * 1000
        entry = self._settled.get(ref)
        if entry is None:
            self._early[tab][ref] = now_ms
            return
        settled_at, waiting = entry
        self._stats.lag.add((now_ms - settled_at) * 1000)
        if waiting > 1:
            self._settled[ref] = (settled_at, waiting - 1)
        else:
            del self._settled[ref]


class Player:
    """A guest account betting on one socket while its other tabs watch."""

    def __init__(
        self, index: int, options: LoadOptions, stats: Stats, http: httpx.AsyncClient
    ) -> None:
        self.index = index
        self.options = options
        self.stats = stats
        self.http = http
        seed = None if options.seed is None else options.seed * 1_000_003 + index
        self.rng = random.Random(seed)
        self.token = ""
        self.user_id = ""
        self.name = ""
        """The public name, which Crash shows in its players list."""
        self.key_prefix = f"lt{random.getrandbits(40):x}-"
        self.placed = 0
        """Bets whose reply was ok."""
        self.unresolved = 0
        """Bets whose outcome stayed unknown after every retry."""
        self.recovered = 0
        """Bets whose outcome was unknown until a retry with the same key got the reply."""
        self.broke = False
        self.expected: Counter[str] = Counter()
        """Net change per currency computed from the bet replies."""
        self.tabs = [Tab() for _ in range(options.tabs + 1)]
        """tabs[0] is the betting socket; the others only watch."""
        self.lag = LagTracker(stats, options.tabs)
        self._links: list[Link] = []
        self._sequence = 0
        self.deadline = 0.0
        """When this player stops starting rounds (wall clock, as `time.time()`)."""
        self._games = [GAMES[name] for name in options.mix]
        self._weights = list(options.mix.values())

    async def start(self) -> None:
        """Create the guest account and open and sign in every tab."""
        started = time.perf_counter()
        try:
            response = await self.http.post("/api/auth/guest")
        except httpx.HTTPError as error:
            name = type(error).__name__
            raise SetupError(
                f"guest:{name}", f"sign-up failed: {name} (is {self.options.http_url} up?)"
            ) from None
        if response.status_code != 200:
            try:
                code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = f"HTTP {response.status_code}"
            raise sign_up_refused(code)
        self.stats.op("guest", (time.perf_counter() - started) * 1e6)
        body = response.json()
        self.token, self.user_id = body["token"], body["user"]["id"]
        self.name = body["user"]["name"]
        for tab in range(len(self.tabs)):
            self._links.append(await self._open_tab(tab))

    async def _open_tab(self, tab: int) -> Link:
        options = self.options
        started = time.perf_counter()
        try:
            link = await Link.open(
                options.client, options.ws_url, self._event_handler(tab), options.timeout_s
            )
        except (OSError, TimeoutError) as error:
            name = type(error).__name__
            raise SetupError(
                f"connect:{name}", f"WebSocket to {options.ws_url} failed: {name}"
            ) from None
        self.stats.op("connect", (time.perf_counter() - started) * 1e6)
        reply = await self._call(link, "auth", "auth", {"token": self.token})
        if reply is None or not reply["ok"]:
            await link.close()
            code = "TIMEOUT" if reply is None else reply["error"]["code"]
            raise SetupError(f"auth:{code}", f"sign-in on the WebSocket refused: {code}")
        return link

    def _event_handler(self, tab: int) -> OnEvent:
        state = self.tabs[tab]
        lag = self.lag

        def on_event(name: str, data: dict[str, Any]) -> None:
            if name != "balance":
                return
            state.on_balance(data)
            reason = data["reason"]
            if tab and settles_a_bet(reason):
                lag.received(tab - 1, reason["ref"])

        return on_event

    async def _call(
        self, link: Link, label: str, op: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """One request, timed under `label`; None (counted) on timeout or close."""
        started = time.perf_counter()
        try:
            reply = await link.call(op, params, self.options.timeout_s)
        except TimeoutError:
            self.stats.errors["TIMEOUT"] += 1
            return None
        except LinkClosedError:
            self.stats.errors["CLOSED"] += 1
            return None
        self.stats.op(label, (time.perf_counter() - started) * 1e6)
        if not reply["ok"]:
            self.stats.errors[reply["error"]["code"]] += 1
        return reply

    def next_key(self) -> str:
        """A new idempotency key of this player."""
        self._sequence += 1
        return f"{self.key_prefix}{self._sequence}"

    async def send(
        self, label: str, op: str, params: dict[str, Any], *, keyed: bool
    ) -> dict[str, Any] | None:
        """One op on the betting socket, timed under `label`; its reply's data, or None.

        RATE_LIMITED and BUSY are retried (nothing happened), after a pause for
        RATE_LIMITED. An unknown outcome (INTERNAL, a timeout, a dropped socket)
        is retried only for a `keyed` op, whose key makes a retry harmless: a
        retry that gets the reply counts in `recovered`. Retries back off and
        stop `retry_window_s` after the first failure; an outcome still unknown
        then counts in `unresolved`. INSUFFICIENT_FUNDS ends the player's run.
        """
        unknown = False
        backoff = RETRY_FIRST_S
        give_up_at: float | None = None
        while True:
            code, data = await self._attempt(label, op, params)
            if code is None:
                if unknown:
                    self.recovered += 1
                return data
            unknown = unknown or code in UNKNOWN_OUTCOME
            if code in UNKNOWN_OUTCOME and not keyed:
                break
            if code not in RETRY_CODES and code not in UNKNOWN_OUTCOME:
                self.broke = code == "INSUFFICIENT_FUNDS"
                return None
            now = time.monotonic()
            if give_up_at is None:
                give_up_at = now + self.options.retry_window_s
            if now >= give_up_at:
                break
            pause = RATE_LIMITED_PAUSE_S if code == "RATE_LIMITED" else backoff
            await asyncio.sleep(min(pause, give_up_at - now))
            backoff = min(backoff * 2, RETRY_MAX_S)
        if unknown:
            self.unresolved += 1
        return None

    async def _attempt(
        self, label: str, op: str, params: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any]]:
        """One try: (None, reply data) or (error code, {}); reopens a dropped socket first."""
        if self._links[0].closed:
            try:
                self._links[0] = await self._open_tab(0)
            except SetupError:
                return "CLOSED", {}
        reply = await self._call(self._links[0], label, op, params)
        if reply is None:
            return "TIMEOUT", {}
        if not reply["ok"]:
            return reply["error"]["code"], {}
        data: dict[str, Any] = reply["data"]
        return None, data

    async def bet(self, game: str, params: dict[str, Any]) -> None:
        """Place and settle one instant-game bet."""
        request = {
            "game": game,
            "amount": self.options.amount,
            "currency": self.options.currency,
            "params": params,
            "key": self.next_key(),
        }
        record = await self.send(f"bet:{game}", "bet", request, keyed=True)
        if record is not None:
            self.settled(record)

    def settled(self, record: dict[str, Any]) -> None:
        """Count a bet the server reported settled: `currency`, `amount`, `payout`
        and, for the balance-event lag, `id` and `settled_at` if it has them."""
        self.placed += 1
        self.stats.bets += 1
        self.expected[record["currency"]] += record["payout"] - record["amount"]
        moved = record.get("game") in INSTANT_GAMES or record["payout"] > 0
        if moved and "settled_at" in record:
            self.lag.settled(str(record["id"]), record["settled_at"])

    async def run(self, deadline: float) -> None:
        """Play the game mix until the quota is reached or the wall clock passes `deadline`."""
        self.deadline = deadline
        quota = self.options.quota(self.index)
        think_s = self.options.think_ms / 1000
        rounds = 0
        while time.time() < deadline and (quota is None or rounds < quota) and not self.broke:
            game = self.rng.choices(self._games, self._weights)[0]
            await game.play(self)
            rounds += 1
            if think_s:
                await asyncio.sleep(min(self.rng.expovariate(1 / think_s), 10 * think_s))

    async def wait_for_version(self, version: int, within_s: float) -> None:
        """Wait (bounded) until every open tab has seen `version`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            behind = [
                tab
                for tab, link in zip(self.tabs, self._links, strict=True)
                if tab.last_version < version and not link.closed
            ]
            if not behind:
                return
            await asyncio.sleep(0.01)

    def closed_tabs(self) -> list[bool]:
        """Per tab: has its socket been closed?"""
        return [link.closed for link in self._links]

    async def close(self) -> None:
        await asyncio.gather(*(link.close() for link in self._links), return_exceptions=True)
