"""This process's side of the journal: which slots it wrote to, and back-pressure.

Every money script appends its records to the journal stream of the user's
slot; the process notes the slot (`wrote`) so that its archiver copies it to
PostgreSQL within a moment (`take`).

Back-pressure: new stakes wait while PostgreSQL is far behind.

The archiver's full pass measures how many journal records wait to be copied
to PostgreSQL and stores the count under `BACKLOG_KEY`. While it is at or above
`CROUPIER_JOURNAL_MAX`, what would start new money moves (a bet, a game, a
Crash bet, the faucet) is refused with the retryable UNAVAILABLE, so Redis never
fills up with unarchived records; whatever settles money already at stake (a
cashout, a game's end, a refund) goes on. The count is as fresh as the last full
pass, so the journal may pass the bound by one pass interval of traffic.
"""

import time

from redis.asyncio import Redis

from server.errors import CroupierError, ErrorCode
from server.slots import key_slot

BACKLOG_KEY = "croupier:journal:backlog"
"""String: journal records not yet archived, at the last full pass (expires)."""
_READ_EVERY_S = 1.0


class Journal:
    """The slots this process wrote to since the archiver last took them, and the
    bound on records waiting for PostgreSQL."""

    def __init__(self, redis: Redis, max_records: int) -> None:
        self._redis = redis
        self._max = max_records
        self._backlog = 0
        self._read_at = float("-inf")
        self._slots: set[int] = set()

    def wrote(self, user_id: str) -> None:
        """A script wrote to the journal of this user's slot."""
        self._slots.add(key_slot(f"{{u:{user_id}}}"))

    def wrote_to(self, journal_key: str) -> None:
        """A script wrote to this journal (of keys that are not a user's)."""
        self._slots.add(key_slot(journal_key))

    def take(self) -> set[int]:
        """The slots written since the last call (the archiver's to copy)."""
        slots, self._slots = self._slots, set()
        return slots

    def put_back(self, slots: set[int]) -> None:
        """Slots whose archiving failed: taken again next time."""
        self._slots |= slots

    async def full(self) -> bool:
        """Whether the backlog waiting for PostgreSQL is at or above the bound."""
        now = time.monotonic()
        if now - self._read_at >= _READ_EVERY_S:
            self._read_at = now
            self._backlog = int(await self._redis.get(BACKLOG_KEY) or 0)
        return self._backlog >= self._max

    async def check_room(self) -> None:
        """Raise UNAVAILABLE while the backlog is at or above the bound."""
        if await self.full():
            raise CroupierError(
                ErrorCode.UNAVAILABLE,
                "the ledger archive is behind; nothing was moved: try again shortly",
            )
