"""The step-by-step games' flow: start (debit), steps, cashout, settlement.

A game's state lives in Redis under the user's hash tag, so it survives
disconnects and restarts and every tab sees it. Each step reads the state,
applies the rules here, and writes back with `step_update.lua`, a
compare-and-set on the game's version that also settles the bet when the step
ends the game: of two racing actions (a reveal and a cashout from two tabs)
exactly one applies, and the other is replayed against the new state.
"""

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis

from games.base import payout
from games.states import GameError, GameNotActiveError, GameState
from server.bets.seeds import SeedPairs
from server.bets.service import OPEN_BET_HELPERS, settled_record
from server.config import Settings
from server.errors import CroupierError, ErrorCode
from server.logs import LogThrottle
from server.protocol import Params, dumps
from server.redis_scripts import ScriptRunner
from server.stepped.rules import StepRules, state_of
from server.wallet import UserKeys
from server.wallet.scripts import script_source

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

_HERE = Path(__file__).parent
CAS_ATTEMPTS = 20
EXPIRY_SWEEP_INTERVAL_S = 2.0


def now_ms() -> int:
    return int(time.time() * 1000)


def game_error(error: GameError | ValueError) -> CroupierError:
    """A refused action: GAME_NOT_ACTIVE for a finished game, else BAD_REQUEST."""
    if isinstance(error, GameNotActiveError):
        return CroupierError(ErrorCode.GAME_NOT_ACTIVE, str(error))
    return CroupierError(ErrorCode.BAD_REQUEST, str(error))


