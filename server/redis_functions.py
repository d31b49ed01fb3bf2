"""Lua scripts as Redis function libraries (Redis 7 and newer).

The money scripts share helpers (server/wallet/_ledger.lua and others): local
functions written before each script's body. Called with EVALSHA, a script
defines all of them again on every call, about 5 us of Redis time, a tenth of
a bet's. Loaded as a function library, the helpers are defined once, when the
library loads, and each FCALL runs only the body.

Each script is a library of its own with one function, both named after the
SHA-1 of the script's EVAL text (`croupier_<sha1>`): instances of different
versions never replace each other's code, and a name always means one code.

Redis keeps function libraries in its RDB and AOF files, across restarts, so
they must not pile up release after release. Before loading a library an
instance stamps it as in use (hash `croupier:functions`, library -> ms), and
its first load on a connection deletes there the libraries of this prefix that
nobody stamped for RETIRE_AFTER_MS. An instance whose library was deleted
meanwhile gets "Function not found" for a call that did not run; it loads the
library again and stamps it: only memory depends on this clean-up.

Helpers keep per-call state in locals of the library (the journal records of
_ledger.lua); a library keeps them from one call to the next, so such state is
reset where each script starts using it (journal_to).
"""

import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

FUNCTIONS_SINCE = 7
"""The first Redis major version with function libraries."""
LIBRARY_PREFIX = "croupier_"
STAMPS_KEY = "croupier:functions"
"""Hash: library name -> when an instance last loaded it (Unix ms)."""
RETIRE_AFTER_MS = 7 * 24 * 3600 * 1000

Send = Callable[[tuple[str | int, ...]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class LuaSource:
    """A script's Lua: its `body`, and `helpers` (constants and local functions it
    shares with other scripts) that run before it."""

    body: str
    helpers: str = ""

    @property
    def text(self) -> str:
        """The whole script as EVAL runs it."""
        return f"{self.helpers}\n{self.body}" if self.helpers else self.body


def has_functions(version: str) -> bool:
    """Whether a Redis of this version ("7.0.15") runs function libraries."""
    return int(version.partition(".")[0]) >= FUNCTIONS_SINCE


def reply_dict(flat: list[Any]) -> dict[Any, Any]:
    """A RESP2 map reply (key, value, key, value...) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def library_name(sha: str) -> str:
    """The name of the library (and of its function) of the script with this SHA-1."""
    return LIBRARY_PREFIX + sha


def function_library(name: str, source: LuaSource) -> str:
    """The code of a library `name`: the helpers at its top, defined once per load,
    and the body as its one function `name`, called with KEYS and ARGV as EVAL
    gives them."""
    return (
        f"#!lua name={name}\n{source.helpers}\n"
        f"redis.register_function('{name}', function(KEYS, ARGV)\n{source.body}\nend)\n"
    )


def is_missing(error: ResponseError) -> bool:
    """Whether Redis refused a call because it lacks the script (it did not run)."""
    message = str(error)
    return message.startswith("NOSCRIPT") or message == "ERR Function not found"


def loaded_elsewhere(error: ResponseError) -> bool:
    """Whether a FUNCTION LOAD failed because another instance loaded the library first."""
    return "already exists" in str(error)


async def stamp_library(call: Send, name: str) -> None:
    """Mark library `name` as in use now."""
    await call(("HSET", STAMPS_KEY, name, int(time.time() * 1000)))


async def retire_stale_libraries(send: Send, call: Send) -> list[str]:
    """Delete, on the server `send` talks to, the libraries of this prefix nobody
    stamped for RETIRE_AFTER_MS, and forget stale stamps (`call` reaches the
    stamps). Returns the names deleted."""
    listed = await send(("FUNCTION", "LIST", "LIBRARYNAME", f"{LIBRARY_PREFIX}*"))
    names = [str(reply_dict(library)["library_name"]) for library in listed]
    stamps: dict[str, str] = reply_dict(await call(("HGETALL", STAMPS_KEY)))
    cutoff = int(time.time() * 1000) - RETIRE_AFTER_MS
    stale = [name for name, ms in stamps.items() if int(ms) < cutoff]
    retired = [name for name in names if int(stamps.get(name, 0)) < cutoff]
    for name in retired:
        with suppress(ResponseError):  # another instance deleted it first
            await send(("FUNCTION", "DELETE", name))
    if stale:
        await call(("HDEL", STAMPS_KEY, *stale))
    return retired
