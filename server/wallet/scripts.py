"""Loads the wallet's Lua scripts, each registered once (EVALSHA, NOSCRIPT fallback)."""

from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_HERE = Path(__file__).parent
_PRELUDE = "_ledger.lua"


def script_source(name: str, with_prelude: bool = True) -> str:
    """The full source of a script: the shared ledger helpers, then its body."""
    body = (_HERE / f"{name}.lua").read_text()
    if not with_prelude:
        return body
    return (_HERE / _PRELUDE).read_text() + "\n" + body


@dataclass(frozen=True, slots=True)
class WalletScripts:
    """The wallet's scripts, registered on one Redis client."""

    debit: AsyncScript
    credit: AsyncScript
    settle: AsyncScript
    rollback: AsyncScript
    unlock: AsyncScript

    @classmethod
    def register(cls, redis: "Redis") -> "WalletScripts":
        return cls(
            debit=redis.register_script(script_source("debit")),
            credit=redis.register_script(script_source("credit")),
            settle=redis.register_script(script_source("settle")),
            rollback=redis.register_script(script_source("rollback")),
            unlock=redis.register_script(script_source("unlock", with_prelude=False)),
        )