class SteppedGames:
    """Starts, plays, resumes and settles the step-by-step games of every user."""

    def __init__(
        self,
        redis: Redis,
        runner: ScriptRunner,
        settings: Settings,
        seeds: SeedPairs,
        rules: Mapping[str, StepRules],
    ) -> None:
        self._redis = redis
        self._settings = settings
        self._seeds = seeds
        self.rules = rules
        self._open = runner.script(script_source(_HERE / "step_open.lua", True, OPEN_BET_HELPERS))
        self._update = runner.script(script_source(_HERE / "step_update.lua"))
        self._ttl = str(settings.idempotency_ttl_s)

    async def start(
        self, user_id: str, game: str, *, amount: int, currency: str, key: str, params: Params
    ) -> dict[str, Any]:
        """Debit the stake and open a game; a replayed key returns that game as it is now."""
        limits = self._settings.bet_limits[currency]
        if not limits.min_bet <= amount <= limits.max_bet:
            raise CroupierError(
                ErrorCode.LIMIT_EXCEEDED,
                f"bets in {currency} must lie in [{limits.min_bet}, {limits.max_bet}]",
                "amount",
            )
        keys = UserKeys(user_id)
        redis_keys = [
            keys.wallet, keys.ledger, keys.ledger_index, keys.idempotency(f"game:{key}"),
            keys.seeds, keys.games,
        ]  # fmt: skip
        args = [
            user_id,
            currency,
            str(amount),
            game,
            params.model_dump_json(),
            self._ttl,
            keys.events,
        ]
        status, payload = await self._open(keys=redis_keys, args=args)
        if status == "NO_SEEDS":
            await self._seeds.ensure(user_id)
            status, payload = await self._open(keys=redis_keys, args=args)
        if status == "replay":
            return await self._replayed_start(user_id, game, json.loads(payload)["id"])
        if status != "ok":
            raise CroupierError(ErrorCode(status), payload)
        state = json.loads(payload)
        rules = self.rules[game]
        played = rules.new(state, params, now_ms())
        return await self._commit(state, f"{state['id']}:0", rules, played, {"started": True})

    async def act(
        self, user_id: str, game: str, action: str | None, params: Params
    ) -> dict[str, Any]:
        """Apply an action (None: cash out) to the user's active game, retrying on a race."""
        rules = self.rules[game]
        for _ in range(CAS_ATTEMPTS):
            state, version = await self._read(user_id, game)
            played = self._load(rules, state)
            moment = now_ms()
            try:
                if rules.expire(played, moment):
                    result: dict[str, Any] = {"expired": True}
                elif action is None:
                    rules.cashout(played, moment)
                    result = {"cashed_out": True}
                else:
                    result = rules.act(played, action, params, moment)
            except (GameError, ValueError) as error:
                raise game_error(error) from None
            try:
                return await self._commit(state, version, rules, played, result)
            except _ConflictError:
                continue
        raise CroupierError(ErrorCode.BUSY, "the game is changing too fast; try again")

    async def active(self, user_id: str, game: str) -> dict[str, Any]:
        """The user's game in progress (expired on the way if its time ran out)."""
        state, version = await self._read(user_id, game)
        rules = self.rules[game]
        played = self._load(rules, state)
        if rules.expire(played, now_ms()):
            try:
                return await self._commit(state, version, rules, played, {"expired": True})
            except _ConflictError:
                return await self.active(user_id, game)
        return self._reply(state, rules, played, {}, None)

    async def _replayed_start(self, user_id: str, game: str, bet_id: int) -> dict[str, Any]:
        keys = UserKeys(user_id)
        stored = await self._redis.hget(keys.bets, str(bet_id))
        if stored is not None:
            return {"game": game, "bet": json.loads(stored), "state": None}
        return await self.active(user_id, game)

    async def _read(self, user_id: str, game: str) -> tuple[dict[str, Any], str]:
        raw, version = await self._redis.hmget(UserKeys(user_id).games, [game, f"{game}:v"])
        if raw is None or version is None:
            raise CroupierError(ErrorCode.GAME_NOT_ACTIVE, f"no {game} game is in progress")
        return json.loads(raw), version

    def _load(self, rules: StepRules, state: dict[str, Any]) -> Any:
        if state.get("record") is None:  # a start whose first write never happened
            params = rules.start_params.model_validate(state["params"])
            return rules.new(state, params, state["created_at"])
        try:
            return rules.load(state["record"])
        except (ValidationError, GameError, ValueError) as error:
            raise CroupierError(ErrorCode.INTERNAL, f"stored game is corrupt: {error}") from None

    async def _commit(
        self,
        state: dict[str, Any],
        version: str,
        rules: StepRules,
        played: Any,
        result: dict[str, Any],
    ) -> dict[str, Any]:
        """Write the new state (or settle the ended game) if `version` is still current."""
        limits = self._settings.bet_limits[state["currency"]]
        if state_of(played) is GameState.ACTIVE and self._reached_max_payout(rules, played, state):
            rules.cashout(played, now_ms())
            result = {**result, "max_payout": True}
        ended = state_of(played) is not GameState.ACTIVE
        paid = min(payout(state["amount"], rules.payout_multiplier(played)), limits.max_payout)
        record = None
        if ended:
            details = {"view": rules.view(played)}
            record = settled_record(state, str(rules.payout_multiplier(played)), paid, details)
        reply = self._reply(state, rules, played, result, record)
        keys = UserKeys(state["user"])
        new_state = {**state, "record": rules.record(played)}
        status, payload = await self._update(
            keys=[
                keys.wallet, keys.ledger, keys.ledger_index,
                keys.idempotency(f"game-settle:{state['id']}"), keys.games, keys.bets,
                keys.bets_index,
            ],
            args=[
                state["user"], state["game"], str(state["id"]), version,
                "" if ended else dumps(new_state), str(paid) if ended else "",
                dumps(record) if record else "", dumps({"event": "game.state", "data": reply}),
                self._ttl, keys.events,
            ],
        )  # fmt: skip
        if status == "CONFLICT":
            raise _ConflictError
        if status != "ok":
            raise CroupierError(ErrorCode(status), payload)
        if ended:
            reply["balance"] = json.loads(payload)["balance"]
        return reply

    def _reached_max_payout(self, rules: StepRules, played: Any, state: dict[str, Any]) -> bool:
        limit = self._settings.bet_limits[state["currency"]].max_payout
        return payout(state["amount"], rules.payout_multiplier(played)) >= limit

    def _reply(
        self,
        state: dict[str, Any],
        rules: StepRules,
        played: Any,
        result: dict[str, Any],
        record: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The reply and `game.state` event: the game as the player may see it."""
        return {
            "game": state["game"],
            "bet_id": state["id"],
            "amount": state["amount"],
            "currency": state["currency"],
            "server_seed_hash": state["server_seed_hash"],
            "client_seed": state["client_seed"],
            "nonce": state["nonce"],
            "state": rules.view(played),
            "result": result,
            "bet": record,
        }

    async def expire_overdue(self) -> int:
        """End every game whose time ran out (Quiz questions left unanswered)."""
        ended = 0
        async for key in self._redis.scan_iter(match="{u:*}:games", count=1000):
            user_id = key[3 : key.index("}")]
            for game in await self._redis.hkeys(key):
                if game in self.rules and not game.endswith(":v"):
                    try:
                        reply = await self.active(user_id, game)
                    except CroupierError:
                        continue  # finished meanwhile
                    ended += reply["result"].get("expired", False)
        return ended

    async def run_expiry(self) -> None:
        """Sweep for games past their deadline every few seconds."""
        while True:
            await asyncio.sleep(EXPIRY_SWEEP_INTERVAL_S)
            try:
                await self.expire_overdue()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _failures.failure("game expiry sweep", error)


class _ConflictError(Exception):
    """The game changed between its read and its write."""
