"""The PostgreSQL of a process: the one at DATABASE_URL, else a private embedded one."""

from dataclasses import dataclass

import asyncpg

from server.config import Settings
from server.db.migrate import migrate
from server.embedded_postgres import EmbeddedPostgres


@dataclass
class Database:
    """A connection pool on a migrated database, and the embedded server if one was started."""

    pool: asyncpg.Pool
    url: str
    embedded: EmbeddedPostgres | None

    @classmethod
    async def open(cls, settings: Settings) -> "Database":
        """Start the embedded PostgreSQL if no URL is set, connect, apply the migrations."""
        embedded = None
        url = settings.database_url
        if url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            url = await embedded.start()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=settings.database_pool_size)
        async with pool.acquire() as connection:
            await migrate(connection)
        return cls(pool, url, embedded)

    async def close(self) -> None:
        """Close the pool, then stop the embedded server if this process started it."""
        await self.pool.close()
        if self.embedded is not None:
            await self.embedded.stop()
