"""The universal bet flow of the instant games: validate, play, debit and settle, push.

An instant bet's outcome depends only on the seed pair and the nonce, so it is
computed here first, from this process's copy of the user's pair; then
`bet_play.lua` checks that the pair and nonce are still the active ones, takes
the nonce, debits the stake, credits the payout, stores the record and the
reply in one atomic step. When another tab, instance or a rotation moved the
pair on, the script changes nothing and returns the current pair: the outcome
is computed again. Redis alone decides; the copy only saves a read per bet.
A bet is never half done, so nothing is left open for a sweep to recover.
"""

import asyncio
import json
import time
import weakref
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import orjson
from pydantic import BaseModel, Field, StrictInt
from redis.asyncio import Redis

from games.base import InstantGame, payout
from server.bets.live import LiveFeed
from server.bets.outcome import parse_game_params, play
from server.bets.public_refs import PublicRefs
from server.bets.seeds import SeedPairs
from server.config import Settings
from server.errors import CroupierError, ErrorCode, script_error
from server.limits.context import LimitContexts
from server.protocol import Amount, Currency, GameName, IdempotencyKey, Params, dumps
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys
from server.wallet.journal import Journal
from server.wallet.scripts import script_source
from server.wallet.window import window_page

_HERE = Path(__file__).parent
OPEN_BET_HELPERS = _HERE / "_open_bet.lua"
"""Lua helpers shared by every script that opens a bet (prepended after the ledger's)."""
_ARCHIVED_BETS = """
SELECT record FROM bets
WHERE user_id = $1 AND bet_id < $2 AND ($3::text IS NULL OR game = $3)
ORDER BY bet_id DESC LIMIT $4
"""
_ARCHIVED_BET = "SELECT record::text FROM bets WHERE user_id = $1 AND bet_id = $2"
PLAY_ATTEMPTS = 100
"""Compare-and-set attempts of one bet before BUSY (each lost one means another bet won)."""


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


def settled_record(bet: dict[str, Any], multiplier: str, paid: int, details: Any) -> dict[str, Any]:
    """The public record of a settled bet (never the unrevealed server seed); its
    "id" comes first when `bet` has one (a bet opened before it was played)."""
    record = {"id": bet["id"]} if "id" in bet else {}
    return record | {
        "game": bet["game"],
        "amount": bet["amount"],
        "currency": bet["currency"],
        "params": bet["params"],
        "multiplier": multiplier,
        "payout": paid,
        "outcome": details,
        "server_seed_hash": bet["server_seed_hash"],
        "client_seed": bet["client_seed"],
        "nonce": bet["nonce"],
        "created_at": bet["created_at"],
        "settled_at": int(time.time() * 1000),
    }


