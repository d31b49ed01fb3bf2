"""Loads the Crash Lua scripts (loaded again if Redis lost them)."""

from dataclasses import dataclass, fields
from pathlib import Path

from server.redis_functions import LuaSource
from server.redis_scripts import Script, ScriptRunner
from server.wallet.scripts import NUMBERS

_HERE = Path(__file__).parent
_PRELUDE = "_round.lua"


def script_source(name: str) -> LuaSource:
    """A script's source; round and bet scripts get the shared helpers first."""
    body = (_HERE / f"{name}.lua").read_text()
    if name.startswith("lease_"):
        return LuaSource(body)
    return LuaSource(body, "\n".join(part.read_text() for part in (NUMBERS, _HERE / _PRELUDE)))


@dataclass(frozen=True, slots=True)
class CrashScripts:
    """The Crash scripts, bound to one script runner (attribute = file name)."""

    lease_acquire: Script
    lease_renew: Script
    lease_release: Script
    round_new: Script
    round_adopt: Script
    round_start: Script
    round_tick: Script
    round_void: Script
    round_finish: Script
    bet_reserve: Script
    bet_confirm: Script
    bet_release: Script
    bet_cashout: Script

    @classmethod
    def register(cls, runner: ScriptRunner) -> "CrashScripts":
        scripts = {field.name: runner.script(script_source(field.name)) for field in fields(cls)}
        return cls(**scripts)
