"""The back office's action log in PostgreSQL (`admin_actions`, migration 0004)."""

import json
import time
from typing import Any

import asyncpg

_RECORD = """
INSERT INTO admin_actions (created_at, actor, action, target_user, details, reason, key)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
ON CONFLICT (target_user, key) WHERE key IS NOT NULL DO NOTHING
"""
_RECENT = """
SELECT id, created_at, actor, action, target_user, details::text AS details, reason
FROM admin_actions WHERE id < $1 ORDER BY id DESC LIMIT $2
"""


async def record_action(
    database: asyncpg.Pool,
    *,
    actor: str,
    action: str,
    target_user: str | None,
    details: dict[str, Any],
    reason: str,
    key: str | None = None,
) -> None:
    """Log one admin action; a second one with the same target user and `key` is ignored."""
    await database.execute(
        _RECORD,
        int(time.time() * 1000),
        actor,
        action,
        target_user,
        json.dumps(details),
        reason,
        key,
    )


async def recent_actions(
    database: asyncpg.Pool, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """The logged actions newest first, with ids below `before` if given."""
    rows = await database.fetch(_RECENT, before if before is not None else 2**63 - 1, limit)
    return [{**dict(row), "details": json.loads(row["details"])} for row in rows]
