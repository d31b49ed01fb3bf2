"""The universal bet flow of the instant games: validate, debit, play, settle, push.

`bet_open.lua` takes the user's flow lock, allocates the nonce and debits the
stake in one atomic step, keeping the open bet with its seeds; the outcome is
computed here from those seeds only; `bet_settle.lua` pays it and stores the
bet record in one atomic step. A bet left open by a process that died is
settled by the recovery sweep with the same seeds, so it gets the same
outcome, and the settlement's idempotency key makes a second settle a no-op.
"""

import asyncio
import json
import logging
import secrets
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, Field, StrictInt
from redis.asyncio import Redis

from games.base import InstantGame, payout
from server.bets.outcome import parse_game_params, play
from server.bets.seeds import SeedPairs
from server.config import Settings
from server.errors import CroupierError, ErrorCode
from server.logs import LogThrottle
from server.protocol import Amount, Currency, GameName, IdempotencyKey, Params, dumps
from server.realtime.connection import Connection
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys
from server.wallet.scripts import script_source

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

_HERE = Path(__file__).parent
OPEN_BET_HELPERS = _HERE / "_open_bet.lua"
"""Lua helpers shared by every script that opens a bet (prepended after the ledger's)."""
LIVE_FEED_SIZE = 20
LIVE_FEED_INTERVAL_S = 1.0
LIVE_FEED_KEY = "croupier:live"
"""List: the newest bets of every instance (JSON each, newest first), greeting new sockets."""
RECOVERY_INTERVAL_S = 5.0


class BetRequest(Params):
    """The `bet` op: one round of an instant game."""

    game: GameName
    amount: Amount
    currency: Currency
    params: dict[str, Any] = Field(default_factory=dict)
    key: IdempotencyKey


class HistoryQuery(Params):
    """A page of the user's settled bets, newest first."""

    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 20
    before: Annotated[StrictInt, Field(ge=1)] | None = None
    game: GameName | None = None


def settled_record(
    open_bet: dict[str, Any], multiplier: str, paid: int, details: Any
) -> dict[str, Any]:
    """The public record of a settled bet (never the unrevealed server seed)."""
    return {
        "id": open_bet["id"],
        "game": open_bet["game"],
        "amount": open_bet["amount"],
        "currency": open_bet["currency"],
        "params": open_bet["params"],
        "multiplier": multiplier,
        "payout": paid,
        "outcome": details,
        "server_seed_hash": open_bet["server_seed_hash"],
        "client_seed": open_bet["client_seed"],
        "nonce": open_bet["nonce"],
        "created_at": open_bet["created_at"],
        "settled_at": int(time.time() * 1000),
    }


