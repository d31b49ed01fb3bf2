"""Loads the wallet's Lua scripts (loaded again if Redis lost them)."""

from dataclasses import dataclass
from pathlib import Path

from server.redis_functions import LuaSource
from server.redis_scripts import Script, ScriptRunner

_HERE = Path(__file__).parent
NUMBERS = _HERE / "_numbers.lua"
"""Generic Lua helpers (integer parsing and formatting, JSON strings, time)."""
_LEDGER = _HERE / "_ledger.lua"
_LIMITS = _HERE.parent / "limits" / "_limits.lua"


def script_source(path: Path, with_prelude: bool = True, *helpers: Path) -> LuaSource:
    """A script file with its helpers: the shared number, limits and ledger helpers,
    then any other `helpers` files.

    Scripts of other packages that move money (bets, games) load through this
    too, so every balance change uses the same ledger code.
    """
    parts = [NUMBERS, _LIMITS, _LEDGER, *helpers] if with_prelude else []
    return LuaSource(path.read_text(), "\n".join(part.read_text() for part in parts))


@dataclass(frozen=True, slots=True)
class WalletScripts:
    """The wallet's scripts, bound to one script runner."""

    debit: Script
    credit: Script
    settle: Script
    rollback: Script

    @classmethod
    def register(cls, runner: ScriptRunner) -> "WalletScripts":
        return cls(
            debit=runner.script(script_source(_HERE / "debit.lua")),
            credit=runner.script(script_source(_HERE / "credit.lua")),
            settle=runner.script(script_source(_HERE / "settle.lua")),
            rollback=runner.script(script_source(_HERE / "rollback.lua")),
        )
