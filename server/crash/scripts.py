"""Loads the Crash Lua scripts, each registered once (EVALSHA, NOSCRIPT fallback)."""

from dataclasses import dataclass, fields
from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from server.wallet.scripts import NUMBERS

_HERE = Path(__file__).parent
_PRELUDE = "_round.lua"


def script_source(name: str) -> str:
    """A script's source; round and bet scripts get the shared helpers first."""
    body = (_HERE / f"{name}.lua").read_text()
    if name.startswith("lease_"):
        return body
    return "\n".join(part.read_text() for part in (NUMBERS, _HERE / _PRELUDE)) + "\n" + body


@dataclass(frozen=True, slots=True)
class CrashScripts:
    """The Crash scripts, registered on one Redis client (attribute = file name)."""

    lease_acquire: AsyncScript
    lease_renew: AsyncScript
    lease_release: AsyncScript
    round_new: AsyncScript
    round_adopt: AsyncScript
    round_start: AsyncScript
    round_tick: AsyncScript
    round_void: AsyncScript
    round_finish: AsyncScript
    bet_reserve: AsyncScript
    bet_confirm: AsyncScript
    bet_release: AsyncScript
    bet_cashout: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> "CrashScripts":
        scripts = {
            field.name: redis.register_script(script_source(field.name)) for field in fields(cls)
        }
        return cls(**scripts)
