"""A player's limits: reading them with their counters, changing them, their history.

Changes go through `limits_set.lua` (the rules of changes live there, atomic with
the limits the money scripts read), which also journals each for the archiver to
record in PostgreSQL (`limit_changes`); the change is also written there at once
(the same row: a second write of it changes nothing), so its answer lists it.
The limits themselves live in Redis: with PostgreSQL unreachable they are read and
changed as ever, the history reads as None (unknown, not empty), and a change
reaches it through the journal once PostgreSQL is back.
Nothing here can end a pause early: the script only extends one.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from server.errors import script_error
from server.limits.context import LimitContexts
from server.limits.periods import DEFAULT_ZONE
from server.limits.requests import DAY_MS, PAUSES, LimitChange, LimitKind, Period
from server.logs import OUTAGE_ERRORS, LogThrottle
from server.redis_scripts import ScriptRunner
from server.wallet.journal import Journal
from server.wallet.keys import UserKeys
from server.wallet.scripts import script_source

_HERE = Path(__file__).parent
RAISE_DELAY_MS = DAY_MS
"""A raised or removed limit applies this long after the change."""
KINDS: tuple[LimitKind, ...] = ("loss", "wager", "deposit")
PERIODS: tuple[Period, ...] = ("day", "week", "month")
HISTORY_ROWS = 50
log = logging.getLogger(__name__)
_failures = LogThrottle(log)
_RECORD = """
INSERT INTO limit_changes (user_id, seq, actor, changed_at, setting, old_value, new_value,
                           effective_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
"""
_HISTORY = """
SELECT actor, changed_at, setting, old_value, new_value, effective_at FROM limit_changes
WHERE user_id = $1 ORDER BY seq DESC LIMIT $2
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """The user's limits hash read at `now` (raises due by then counted as applied)."""

    fields: dict[str, str]
    now: int

    def limit(self, name: str) -> tuple[int | None, dict[str, Any] | None]:
        """The limit `name` in force and what waits to replace it ({amount, effective_at})."""
        value = self.fields.get(name)
        waiting = self.fields.get(f"{name}:next")
        if waiting is None:
            return (int(value) if value else None), None
        amount, at = waiting.split("|")
        if self.now >= int(at):
            return (int(amount) if amount else None), None
        pending = {"amount": int(amount) if amount else None, "effective_at": int(at)}
        return (int(value) if value else None), pending


class PlayerLimits:
    """Reads and changes players' limits."""

    def __init__(
        self,
        redis: Redis,
        runner: ScriptRunner,
        contexts: LimitContexts,
        *,
        database: asyncpg.Pool,
        journal: Journal,
        currencies: list[str],
    ) -> None:
        self._redis = redis
        self._journal = journal
        self._contexts = contexts
        self._database = database
        self._currencies = currencies
        self._set = runner.script(script_source(_HERE / "limits_set.lua"))

    async def view(self, user_id: str) -> dict[str, Any]:
        """The user's settings, each limit with what is used of it and when that resets,
        and the latest changes, newest first."""
        fields: dict[str, str] = await self._redis.hgetall(UserKeys(user_id).limits)
        now = self._contexts.clock.now_ms()
        zone = fields.get("zone", DEFAULT_ZONE)
        self._contexts.learn(user_id, zone)
        periods = self._contexts.clock.periods(zone, now)
        ids = {"day": periods.day, "week": periods.week, "month": periods.month}
        stored = Stored(fields, now)
        limits = []
        for currency in self._currencies:
            for kind in KINDS:
                for period in PERIODS:
                    amount, pending = stored.limit(f"{currency}:{kind}:{period}")
                    if amount is None and pending is None:
                        continue
                    current = fields.get(f"{currency}:{period}:id") == ids[period]
                    used = int(fields.get(f"{currency}:{period}:{kind}", 0)) if current else 0
                    limits.append({
                        "currency": currency, "kind": kind, "period": period, "amount": amount,
                        "pending": pending, "used": used, "resets_at": periods.ends()[period],
                    })  # fmt: skip
        pause_ends = fields.get("pause_until")
        pause = None
        if pause_ends is not None and (pause_ends == "never" or now < int(pause_ends)):
            until = None if pause_ends == "never" else int(pause_ends)
            pause = {"kind": fields["pause"], "until": until}
        return {
            "zone": zone,
            "now": now,
            "limits": limits,
            "pause": pause,
            "reality_check_min": int(fields.get("reality_check_min", 0)),
            "history": await self.history(user_id),
        }

    async def change(self, user_id: str, change: LimitChange) -> dict[str, Any]:
        """Apply one change by the player (see limits_set.lua for the rules), record it and
        return the new view; a pause that would end sooner than the one in force is refused
        with its code."""
        now = self._contexts.clock.now_ms()
        if change.currency is not None:
            amount = "" if change.amount is None else str(change.amount)
            args = ["limit", change.setting, amount, str(RAISE_DELAY_MS)]
        elif change.zone is not None:
            p = self._contexts.clock.periods(change.zone, now)
            args = ["zone", change.zone, f"{p.day} {p.week} {p.month}"]
        elif change.pause is not None:
            kind, lasts = PAUSES[change.pause]
            args = ["pause", kind, "never" if lasts is None else str(now + lasts)]
        else:
            args = ["reality_check", str(change.reality_check_min)]
        keys = UserKeys(user_id)
        args += [user_id, change.setting]
        reply = await self._contexts.run(self._set, user_id, [keys.limits, keys.journal], args)
        self._journal.wrote(user_id)
        if reply[0] != "ok":
            raise script_error(reply)
        _, old, new, effective_at, seq = reply
        if change.zone is not None:
            self._contexts.learn(user_id, change.zone)
        # The journal holds the change already (the archiver records it); writing it now
        # too puts it in the history this answer shows.
        try:
            await self._database.execute(
                _RECORD, user_id, int(seq), user_id, now, change.setting, old, new,
                int(effective_at),
            )  # fmt: skip
        except OUTAGE_ERRORS as error:
            _failures.failure("recording a limit change", error)
        return await self.view(user_id)

    async def history(self, user_id: str, limit: int = HISTORY_ROWS) -> list[dict[str, Any]] | None:
        """The user's latest limit changes, newest first; None while PostgreSQL is
        unreachable."""
        try:
            rows = await self._database.fetch(_HISTORY, user_id, limit)
        except OUTAGE_ERRORS as error:
            _failures.failure("reading limit changes", error)
            return None
        return [
            {
                "setting": row["setting"], "old": row["old_value"], "new": row["new_value"],
                "changed_at": row["changed_at"], "effective_at": row["effective_at"],
                "actor": row["actor"],
            }
            for row in rows
        ]  # fmt: skip
