"""The step-by-step games' flow: start (debit), steps, cashout, settlement.

A game's state lives in Redis under the user's hash tag, so it survives
disconnects and restarts and every tab sees it. A start is one script,
`step_start.lua`: the game is drawn here from the seed pair and nonce this
process believes active, and the script checks them (compare-and-set) as it
debits the stake and stores the drawn game. Each step reads the state,
applies the rules here, and writes back with `step_update.lua`, a
compare-and-set on the game's version that also settles the bet when the step
ends the game: of two racing actions (a reveal and a cashout from two tabs)
exactly one applies, and the other is replayed against the new state.

While a game is open its bet holds the user's seed pair open (no rotation), and
a game that can end by itself (a Quiz question's timer) is listed in the
games-due index of the user's cluster slot with its deadline; the expiry sweep
reads only those indexes, never the whole keyspace.
"""

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis

from games.base import payout
from games.states import GameError, GameNotActiveError, GameState
from server.bets.live import LiveFeed
from server.bets.seeds import SeedPairs
from server.bets.service import OPEN_BET_HELPERS, settled_record
from server.config import Settings
from server.errors import CroupierError, ErrorCode, script_error
from server.limits.context import LimitContexts
from server.protocol import Params, dumps
from server.redis_scripts import ScriptRunner
from server.slots import all_slot_keys
from server.stepped.rules import StepRules, state_of
from server.supervise import leased_passes, passes
from server.wallet import UserKeys
from server.wallet.journal import Journal
from server.wallet.keys import GAMES_DUE
from server.wallet.scripts import script_source

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
CAS_ATTEMPTS = 20
CACHED_GAMES = 16_384
"""Games in progress whose last written state a process keeps (least recently used dropped
first): an action starts from it instead of reading it back."""
EXPIRY_SWEEP_INTERVAL_S = 2.0
"""How often an instance sweeps the games-due indexes its own scripts wrote to."""
SWEEP_LEASE_KEY = "croupier:sweep:games"
"""String: the instance sweeping every slot this interval (one full sweep at a time)."""
SWEEP_BATCH = 2048
"""Per-slot indexes read in one pipeline."""
SWEEP_LIMIT = 100
"""Due games taken from one slot's index per sweep."""
START_ATTEMPTS = 100
"""Compare-and-set attempts of one start before BUSY (each lost one means another bet
of the account took the nonce first)."""


def now_ms() -> int:
    return int(time.time() * 1000)


def due_member(game: str, user_id: str, bet_id: int | str) -> str:
    """A game's member in the games-due index: `<game>:<user id>:<bet id>`."""
    return f"{game}:{user_id}:{bet_id}"


