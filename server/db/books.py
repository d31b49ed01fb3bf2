"""The books in PostgreSQL, by SQL: the trial balance and the house's result per game.

Both are read in one snapshot, so they hold on a live server too. Two checks:
the postings of every currency sum to zero (double entry), and for every game
and currency (but Crash: RECORDED_AT_ROUND_END) the house's postings equal the
profit of the settled bets in `bets` plus the stakes of the bets still open in
`ledger_entries` (the money and the public bet records tell the same story).
"""

from dataclasses import dataclass

import asyncpg

RECORDED_AT_ROUND_END = frozenset({"crash"})
"""Games whose bet record is written when the round ends, after a cashout's money moved:
on a live server their postings run ahead of their records, so they are not checked."""

_TRIAL_BALANCE = """
SELECT currency, sum(amount)::bigint AS total FROM postings GROUP BY currency ORDER BY currency
"""
_HOUSE = """
WITH held AS (  -- the house's side of every entry of a game, and the stakes still open
    SELECT l.game, l.currency, sum(p.amount)::bigint AS held,
           sum(CASE WHEN l.type = 'bet' AND l.status = 'open' THEN -l.amount ELSE 0 END)::bigint
               AS open_stakes
    FROM postings p JOIN ledger_entries l USING (user_id, entry_id)
    WHERE p.account = 'house' AND l.game IS NOT NULL
    GROUP BY l.game, l.currency
), settled AS (
    SELECT game, currency, count(*) AS bets, sum(amount)::bigint AS wagered,
           sum(payout)::bigint AS paid
    FROM bets GROUP BY game, currency
)
SELECT coalesce(h.game, s.game) AS game, coalesce(h.currency, s.currency) AS currency,
       coalesce(s.bets, 0) AS bets, coalesce(s.wagered, 0) AS wagered,
       coalesce(s.paid, 0) AS paid, coalesce(h.held, 0) AS held,
       coalesce(h.open_stakes, 0) AS open_stakes
FROM held h FULL JOIN settled s ON h.game = s.game AND h.currency = s.currency
ORDER BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class HouseResult:
    """The house's result in one game and currency, in minor units."""

    game: str
    currency: str
    bets: int
    """Settled bets with a public record (a refunded Crash bet has none)."""
    wagered: int
    paid: int
    held: int
    """Sum of the house's postings: the profit plus the stakes of open bets."""
    open_stakes: int

    @property
    def profit(self) -> int:
        return self.wagered - self.paid

    @property
    def edge(self) -> float | None:
        """Realised edge: profit per unit wagered."""
        return self.profit / self.wagered if self.wagered else None

    def problem(self) -> str | None:
        """Why the postings and the bet records disagree, if they do."""
        gap = self.held - self.open_stakes - self.profit
        if gap == 0 or self.game in RECORDED_AT_ROUND_END:
            return None
        return (
            f"{self.game} {self.currency}: the house's postings differ from its settled bets"
            f" and open stakes by {gap:,}"
        )


@dataclass(frozen=True, slots=True)
class Books:
    """What PostgreSQL's books say, read in one snapshot."""

    trial_balance: dict[str, int]
    """Sum of every posting per currency: zero when the books balance."""
    house: list[HouseResult]

    def problems(self) -> list[str]:
        """Every way the books fail to balance."""
        found = [
            f"trial balance of {currency} is {total:,}, not 0"
            for currency, total in self.trial_balance.items()
            if total
        ]
        return found + [p for result in self.house if (p := result.problem()) is not None]


async def read_books(pool: asyncpg.Pool) -> Books:
    """The trial balance and the house's result per game and currency, in one snapshot."""
    async with (
        pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        balance = await connection.fetch(_TRIAL_BALANCE)
        house = await connection.fetch(_HOUSE)
    return Books(
        trial_balance={row["currency"]: row["total"] for row in balance},
        house=[HouseResult(**dict(row)) for row in house],
    )
