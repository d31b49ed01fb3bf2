"""Which local socket is signed in with which session; a socket ends with its session.

A socket is closed with CLOSE_SESSION_ENDED when its session is revoked (a
logout on any instance reaches the hub as a message on the user's channel),
when the session expires (a timer set at sign-in), or when the hub finds it
gone after its pub/sub connection was restored (a revocation may have been
missed meanwhile).
"""

import asyncio
import math
import time

from server.auth import SessionRef
from server.realtime.connection import Connection

CLOSE_SESSION_ENDED = 4001
"""Close code of a socket whose session was revoked or expired: sign in again."""


class SocketSessions:
    """Session id -> the local sockets signed in with it, each with its expiry timer."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[Connection]] = {}
        self._session_of: dict[Connection, tuple[str, asyncio.TimerHandle | None]] = {}

    @property
    def ids(self) -> list[str]:
        """The sessions that have a socket here."""
        return list(self._sockets)

    def add(self, connection: Connection, session: SessionRef) -> None:
        """Tie a signed-in socket to its session (instead of any it had before)."""
        self.remove(connection)
        timer = None
        if math.isfinite(session.expires_at):
            delay = max(0.0, session.expires_at - time.time())
            timer = asyncio.get_running_loop().call_later(
                delay, self._close, connection, "session expired"
            )
        self._sockets.setdefault(session.id, set()).add(connection)
        self._session_of[connection] = (session.id, timer)

    def remove(self, connection: Connection) -> None:
        """Forget a socket (it closed, or signed in again)."""
        entry = self._session_of.pop(connection, None)
        if entry is None:
            return
        sid, timer = entry
        if timer is not None:
            timer.cancel()
        sockets = self._sockets[sid]
        sockets.discard(connection)
        if not sockets:
            del self._sockets[sid]

    def end(self, sid: str, reason: str) -> None:
        """Close every local socket signed in with session `sid`."""
        for connection in list(self._sockets.get(sid, ())):
            self._close(connection, reason)

    def _close(self, connection: Connection, reason: str) -> None:
        self.remove(connection)
        connection.close(CLOSE_SESSION_ENDED, reason)