def parse_due_member(member: str) -> tuple[str, str, str]:
    """(game, user id, bet id) of a games-due member."""
    game, _, rest = member.partition(":")
    user_id, _, bet_id = rest.rpartition(":")
    return game, user_id, bet_id


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
        *,
        live: LiveFeed,
        journal: Journal,
        limits: LimitContexts,
    ) -> None:
        """`live`: the live feed; `journal`: marks the journals written, bounds new games;
        `limits`: the limits context of each stake and settlement."""
        self._redis = redis
        self._limits = limits
        self._runner = runner
        self._settings = settings
        self._seeds = seeds
        self._live = live
        self._journal = journal
        self.rules = rules
        self._start = runner.script(script_source(_HERE / "step_start.lua", True, OPEN_BET_HELPERS))
        self._update = runner.script(
            script_source(_HERE / "step_update.lua", True, OPEN_BET_HELPERS)
        )
        self._ttl = str(settings.idempotency_ttl_s)
        self._sweeper = secrets.token_hex(8)
        self._full_sweep_s = settings.sweep_full_pass_s
        self._games: OrderedDict[tuple[str, str], tuple[dict[str, Any], str]] = OrderedDict()
        """(user, game) -> (state, version) as this process last wrote or read them."""
        self._due_indexes: set[str] = set()
        """Games-due indexes this instance wrote to and has not yet seen empty."""

    async def start(
        self,
        user_id: str,
        user_name: str,
        game: str,
        *,
        amount: int,
        currency: str,
        key: str,
        params: Params,
    ) -> dict[str, Any]:
        """Debit the stake and open a game; a replayed key returns that game as it is now.
        `user_name` (public) names the player in the live feed when the game ends."""
        await self._journal.check_room()
        limits = self._settings.bet_limits[currency]
        if not limits.min_bet <= amount <= limits.max_bet:
            raise CroupierError(
                ErrorCode.LIMIT_EXCEEDED,
                f"bets in {currency} must lie in [{limits.min_bet}, {limits.max_bet}]",
                "amount",
            )
        keys = UserKeys(user_id)
        redis_keys = [
            keys.wallet, keys.ledger, keys.idempotency(f"game:{key}"), keys.seeds, keys.games,
            keys.open_on_seeds, keys.games_due, keys.journal, keys.limits,
        ]  # fmt: skip
        rules = self.rules[game]
        params_json = params.model_dump_json()
        pair = await self._seeds.active(user_id)
        for _ in range(START_ATTEMPTS):
            # The game is drawn from the pair this process believes active; the script
            # checks that it still is, else answers with the active one.
            drawn = {
                "server_seed": pair.server_seed, "client_seed": pair.client_seed,
                "nonce": pair.nonce, "amount": amount,
            }  # fmt: skip
            played = rules.new(drawn, params, now_ms())
            deadline = rules.deadline(played)
            view = {
                "game": game, "amount": amount, "currency": currency,
                "server_seed_hash": pair.server_seed_hash, "client_seed": pair.client_seed,
                "nonce": pair.nonce, "state": rules.view(played), "result": {"started": True},
                "bet": None,
            }  # fmt: skip
            if deadline is not None:
                self._due_indexes.add(keys.games_due)
            args = [
                user_id, currency, str(amount), game, params_json, self._ttl, keys.events,
                "" if deadline is None else str(deadline), due_member(game, user_id, ""),
                pair.server_seed_hash, str(pair.nonce),
                dumps({"record": rules.record(played), "name": user_name}), dumps(view),
            ]  # fmt: skip
            reply = await self._limits.run(self._start, user_id, redis_keys, args)
            self._journal.wrote(user_id)
            if reply[0] == "ok":
                self._seeds.used(user_id, pair)
                state = json.loads(reply[1])
                self._remember(user_id, game, state, f"{state['id']}:1")
                return {"game": game, "bet_id": state["id"], **view}
            if reply[0] == "replay":
                return await self._replayed_start(user_id, game, json.loads(reply[1])["id"])
            if reply[0] == "STALE":
                pair = self._seeds.stale(user_id, reply)
            elif reply[0] == "NO_SEEDS":
                self._seeds.forget(user_id)
                pair = await self._seeds.active(user_id)
            else:
                raise script_error(reply)
        raise CroupierError(ErrorCode.BUSY, "too many games of this account at once; try again")

    async def act(
        self, user_id: str, game: str, action: str | None, params: Params
    ) -> dict[str, Any]:
        """Apply an action (None: cash out) to the user's active game, retrying on a race.

        The first attempt starts from the state this process last wrote, if it has it: the
        write checks the version, so a state another tab or instance moved on costs a read
        and a retry, never a wrong step. Anything a cached state refuses is tried again on
        the state read from Redis."""
        rules = self.rules[game]
        for attempt in range(CAS_ATTEMPTS):
            cached = self._games.get((user_id, game)) if attempt == 0 else None
            state, version = cached or await self._read(user_id, game)
            try:
                return await self._step(rules, state, version, action, params)
            except _ConflictError:
                continue
            except CroupierError:
                if cached is None:
                    raise
                self._games.pop((user_id, game), None)
        raise CroupierError(ErrorCode.BUSY, "the game is changing too fast; try again")

    async def _step(
        self,
        rules: StepRules,
        state: dict[str, Any],
        version: str,
        action: str | None,
        params: Params,
    ) -> dict[str, Any]:
        """Apply the action to `state` and write it if `version` is still current."""
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
        return await self._commit(state, version, rules, played, result)

    async def active(self, user_id: str, game: str) -> dict[str, Any]:
        """The user's game in progress (expired on the way if its time ran out)."""
        state, version = await self._read(user_id, game)
        rules = self.rules[game]
        played = self._load(rules, state)
        expired = rules.expire(played, now_ms())
        if expired or state.get("record") is None:  # also an earlier version's lost first step
            try:
                return await self._commit(
                    state, version, rules, played, {"expired": True} if expired else {}
                )
            except _ConflictError:
                return await self.active(user_id, game)
        return self._reply(state, rules, played, {}, None)

    async def adopt(self, user_id: str, state: dict[str, Any]) -> None:
        """List a game stored by an earlier version as open on its seed pair and,
        if it can end by itself, as due for the expiry sweep (idempotent)."""
        keys = UserKeys(user_id)
        rules = self.rules[state["game"]]
        deadline = rules.deadline(self._load(rules, state)) if state.get("record") else now_ms()
        await self._redis.sadd(keys.open_on_seeds, str(state["id"]))
        if deadline is not None:
            member = due_member(state["game"], user_id, state["id"])
            self._due_indexes.add(keys.games_due)
            await self._redis.zadd(keys.games_due, {member: deadline})

    async def _replayed_start(self, user_id: str, game: str, bet_id: int) -> dict[str, Any]:
        keys = UserKeys(user_id)
        stored = await self._redis.hget(keys.bets, str(bet_id))
        if stored is not None:
            return {"game": game, "bet": json.loads(stored), "state": None}
        return await self.active(user_id, game)

    async def _read(self, user_id: str, game: str) -> tuple[dict[str, Any], str]:
        raw, version = await self._redis.hmget(UserKeys(user_id).games, [game, f"{game}:v"])
        if raw is None or version is None:
            self._games.pop((user_id, game), None)
            raise CroupierError(ErrorCode.GAME_NOT_ACTIVE, f"no {game} game is in progress")
        state: dict[str, Any] = json.loads(raw)
        self._remember(user_id, game, state, version)
        return state, version

    def _remember(self, user_id: str, game: str, state: dict[str, Any], version: str) -> None:
        self._games[user_id, game] = (state, version)
        self._games.move_to_end((user_id, game))
        if len(self._games) > CACHED_GAMES:
            self._games.popitem(last=False)

    def _load(self, rules: StepRules, state: dict[str, Any]) -> Any:
        if state.get("record") is None:  # opened by an earlier version, its first step unwritten
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
        deadline = None if ended else rules.deadline(played)
        keys = UserKeys(state["user"])
        new_state = {**state, "record": rules.record(played)}
        if deadline is not None:
            self._due_indexes.add(keys.games_due)
        written = await self._limits.run(
            self._update,
            state["user"],
            [
                keys.wallet, keys.ledger, keys.idempotency(f"game-settle:{state['id']}"),
                keys.games, keys.bets, keys.open_on_seeds, keys.games_due, keys.journal,
                keys.limits,
            ],
            [
                state["user"], state["game"], str(state["id"]), version,
                "" if ended else dumps(new_state), str(paid) if ended else "",
                dumps(record) if record else "", dumps({"event": "game.state", "data": reply}),
                self._ttl, keys.events, "" if deadline is None else str(deadline),
                due_member(state["game"], state["user"], state["id"]),
            ],
        )  # fmt: skip
        self._journal.wrote(state["user"])
        if written[0] == "CONFLICT":
            raise _ConflictError
        if written[0] != "ok":
            raise script_error(written)
        if not ended:
            self._remember(state["user"], state["game"], new_state, written[1])
        else:
            self._games.pop((state["user"], state["game"]), None)
            reply["balance"] = json.loads(written[1])["balance"]
            if record is not None and "name" in state:
                self._live.announce(state["user"], state["name"], record)
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

    async def expire_overdue(self, indexes: list[str]) -> int:
        """End every game of these games-due indexes whose time ran out (Quiz questions
        left unanswered) and write the first step of games an earlier version opened
        without it; returns how many games ended."""
        moment = now_ms()
        ended = 0
        for start in range(0, len(indexes), SWEEP_BATCH):
            batch = indexes[start : start + SWEEP_BATCH]
            found: list[list[str]] = await asyncio.gather(
                *(self._runner.call(("ZRANGEBYSCORE", key, "-inf", moment, "LIMIT", 0, SWEEP_LIMIT))
                  for key in batch)
            )  # fmt: skip
            for key, members in zip(batch, found, strict=True):
                for member in members:
                    ended += await self._sweep(key, member)
        return ended

    async def sweep_own(self) -> int:
        """Sweep the indexes this instance wrote to; an index found empty is dropped
        from them (a game opened meanwhile adds it again)."""
        indexes, self._due_indexes = sorted(self._due_indexes), set()
        try:
            ended = await self.expire_overdue(indexes)
            sizes = await asyncio.gather(*(self._runner.call(("ZCARD", key)) for key in indexes))
        except BaseException:
            self._due_indexes.update(indexes)
            raise
        self._due_indexes.update(key for key, size in zip(indexes, sizes, strict=True) if size)
        return ended

    async def sweep_all(self) -> int:
        """Sweep every slot's index: games of instances that stopped."""
        return await self.expire_overdue(all_slot_keys(GAMES_DUE))

    async def _sweep(self, key: str, member: str) -> bool:
        game, user_id, bet_id = parse_due_member(member)
        try:
            reply = await self.active(user_id, game) if game in self.rules else None
        except CroupierError as error:
            if error.code is not ErrorCode.GAME_NOT_ACTIVE:
                raise
            reply = None
        if reply is None or str(reply["bet_id"]) != bet_id:
            # That game is over; its settlement removed it unless it predates the index.
            await self._redis.zrem(key, member)
            return False
        return bool(reply["result"].get("expired", False))

    async def run_expiry(self) -> None:
        """Every few seconds, sweep the indexes this instance wrote to."""
        await passes(
            interval_s=EXPIRY_SWEEP_INTERVAL_S, run_pass=self.sweep_own, name="game expiry sweep"
        )

    async def run_full_sweeps(self) -> None:
        """Every `sweep_full_pass_s`, one instance of the deployment sweeps every slot."""
        await leased_passes(
            self._redis, lease_key=SWEEP_LEASE_KEY, holder=self._sweeper,
            interval_s=self._full_sweep_s, run_pass=self.sweep_all,
            name="full game expiry sweep",
        )  # fmt: skip


class _ConflictError(Exception):
    """The game changed between its read and its write."""