class BetService:
    """Places and lists instant-game bets."""

    def __init__(
        self,
        redis: Redis,
        runner: ScriptRunner,
        settings: Settings,
        games: dict[str, InstantGame],
        journal: Journal,
        *,
        limits: LimitContexts,
        database: asyncpg.Pool | None = None,
    ) -> None:
        """`journal`: marks the journals written (for the archiver), bounds new stakes;
        `limits`: the limits context of each bet."""
        self._redis = redis
        self._limits = limits
        self._settings = settings
        self.games = games
        self._journal = journal
        self._database = database
        self.seeds = SeedPairs(redis, runner, journal)
        self._play = runner.script(script_source(_HERE / "bet_play.lua"))
        self._record = runner.script(script_source(_HERE / "bet_record.lua", with_prelude=False))
        self._ttl = str(settings.idempotency_ttl_s)
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.refs = PublicRefs()
        self.live = LiveFeed(redis, self.refs)

    def game(self, name: str) -> InstantGame:
        """An instant game by name; BAD_REQUEST for an unknown one."""
        game = self.games.get(name)
        if game is None:
            raise CroupierError(ErrorCode.BAD_REQUEST, f"game: unknown game {name!r}", "game")
        return game

    async def place(self, user_id: str, user_name: str, request: BetRequest) -> dict[str, Any]:
        """Play one round for the user; returns the settled bet and the balance after it.
        A replayed key returns the first reply, unchanged."""
        game = self.game(request.game)
        params = parse_game_params(game.params_model, request.params)
        self._check_limits(request, game.max_multiplier(params))
        await self._journal.check_room()
        # One bet of a user at a time in this process: its bets would only
        # race each other for the same nonce. Other processes race in Redis.
        turn = self._turns.get(user_id)
        if turn is None:
            turn = self._turns[user_id] = asyncio.Lock()
        async with turn:
            status, reply = await self._play_once(user_id, game, params, request)
        if status == "ok":
            self.live.announce(user_id, user_name, reply)
        return reply

    async def _play_once(
        self, user_id: str, game: InstantGame, params: BaseModel, request: BetRequest
    ) -> tuple[str, dict[str, Any]]:
        keys = UserKeys(user_id)
        redis_keys = [
            keys.wallet, keys.ledger, keys.idempotency(f"bet:{request.key}"), keys.seeds,
            keys.bets, keys.journal, keys.limits,
        ]  # fmt: skip
        params_json = params.model_dump_json()
        pair = await self.seeds.active(user_id)
        for _ in range(PLAY_ATTEMPTS):
            outcome = play(game, params, pair.server_seed, pair.client_seed, pair.nonce)
            paid = payout(request.amount, outcome.multiplier)
            now = int(time.time() * 1000)
            bet = {
                "game": request.game, "amount": request.amount, "currency": request.currency,
                "params": orjson.loads(params_json), "server_seed_hash": pair.server_seed_hash,
                "client_seed": pair.client_seed, "nonce": pair.nonce, "created_at": now,
            }  # fmt: skip
            record = settled_record(bet, str(outcome.multiplier), paid, outcome.details)
            result = await self._play(
                keys=redis_keys,
                args=[
                    user_id, request.currency, str(request.amount), request.game, params_json,
                    pair.server_seed_hash, str(pair.nonce), str(paid), dumps(record), self._ttl,
                    keys.events, self._limits.context(user_id),
                ],
            )  # fmt: skip
            status = result[0]
            self._journal.wrote(user_id)
            if status == "ok":
                self.seeds.used(user_id, pair)
                return status, orjson.loads(result[1])
            if status == "replay":
                return status, await self._replayed(user_id, orjson.loads(result[1]))
            if status == "STALE":
                pair = self.seeds.stale(user_id, result)
                continue
            if status == "NO_SEEDS":
                self.seeds.forget(user_id)
                pair = await self.seeds.active(user_id)
                continue
            if status == "ZONE":
                self._limits.learn(user_id, result[1])
                continue
            raise script_error(result)
        raise CroupierError(ErrorCode.BUSY, "too many bets of this account at once; try again")

    async def _replayed(self, user_id: str, first: dict[str, Any]) -> dict[str, Any]:
        """The first reply of a replayed key, from what its record keeps: the bet id and the
        balance after the bet; the bet record comes from the window in Redis, or from
        PostgreSQL once trimmed. (Keys of earlier versions kept the whole reply, or only the
        bet id: that reply is the bet record with today's balance.)"""
        if "game" in first:
            return first
        keys = UserKeys(user_id)
        stored = await self._redis.hget(keys.bets, str(first["id"]))
        if stored is None and self._database is not None:
            stored = await self._database.fetchval(_ARCHIVED_BET, user_id, first["id"])
        if stored is None:
            raise CroupierError(ErrorCode.TX_NOT_OPEN, f"bet {first['id']} was voided")
        record: dict[str, Any] = orjson.loads(stored)
        balance = first.get("balance")
        if balance is None:
            balance = int(await self._redis.hget(keys.wallet, record["currency"]) or 0)
        record["balance"] = balance
        return record

    async def public_record(self, ref: str) -> dict[str, Any]:
        """The public record of the bet a live-feed reference names, with its server seed
        once revealed (no balance, no user id); NOT_FOUND for anything else."""
        opened = self.refs.open(ref)
        stored = None
        if opened is not None:
            user_id, bet_id = opened
            stored = await self._redis.hget(UserKeys(user_id).bets, str(bet_id))
            if stored is None and self._database is not None:
                stored = await self._database.fetchval(_ARCHIVED_BET, user_id, bet_id)
        if stored is None:
            raise CroupierError(ErrorCode.NOT_FOUND, "no such bet")
        record: dict[str, Any] = orjson.loads(stored)
        seed_hash = record.get("server_seed_hash")
        revealed = await self.seeds.revealed(user_id, [seed_hash] if seed_hash else [])
        record["server_seed"] = revealed.get(seed_hash) if seed_hash else None
        record["ref"] = ref
        return record

    async def record(self, user_id: str, user_name: str, record: dict[str, Any]) -> bool:
        """Store the record of a bet another game's flow settled (once, whoever asks) and
        announce it in the live feed; False if it was stored before."""
        keys = UserKeys(user_id)
        stored = await self._record(
            keys=[keys.bets, keys.journal], args=[record["id"], dumps(record), user_id]
        )
        self._journal.wrote(user_id)
        if stored:
            self.live.announce(user_id, user_name, record)
        return bool(stored)

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

    async def history(
        self, user_id: str, limit: int, before: int | None, game: str | None
    ) -> dict[str, Any]:
        """Settled bets newest first, each with its server seed once that is revealed: the
        recent ones from Redis, older ones (below the history floor) from PostgreSQL."""
        keys = UserKeys(user_id)
        stored, floor = await (
            self._redis.pipeline(transaction=True)
            .hgetall(keys.bets)
            .hget(keys.history, "bets_floor")
            .execute()
        )
        bets_floor = int(floor or 1)
        records = window_page(stored, bets_floor, before, limit, game)
        missing = limit - len(records)
        if missing > 0 and bets_floor > 1 and self._database is not None:
            below = bets_floor if before is None else min(bets_floor, before)
            rows = await self._database.fetch(_ARCHIVED_BETS, user_id, below, game, missing)
            records += [json.loads(row["record"]) for row in rows]
        revealed = await self.seeds.revealed(
            user_id, sorted({record["server_seed_hash"] for record in records} - {None})
        )
        for record in records:
            record["server_seed"] = revealed.get(record["server_seed_hash"])
        next_before = records[-1]["id"] if len(records) == limit else None
        return {"items": records, "next_before": next_before}
