"""What the server writes to its log: no credentials, and no storm of repeated failures.

During a Redis (or PostgreSQL) outage every request and every background loop fails the same
way, many times a second. `LogThrottle` writes one line per failure kind per
interval (a kind is a place and an exception type) and then one line with the
number it held back; a bug keeps its traceback, an outage (a Redis or network
error) is one line.
"""

import asyncio
import logging
import re
from dataclasses import dataclass

from asyncpg.exceptions import CannotConnectNowError, PostgresConnectionError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

REPEAT_INTERVAL_S = 10.0
OUTAGE_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    PostgresConnectionError,
    CannotConnectNowError,
    OSError,
    TimeoutError,
)
"""Errors that say Redis, PostgreSQL or the network is unreachable, not that the code is wrong."""

_URL_PASSWORD = re.compile(r"(://[^/@\s:]*):[^/@\s]*@")
_PASSWORD_PARAMETER = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the password of any URL in it (`redis://user:secret@host`) masked."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))


@dataclass(slots=True)
class _Kind:
    held: int = 0
    """Failures of this kind not logged since its last line."""
    flush: asyncio.TimerHandle | None = None
    """When the held ones are counted; None: the next failure is logged at once."""


class LogThrottle:
    """At most one line per failure kind per interval on `logger`, with counts.

    Call it from the event loop: a timer writes the count of held-back failures.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = REPEAT_INTERVAL_S) -> None:
        self._log = logger
        self._interval_s = interval_s
        self._kinds: dict[str, _Kind] = {}

    def failure(self, what: str, error: BaseException) -> None:
        """Report that `what` failed with `error` (`what` names a place, not a user)."""
        kind_name = f"{what}: {type(error).__name__}"
        kind = self._kinds.setdefault(kind_name, _Kind())
        if kind.flush is not None:
            kind.held += 1
            return
        if isinstance(error, OUTAGE_ERRORS):
            self._log.warning("%s failed: %s", what, redact(str(error)) or type(error).__name__)
        else:
            self._log.error("%s failed", what, exc_info=error)
        kind.flush = asyncio.get_running_loop().call_later(self._interval_s, self._flush, kind_name)

    def _flush(self, kind_name: str) -> None:
        kind = self._kinds[kind_name]
        if kind.held == 0:  # a quiet interval: the next failure is news again
            del self._kinds[kind_name]
            return
        self._log.warning("%s: %d more in the last %.0f s", kind_name, kind.held, self._interval_s)
        kind.held = 0
        kind.flush = asyncio.get_running_loop().call_later(self._interval_s, self._flush, kind_name)