class BetService:
    """Places, settles, recovers and lists instant-game bets."""

    def __init__(
        self,
        redis: Redis,
        runner: ScriptRunner,
        settings: Settings,
        games: dict[str, InstantGame],
    ) -> None:
        self._redis = redis
        self._settings = settings
        self.games = games
        self.seeds = SeedPairs(redis, runner)
        self._open = runner.script(script_source(_HERE / "bet_open.lua", True, OPEN_BET_HELPERS))
        self._settle = runner.script(script_source(_HERE / "bet_settle.lua"))
        self._ttl = str(settings.idempotency_ttl_s)
        self._flows: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._live: deque[dict[str, Any]] = deque(maxlen=LIVE_FEED_SIZE)
        self._live_new = 0

    def game(self, name: str) -> InstantGame:
        """An instant game by name; BAD_REQUEST for an unknown one."""
        game = self.games.get(name)
        if game is None:
            raise CroupierError(ErrorCode.BAD_REQUEST, f"game: unknown game {name!r}", "game")
        return game

    async def place(self, user_id: str, user_name: str, request: BetRequest) -> dict[str, Any]:
        """Play one round for the user; returns the settled bet and the balance after it."""
        game = self.game(request.game)
        params = parse_game_params(game.params_model, request.params)
        self._check_limits(request, game.max_multiplier(params))
        async with self._flow(user_id) as token:
            status, payload = await self._open_bet(
                user_id, request, params.model_dump_json(), token
            )
            if status == "replay":
                return await self._settled_or_settle(user_id, orjson.loads(payload)["id"])
            record = await self._resolve(orjson.loads(payload), token, params)
        self._live.appendleft(
            {
                "user": user_name,
                "game": record["game"],
                "amount": record["amount"],
                "currency": record["currency"],
                "multiplier": record["multiplier"],
                "payout": record["payout"],
                "time": record["settled_at"],
            }
        )
        self._live_new = min(self._live_new + 1, LIVE_FEED_SIZE)
        return record

    def _check_limits(self, request: BetRequest, max_multiplier: Any) -> None:
        limits = self._settings.bet_limits[request.currency]
        if not limits.min_bet <= request.amount <= limits.max_bet:
            raise CroupierError(
                ErrorCode.LIMIT_EXCEEDED,
                f"bets in {request.currency} must lie in [{limits.min_bet}, {limits.max_bet}]",
                "amount",
            )
        if payout(request.amount, max_multiplier) > limits.max_payout:
            raise CroupierError(
                ErrorCode.LIMIT_EXCEEDED,
                f"this bet could pay more than the maximum payout {limits.max_payout}",
                "amount",
            )

    @asynccontextmanager
    async def _flow(self, user_id: str) -> AsyncIterator[str]:
        # One flow per user at a time in this process (queued locally); the
        # Redis lock taken by bet_open excludes flows on other instances.
        lock = self._flows.get(user_id)
        if lock is None:
            lock = self._flows[user_id] = asyncio.Lock()
        async with lock:
            yield secrets.token_hex(12)

    async def _open_bet(
        self, user_id: str, request: BetRequest, params_json: str, token: str
    ) -> tuple[str, str]:
        keys = UserKeys(user_id)
        redis_keys = [
            keys.wallet, keys.ledger, keys.ledger_index, keys.idempotency(f"bet:{request.key}"),
            keys.seeds, keys.pending_bets, keys.lock,
        ]  # fmt: skip
        args = [
            user_id, request.currency, str(request.amount), request.game, params_json, self._ttl,
            keys.events, token, str(self._settings.user_lock_ttl_ms),
        ]  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.user_lock_ttl_ms / 1000
        delay = 0.002
        while True:
            status, payload = await self._open(keys=redis_keys, args=args)
            if status in ("ok", "replay"):
                return status, payload
            if status == "NO_SEEDS":
                await self.seeds.ensure(user_id)
                continue
            if status == "BUSY" and loop.time() + delay < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
                continue
            raise CroupierError(ErrorCode(status), payload)

    async def _resolve(
        self, open_bet: dict[str, Any], token: str, params: BaseModel | None = None
    ) -> dict[str, Any]:
        """Compute an open bet's outcome from its seeds (and its `params`, parsed
        again from the stored bet unless given) and settle it."""
        game = self.game(open_bet["game"])
        if params is None:
            params = parse_game_params(game.params_model, open_bet["params"])
        outcome = play(
            game, params, open_bet["server_seed"], open_bet["client_seed"], open_bet["nonce"]
        )
        paid = payout(open_bet["amount"], outcome.multiplier)
        record = settled_record(open_bet, str(outcome.multiplier), paid, outcome.details)
        user_id = open_bet["user"]
        keys = UserKeys(user_id)
        status, payload = await self._settle(
            keys=[
                keys.wallet, keys.ledger, keys.ledger_index,
                keys.idempotency(f"bet-settle:{open_bet['id']}"), keys.bets, keys.bets_index,
                keys.pending_bets, keys.lock,
            ],
            args=[
                user_id, str(open_bet["id"]), str(paid), open_bet["game"], dumps(record),
                self._ttl, keys.events, token,
            ],
        )  # fmt: skip
        if status == "replay":  # settled meanwhile by another flow, with the same outcome
            return await self._settled_or_settle(user_id, open_bet["id"])
        if status != "ok":
            raise CroupierError(ErrorCode(status), payload)
        record["balance"] = orjson.loads(payload)["balance"]
        return record

    async def _settled_or_settle(self, user_id: str, bet_id: int) -> dict[str, Any]:
        """The record of a bet placed before (settling it now if its flow died)."""
        keys = UserKeys(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            stored, pending, wallet = await (
                pipe.hget(keys.bets, str(bet_id))
                .hget(keys.pending_bets, str(bet_id))
                .hgetall(keys.wallet)
                .execute()
            )
        if stored is not None:
            record: dict[str, Any] = json.loads(stored)
            record["balance"] = int(wallet.get(record["currency"], 0))
            return record
        if pending is None:
            raise CroupierError(ErrorCode.INTERNAL, f"bet {bet_id} has no record")
        return await self._resolve(json.loads(pending), "")

    async def history(
        self, user_id: str, limit: int, before: int | None, game: str | None
    ) -> dict[str, Any]:
        """Settled bets newest first, each with its server seed once that is revealed."""
        keys = UserKeys(user_id)
        prefix = game or "*"
        upper = f"({prefix}:{before:015d}" if before is not None else f"[{prefix}:~"
        members = await self._redis.zrevrangebylex(
            keys.bets_index, upper, f"[{prefix}:", start=0, num=limit
        )
        ids = [member.rpartition(":")[2].lstrip("0") for member in members]
        raw = await self._redis.hmget(keys.bets, ids) if ids else []
        records = [json.loads(item) for item in raw if item is not None]
        revealed = await self.seeds.revealed(
            user_id, sorted({record["server_seed_hash"] for record in records})
        )
        for record in records:
            record["server_seed"] = revealed.get(record["server_seed_hash"])
        next_before = records[-1]["id"] if len(records) == limit else None
        return {"items": records, "next_before": next_before}

    async def recover(self, min_age_ms: int) -> int:
        """Settle every open bet older than `min_age_ms`; returns how many were settled."""
        settled = 0
        cutoff = time.time() * 1000 - min_age_ms
        async for key in self._redis.scan_iter(match="{u:*}:bets:pending", count=1000):
            for raw in (await self._redis.hgetall(key)).values():
                open_bet = json.loads(raw)
                if open_bet["created_at"] <= cutoff:
                    await self._resolve(open_bet, "")
                    settled += 1
        return settled

    async def run_recovery(self) -> None:
        """Sweep for bets left open by dead processes, now and every few seconds."""
        while True:
            try:
                count = await self.recover(self._settings.user_lock_ttl_ms)
                if count:
                    log.warning("settled %d bets left open by a stopped process", count)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _failures.failure("bet recovery sweep", error)
            await asyncio.sleep(RECOVERY_INTERVAL_S)

    async def greet(self, connection: Connection) -> None:
        """Send a new socket the newest bets of every instance as one `bets.live`."""
        items = await self._redis.lrange(LIVE_FEED_KEY, 0, LIVE_FEED_SIZE - 1)
        if items:
            connection.send('{"event":"bets.live","data":{"bets":[' + ",".join(items) + "]}}")

    async def _remember_live(self, fresh: list[dict[str, Any]]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            await (
                pipe.lpush(LIVE_FEED_KEY, *(dumps(item) for item in reversed(fresh)))
                .ltrim(LIVE_FEED_KEY, 0, LIVE_FEED_SIZE - 1)
                .execute()
            )

    async def run_live_feed(self, publish: Callable[[str], Awaitable[None]]) -> None:
        """Publish this instance's newest bets as `bets.live`, at most once a second."""
        while True:
            await asyncio.sleep(LIVE_FEED_INTERVAL_S)
            if not self._live_new:
                continue
            newest = list(self._live)
            fresh, self._live_new = newest[: self._live_new], 0
            frame = dumps({"event": "bets.live", "data": {"bets": newest}})
            try:
                await publish(frame)
                await self._remember_live(fresh)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _failures.failure("publishing bets.live", error)
