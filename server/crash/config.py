"""Crash settings, read from `CROUPIER_CRASH_*` environment variables."""

from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.config import PositiveAmount

DEFAULT_SALT = "0000000000000000004d6ec16dafe9d8370958664c1dc422f452892264c59526"
"""Public salt of the crash points (bustabit's): a deployment should pick its own, e.g. the
hash of a Bitcoin block mined after its terminating hash was published."""


class CrashSettings(BaseSettings):
    """Timings, chain and house limits of the Crash round loop."""

    model_config = SettingsConfigDict(env_prefix="CROUPIER_CRASH_", extra="ignore")

    enabled: bool = True
    """Run the round loop on this instance (it still answers Crash ops and routes when off)."""
    betting_ms: Annotated[int, Field(ge=100)] = 5000
    tick_ms: Annotated[int, Field(ge=10, le=1000)] = 100
    crashed_ms: Annotated[int, Field(ge=0)] = 3000
    lease_ms: Annotated[int, Field(ge=300)] = 3000
    """Leader lease expiry: a dead leader is replaced within about 4/3 of it."""

    chain_length: Annotated[int, Field(ge=1)] = 1_000_000
    checkpoint_interval: Annotated[int, Field(ge=1)] = 1000
    seed: SecretStr | None = None
    """Secret seed of the hash chain made at first start; random when unset."""
    salt: str = DEFAULT_SALT

    max_payout_per_round: dict[str, PositiveAmount] = {
        "PLAY": 100_000_000_000,
        "BTC": 100_000_000_000,
    }
    """Currency -> total payout of a round at which every open bet is cashed out."""
