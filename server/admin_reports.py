"""The back office's reports, read from PostgreSQL's `bets`: house profit per game,
currency and period with the realised edge beside the theoretical one, the top
winners, and the betting of the last minute.

A bet counts once it is settled and archived (the archiver follows the journal
within about a second), at the time it settled. Periods are UTC hours or days.
"""

import time
from typing import Any, Literal

import asyncpg

from server.audit import theoretical_edge

BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000}
Bucket = Literal["hour", "day"]

_PROFIT = """
SELECT game, currency, settled_at / $1 * $1 AS start, count(*) AS bets,
       sum(amount)::bigint AS wagered, sum(payout)::bigint AS paid
FROM bets WHERE settled_at >= $2
GROUP BY game, currency, start ORDER BY start, game, currency
"""
_WINNERS = """
SELECT b.user_id, coalesce(u.name, b.user_id) AS name, b.currency, count(*) AS bets,
       sum(b.amount)::bigint AS wagered, sum(b.payout - b.amount)::bigint AS net
FROM bets b LEFT JOIN users u ON u.id = b.user_id
WHERE b.settled_at >= $1
GROUP BY b.user_id, u.name, b.currency
HAVING sum(b.payout - b.amount) > 0
ORDER BY net DESC, b.user_id COLLATE "C" LIMIT $2
"""
_LAST_MINUTE = """
SELECT count(*) AS bets, count(DISTINCT user_id) AS players FROM bets WHERE settled_at >= $1
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _edge(profit: int, wagered: int) -> float | None:
    return profit / wagered if wagered else None


async def house_profit(database: asyncpg.Pool, bucket: Bucket, periods: int) -> dict[str, Any]:
    """The house's profit per game, currency and period over the last `periods` periods,
    each with its realised edge, and every game's theoretical edge."""
    size = BUCKET_MS[bucket]
    since = (_now_ms() // size - periods + 1) * size
    rows = await database.fetch(_PROFIT, size, since)
    series = [
        {
            "game": row["game"],
            "currency": row["currency"],
            "start": row["start"],
            "bets": row["bets"],
            "wagered": row["wagered"],
            "paid": row["paid"],
            "profit": row["wagered"] - row["paid"],
            "edge": _edge(row["wagered"] - row["paid"], row["wagered"]),
        }
        for row in rows
    ]
    games = sorted({item["game"] for item in series})
    theoretical = {game: _as_float(theoretical_edge(game)) for game in games}
    return {
        "bucket": bucket,
        "since": since,
        "bucket_ms": size,
        "series": series,
        "theoretical_edge": theoretical,
    }


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


async def top_winners(database: asyncpg.Pool, hours: int, limit: int) -> list[dict[str, Any]]:
    """The players with the largest net profit per currency over the last `hours` hours."""
    rows = await database.fetch(_WINNERS, _now_ms() - hours * 3_600_000, limit)
    return [dict(row) for row in rows]


async def last_minute(database: asyncpg.Pool) -> dict[str, Any]:
    """Bets settled in the last minute, their rate per second, and the players who made them."""
    row = await database.fetchrow(_LAST_MINUTE, _now_ms() - 60_000)
    assert row is not None
    return {"bets": row["bets"], "players": row["players"], "bets_per_s": row["bets"] / 60}
