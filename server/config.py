"""Configuration from the environment (pydantic-settings).

`REDIS_URL`, `HOST` and `PORT` keep their conventional names; everything else
is read from `CROUPIER_*` variables. Structured settings (currencies, limits)
are JSON.
"""

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.redis_cluster import cluster_url, is_cluster_url, seed_urls

MAX_AMOUNT = 2**53 - 1
"""Largest amount or balance in minor units: Lua numbers are doubles."""

PositiveAmount = Annotated[int, Field(ge=1, le=MAX_AMOUNT)]


class BetLimits(BaseModel):
    """Per-currency bet limits, in minor units."""

    min_bet: PositiveAmount = 1
    max_bet: PositiveAmount = MAX_AMOUNT
    max_payout: PositiveAmount = MAX_AMOUNT


class Settings(BaseSettings):
    """Every knob of a Croupier process. See README.md, "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="CROUPIER_", extra="ignore")

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CROUPIER_REDIS_URL")
    )
    redis_cluster_nodes: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_CLUSTER_NODES", "CROUPIER_REDIS_CLUSTER_NODES"),
    )
    """`host:port,host:port` of Redis Cluster nodes: the same as REDIS_URL
    `redis+cluster://host:port,host:port`."""
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOST", "CROUPIER_HOST"))
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "CROUPIER_PORT"))
    workers: Annotated[int, Field(ge=0, le=256)] = 0
    """Server processes on the port; 0: one per core (`croupier --workers N` overrides)."""
    redis_pool_size: Annotated[int, Field(ge=2, le=10_000)] = 64
    redis_replica_acks: Annotated[int, Field(ge=0, le=100)] = 0
    """Replicas that must have a script's writes (WAIT) before its reply goes out; 0: none."""
    redis_replica_ack_timeout_ms: Annotated[int, Field(ge=1, le=60_000)] = 500
    """How long a script waits for them; past it, its outcome is unknown (the caller retries)."""
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CROUPIER_DATABASE_URL")
    )
    database_pool_size: Annotated[int, Field(ge=2, le=1_000)] = 10
    archive_interval_s: Annotated[float, Field(gt=0)] = 0.25
    """How often an instance archives what its own scripts journaled. Larger batches cost
    PostgreSQL less per row; the lag grows with the interval."""
    archive_full_pass_s: Annotated[float, Field(gt=0)] = 15.0
    """How often one instance looks at every journal (records of stopped instances)."""
    sweep_full_pass_s: Annotated[float, Field(gt=0)] = 15.0
    """How often one instance looks at every slot's games-due index (games whose
    instance stopped); each instance looks at those it wrote to every 2 s."""
    history_window: Annotated[int, Field(ge=1)] = 50
    """Ledger entries and bet records per user kept in Redis once archived; older pages of
    history are read from PostgreSQL."""
    journal_max: Annotated[int, Field(ge=1)] = 1_000_000
    """Journal records waiting for PostgreSQL at which new stakes are refused (UNAVAILABLE)."""
    archive_claim_idle_s: Annotated[float, Field(gt=0)] = 30.0
    """A journal record read but not archived this long is taken over by the full pass."""

    # Money
    currencies: dict[str, Annotated[int, Field(ge=0, le=18)]] = {"PLAY": 2, "BTC": 8}
    """Currency code -> number of decimals of its minor unit."""
    starting_balance: dict[str, Annotated[int, Field(ge=0, le=MAX_AMOUNT)]] = {"PLAY": 100_000}
    faucet_currency: str = "PLAY"
    faucet_amount: PositiveAmount = 100_000
    faucet_interval_s: Annotated[int, Field(ge=1)] = 60
    limits: dict[str, BetLimits] = {
        "PLAY": BetLimits(min_bet=1, max_bet=100_000_000, max_payout=10_000_000_000),
        "BTC": BetLimits(min_bet=100, max_bet=100_000_000, max_payout=10_000_000_000),
    }
    idempotency_ttl_s: Annotated[int, Field(ge=86_400)] = 86_400
    limbo_max_target: Annotated[Decimal, Field(ge=2, le=1_000_000_000)] = Decimal(1_000_000)
    quiz_time_limit_ms: Annotated[int, Field(ge=1_000, le=600_000)] = 15_000
    clock_offset_s: Annotated[float, Field(ge=-10 * 365 * 86_400, le=10 * 365 * 86_400)] = 0.0
    """Testing aid: seconds added to the clock that decides limit periods and when a
    raised limit applies (money stamps keep Redis's time)."""

    # Accounts
    admin_token: str | None = None
    admin_users: list[Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]] = []
    """Ids of registered accounts that hold the admin role: their sessions may use the
    back office. Ids, not usernames: nobody can register their way into the role."""
    session_ttl_s: Annotated[int, Field(ge=60)] = 7 * 86_400
    cookie_secure: bool = False
    login_attempts_per_minute: Annotated[int, Field(ge=1)] = 20
    login_failures_per_account: Annotated[int, Field(ge=1)] = 10
    """Login attempts on one username without a success before it is throttled..."""
    login_failure_window_s: Annotated[int, Field(ge=1)] = 900
    """...for this long after the first of them."""
    trusted_proxies: list[str] = []
    """Addresses or networks of reverse proxies whose X-Forwarded-For is believed."""

    # WebSocket
    allowed_origins: list[str] = []
    """Origins allowed to open /ws; empty means same host only, ["*"] allows any."""
    max_frame_bytes: Annotated[int, Field(ge=256)] = 16 * 1024
    rate_limit_per_s: Annotated[float, Field(gt=0)] = 100.0
    rate_limit_burst: Annotated[int, Field(ge=1)] = 200
    send_queue_size: Annotated[int, Field(ge=8)] = 512
    ping_interval_s: Annotated[float, Field(gt=0)] = 20.0
    gc_tuning: bool = True
    """Freeze the objects start-up made and raise the young collection threshold
    (server/collector.py); off: CPython's defaults."""

    # Resource limits (each instance enforces its own)
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    """Largest HTTP request body; a larger one is refused with 413 before it is read."""
    request_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    """Time a request (headers and body) or a WebSocket handshake has to arrive whole."""
    max_sockets_per_address: Annotated[int, Field(ge=1)] = 50
    """WebSockets open at once from one client address; the next is closed with 1008."""
    unauthenticated_idle_s: Annotated[float, Field(gt=0)] = 300.0
    """A WebSocket not signed in this long after it opened is closed with 4408."""

    # Embedded Redis and logs
    data_dir: Path = Path("data")
    appendfsync: Literal["always", "everysec"] = "always"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _cluster_url(self) -> "Settings":
        if self.redis_cluster_nodes is not None:
            if self.redis_url is not None:
                raise ValueError("set REDIS_URL or REDIS_CLUSTER_NODES, not both")
            self.redis_url = cluster_url(self.redis_cluster_nodes)
        if self.redis_url is not None and is_cluster_url(self.redis_url):
            seed_urls(self.redis_url)  # raises on a URL without nodes
        return self

    @model_validator(mode="after")
    def _check_currencies(self) -> "Settings":
        names = set(self.currencies)
        for field in ("starting_balance", "limits"):
            unknown = set(getattr(self, field)) - names
            if unknown:
                raise ValueError(f"{field} names unknown currencies: {sorted(unknown)}")
        if self.faucet_currency not in names:
            raise ValueError(f"faucet_currency {self.faucet_currency!r} is not a currency")
        return self

    @cached_property
    def bet_limits(self) -> dict[str, BetLimits]:
        """Limits for every currency, defaults where none are configured."""
        return {code: self.limits.get(code, BetLimits()) for code in self.currencies}
