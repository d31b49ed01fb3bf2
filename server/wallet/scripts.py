"""Loads the wallet's Lua scripts, each registered once (EVALSHA, NOSCRIPT fallback)."""

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_HERE = Path(__file__).parent
NUMBERS = _HERE / "_numbers.lua"
"""Generic Lua helpers (integer parsing and formatting, JSON strings, time)."""
_LEDGER = _HERE / "_ledger.lua"


def script_source(path: Path, with_prelude: bool = True, *helpers: Path) -> str:
    """The full source of a script file: the shared ledger helpers, then any
    other `helpers` files, then its body.

    Scripts of other packages that move money (bets, games) load through this
    too, so every balance change uses the same ledger code.
    """
    parts = [NUMBERS, _LEDGER, *helpers] if with_prelude else []
    return "\n".join(part.read_text() for part in [*parts, path])


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
            debit=redis.register_script(script_source(_HERE / "debit.lua")),
            credit=redis.register_script(script_source(_HERE / "credit.lua")),
            settle=redis.register_script(script_source(_HERE / "settle.lua")),
            rollback=redis.register_script(script_source(_HERE / "rollback.lua")),
            unlock=redis.register_script(script_source(_HERE / "unlock.lua", with_prelude=False)),
        )

    def wrapped(self, wrap: Callable[[AsyncScript], Any]) -> "WalletScripts":
        """The same scripts, each wrapped by `wrap` (e.g. to call them through a pipeline)."""
        return WalletScripts(
            **{field.name: wrap(getattr(self, field.name)) for field in fields(self)}
        )
