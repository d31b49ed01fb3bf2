"""Versioned plain-SQL migrations, applied at start.

Each file `migrations/NNNN_name.sql` runs once, in order, in one transaction
with its row in `schema_migrations`. The whole run holds a transaction-level
advisory lock, so instances starting together apply each migration once: the
second waits for the first and then finds nothing left to do.
"""

from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = 0x43524F55  # "CROU": the advisory lock of the migration run

Connection = asyncpg.Connection | PoolConnectionProxy
"""A connection of its own or one lent by a pool."""


def migration_files() -> list[Path]:
    """The migration files in the order they apply."""
    return sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))


async def migrate(connection: Connection) -> list[str]:
    """Apply the migrations not applied yet; returns the versions applied now."""
    applied_now: list[str] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            row["version"]
            for row in await connection.fetch("SELECT version FROM schema_migrations")
        }
        for path in migration_files():
            version = path.stem
            if version in done:
                continue
            await connection.execute(path.read_text())
            await connection.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied_now.append(version)
    return applied_now
