"""The long-lived parts of a process, created and closed by the app's lifespan."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.asyncio import Redis

from games.instant import build_instant_games
from games.quiz import QuizConfig, load_bank
from server.auth import Accounts
from server.bets.service import BetService
from server.config import Settings
from server.db.archiver import Archiver, consumer_name
from server.limits.context import LimitContexts
from server.limits.periods import Clock
from server.limits.service import PlayerLimits
from server.metrics import Metrics
from server.realtime.connection import Connection
from server.realtime.hub import Hub
from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.redis_scripts import ReplicaAcks, ScriptRunner
from server.stepped.rules import HiloRules, MinesRules, QuizRules
from server.stepped.service import SteppedGames
from server.wallet import Wallet, WalletScripts
from server.wallet.journal import Journal


@dataclass
class Services:
    """Everything a request handler may use."""

    settings: Settings
    redis: Redis
    runner: ScriptRunner
    journal: Journal
    database: asyncpg.Pool
    archiver: Archiver
    wallet: Wallet
    accounts: Accounts
    hub: Hub
    metrics: Metrics
    bets: BetService
    stepped: SteppedGames
    limits: PlayerLimits
    validation_context: dict[str, Any] = field(default_factory=dict)
    greeters: list[Callable[[Connection], Awaitable[None]]] = field(default_factory=list)
    """Called for every new socket after it is accepted (e.g. to send a game's state)."""

    @classmethod
    def build(cls, settings: Settings, redis_url: str, database: asyncpg.Pool) -> "Services":
        """Wire the parts together on the Redis at `redis_url` (a pooled client for
        plain commands, a script runner for the Lua scripts and the hub's pub/sub
        connection) and the PostgreSQL pool `database`."""
        redis = connect(redis_url, settings.redis_pool_size)
        acks = settings.redis_replica_acks
        runner = script_runner(
            redis_url,
            ReplicaAcks(acks, settings.redis_replica_ack_timeout_ms) if acks else None,
        )
        scripts = WalletScripts.register(runner)
        journal = Journal(redis, settings.journal_max)
        limits = LimitContexts(Clock(settings.clock_offset_s))
        wallet = Wallet(
            redis,
            scripts,
            settings.idempotency_ttl_s,
            settings.currencies,
            journal=journal,
            database=database,
            limits=limits,
        )
        metrics = Metrics()
        games = build_instant_games(settings.limbo_max_target)
        bets = BetService(redis, runner, settings, games, journal, limits=limits, database=database)
        quiz = QuizRules(load_bank(), QuizConfig(time_limit_ms=settings.quiz_time_limit_ms))
        stepped_rules = (MinesRules(), HiloRules(), quiz)
        return cls(
            settings=settings,
            redis=redis,
            runner=runner,
            journal=journal,
            database=database,
            archiver=Archiver(
                redis,
                runner,
                database,
                consumer=consumer_name(),
                journal=journal,
                settings=settings,
                metrics=metrics,
            ),
            wallet=wallet,
            accounts=Accounts(redis, wallet, settings, runner, journal),
            hub=Hub(redis, redis_url, wallet, metrics),
            metrics=metrics,
            bets=bets,
            limits=PlayerLimits(
                redis,
                runner,
                limits,
                database=database,
                journal=journal,
                currencies=list(settings.currencies),
            ),
            stepped=SteppedGames(
                redis,
                runner,
                settings,
                bets.seeds,
                {rules.name: rules for rules in stepped_rules},
                live=bets.live,
                journal=journal,
                limits=limits,
            ),
            validation_context={"currencies": settings.currencies},
            greeters=[bets.live.greet],
        )

    async def aclose(self) -> None:
        """Close the Redis connections (the database pool is its owner's to close)."""
        await self.hub.close()
        await self.runner.aclose()
        await self.redis.aclose()
