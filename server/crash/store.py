"""The round in Redis: reads, the leader's fenced scripts, the players' scripts.

Every state change is one Lua script on the `{live}` keys (see keys.py); this
module only calls them and turns their replies into records and errors.
"""

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from server.crash import keys
from server.crash.lease import LeaseLostError, LeaseTerm
from server.crash.records import Bet, RoundState
from server.crash.scripts import CrashScripts
from server.errors import CroupierError, ErrorCode
from server.wallet.journal import Journal

HISTORY_LENGTH = 50

_ROUND = [keys.ROUND, keys.BETS, keys.TARGETS]


class RoundConflictError(RuntimeError):
    """A leader's script found the round in another state than the leader expected."""


@dataclass(frozen=True, slots=True)
class Reveal:
    """What the crash (or the voiding) of a round makes public."""

    point: int
    """Crash point x100."""
    hash: str
    history_entry: str


def _checked(reply: list[Any]) -> list[Any]:
    """A script's reply, or its error raised: FENCED, CONFLICT or a client error code."""
    status = reply[0]
    if status == "FENCED":
        raise LeaseLostError(reply[1])
    if status == "CONFLICT":
        raise RoundConflictError(reply[1])
    if status in ErrorCode.__members__:
        raise CroupierError(ErrorCode(status), reply[1])
    return reply


class CrashStore:
    """The Crash state of the deployment, shared by every instance."""

    def __init__(self, redis: Redis, scripts: CrashScripts, journal: Journal) -> None:
        self._redis = redis
        self._scripts = scripts
        self._journal = journal

    async def round(self) -> RoundState | None:
        return RoundState.from_hash(await self._redis.hgetall(keys.ROUND))

    async def bets(self) -> list[Bet]:
        return [Bet.from_json(raw) for raw in (await self._redis.hgetall(keys.BETS)).values()]

    async def snapshot(self) -> tuple[RoundState | None, list[Bet], int]:
        """The round and its bets, read atomically, and the Redis time in ms read right
        after (TIME has no key: on a cluster it may come from another node)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            raw_round, raw_bets = await pipe.hgetall(keys.ROUND).hgetall(keys.BETS).execute()
        seconds, micros = await self._redis.time()
        bets = [Bet.from_json(raw) for raw in raw_bets.values()]
        return RoundState.from_hash(raw_round), bets, seconds * 1000 + micros // 1000

    async def history(self) -> list[dict[str, Any]]:
        """The last rounds, newest first."""
        raw = await self._redis.lrange(keys.HISTORY, 0, HISTORY_LENGTH - 1)
        return [json.loads(entry) for entry in raw]

    # The leader's scripts: each refuses to run unless `term` is the live lease.

    async def new_round(
        self, term: LeaseTerm, round_id: int, commitment: str, betting_ms: int
    ) -> tuple[int, int]:
        """Open round `round_id` in BETTING; returns (server time, betting deadline) in ms."""
        reply = _checked(
            await self._scripts.round_new(
                keys=[*_ROUND, keys.LEASE],
                args=[term.value, term.fence, round_id, commitment, betting_ms],
            )
        )
        return int(reply[1]), int(reply[2])

    async def adopt(self, term: LeaseTerm, round_id: int) -> int:
        """Take over a round in BETTING; returns the server time in ms."""
        reply = _checked(
            await self._scripts.round_adopt(
                keys=[keys.ROUND, keys.LEASE], args=[term.value, term.fence, round_id]
            )
        )
        return int(reply[1])

    async def start(self, term: LeaseTerm, round_id: int) -> int:
        """BETTING -> RUNNING; returns the start time in ms."""
        reply = _checked(
            await self._scripts.round_start(
                keys=[keys.ROUND, keys.BETS, keys.LEASE], args=[term.value, term.fence, round_id]
            )
        )
        return int(reply[1])

    async def tick(
        self,
        term: LeaseTerm,
        round_id: int,
        elapsed_ms: int,
        mult: int,
        *,
        caps: dict[str, int],
        crash: Reveal | None,
    ) -> list[Bet]:
        """Record a tick, or the crash when `crash` is given; returns the bets it cashed out."""
        reveal = [crash.point, crash.hash, crash.history_entry] if crash else ["", "", ""]
        cap_args = [value for pair in caps.items() for value in pair]
        reply = _checked(
            await self._scripts.round_tick(
                keys=[*_ROUND, keys.HISTORY, keys.LEASE],
                args=[
                    term.value, term.fence, round_id, elapsed_ms, mult,
                    *reveal, HISTORY_LENGTH, *cap_args,
                ],
            )
        )  # fmt: skip
        return [Bet.from_json(raw) for raw in reply[1:]]

    async def void(self, term: LeaseTerm, round_id: int, reveal: Reveal) -> None:
        """End a RUNNING round of an earlier term: CRASHED, voided, open bets void."""
        _checked(
            await self._scripts.round_void(
                keys=[*_ROUND, keys.HISTORY, keys.LEASE],
                args=[
                    term.value, term.fence, round_id,
                    reveal.point, reveal.hash, reveal.history_entry, HISTORY_LENGTH,
                ],
            )
        )  # fmt: skip

    async def finish(self, term: LeaseTerm, round_id: int, chain: str) -> None:
        """Mark a crashed round settled in the wallet; its record goes to the journal
        (`chain`: the terminating hash of the round's chain)."""
        _checked(
            await self._scripts.round_finish(
                keys=[keys.ROUND, keys.LEASE, keys.JOURNAL], args=[term.value, round_id, chain]
            )
        )
        self._journal.wrote_to(keys.JOURNAL)

    # The players' scripts.

    async def reserve(self, bet: Bet) -> tuple[bool, int, Bet]:
        """Hold the user's place in the round in BETTING: (new?, round id, record)."""
        reply = _checked(
            await self._scripts.bet_reserve(
                keys=[keys.ROUND, keys.BETS], args=[bet.user, bet.to_json()]
            )
        )
        return reply[0] == "ok", int(reply[1]), Bet.from_json(reply[2])

    async def confirm(self, round_id: int, bet: Bet, tx: int) -> tuple[bool, Bet]:
        """Open a reserved bet whose debit is entry `tx`: (new?, record); ROUND_CLOSED if late."""
        reply = _checked(
            await self._scripts.bet_confirm(keys=_ROUND, args=[round_id, bet.user, bet.key, tx])
        )
        return reply[0] == "ok", Bet.from_json(reply[1])

    async def release(self, round_id: int, bet: Bet) -> None:
        """Drop a reserved place whose debit was refused."""
        await self._scripts.bet_release(
            keys=[keys.ROUND, keys.BETS], args=[round_id, bet.user, bet.key]
        )

    async def cashout(self, user: str) -> tuple[bool, int, Bet]:
        """Cash the user's open bet out at the last tick: (new?, round id, record)."""
        reply = _checked(await self._scripts.bet_cashout(keys=_ROUND, args=[user]))
        return reply[0] == "ok", int(reply[1]), Bet.from_json(reply[2])
