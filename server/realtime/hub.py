"""Fan-out of Redis pub/sub messages to the sockets of this process.

One pub/sub connection per process (server/realtime/subscriber.py). A user's
channel is subscribed while the user has at least one socket here and
unsubscribed when the last one leaves; the public channel is always
subscribed. Messages are forwarded as the exact text that was published:
nothing is decoded or re-encoded on the way.

Pub/sub is at-most-once: after the listener reconnects it pushes a fresh
balance snapshot to every local socket, and each event's version lets tabs
drop what they have already seen.

A revocation (a logout, see server/auth.py) travels on the user's channel too:
the hub closes the sockets of that session instead of forwarding it, and after
a reconnect it closes the sockets whose session is gone.
"""

import asyncio
import json
import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from server.auth import REVOCATION_PREFIX, SessionRef, revoked_session, session_key
from server.logs import LogThrottle
from server.metrics import Metrics
from server.realtime.connection import Connection
from server.realtime.sessions import SocketSessions
from server.realtime.subscriber import CONFIRM_TIMEOUT_S, open_subscriber
from server.realtime.wire import encode_text
from server.wallet import Balances, UserKeys, Wallet

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

PUBLIC_CHANNEL = "croupier:public"
_MAX_BACKOFF_S = 5.0


def balance_frames(balances: Balances, reason_type: str = "snapshot") -> list[str]:
    """One `balance` event per currency for a snapshot of a user's wallet."""
    return [
        json.dumps(
            {
                "event": "balance",
                "data": {
                    "currency": currency,
                    "balance": amount,
                    "version": balances.version,
                    "reason": {"type": reason_type, "game": None, "ref": None},
                },
            },
            separators=(",", ":"),
        )
        for currency, amount in sorted(balances.balances.items())
    ]


class Hub:
    """Routes per-user and public messages to the local connections."""

    def __init__(self, redis: Redis, redis_url: str, wallet: Wallet, metrics: Metrics) -> None:
        self._redis = redis
        self._wallet = wallet
        self._metrics = metrics
        self._subscriber = open_subscriber(redis_url, self._deliver)
        self._listening = asyncio.Event()
        self._users: dict[str, set[Connection]] = {}
        self._everyone: set[Connection] = set()
        self._subscriptions = asyncio.Lock()
        self._sessions = SocketSessions()

    @property
    def connections(self) -> Iterable[Connection]:
        return self._everyone

    def join(self, connection: Connection) -> None:
        """Receive public events on this socket."""
        self._everyone.add(connection)

    async def attach(self, connection: Connection, session: SessionRef) -> None:
        """Route the events of the socket's user to it (subscribed before this returns)
        and end the socket with `session`; at once if the session ended meanwhile."""
        user_id = connection.user_id
        assert user_id is not None
        async with self._subscriptions:
            sockets = self._users.setdefault(user_id, set())
            if connection not in sockets:
                sockets.add(connection)
                if len(sockets) == 1:
                    await self._subscribe(UserKeys(user_id).events)
        self._sessions.add(connection, session)
        # A logout between the token's check and now published its revocation
        # before this socket was listed: it would be missed.
        if not await self._redis.exists(session_key(session.id)):
            self._sessions.end(session.id, "signed out")

    async def leave(self, connection: Connection) -> None:
        """Forget a closed socket; unsubscribe its user if it was the last one here."""
        self._everyone.discard(connection)
        self._sessions.remove(connection)
        user_id = connection.user_id
        if user_id is None:
            return
        async with self._subscriptions:
            sockets = self._users.get(user_id)
            if sockets is None:
                return
            sockets.discard(connection)
            if not sockets:
                del self._users[user_id]
                self._subscriber.unsubscribe(UserKeys(user_id).events)

    async def publish_public(self, frame: str) -> None:
        """Send a frame to every socket of every instance."""
        await self._redis.publish(PUBLIC_CHANNEL, frame)

    def broadcast_local(self, text: str) -> None:
        """Send a frame to every socket of this instance, encoded once for all."""
        _send_to(self._everyone, text)

    async def _subscribe(self, channel: str) -> None:
        # While the connection is down, wait for the next one: it subscribes
        # every channel in `_users`, this one included.
        async with asyncio.timeout(CONFIRM_TIMEOUT_S):
            while True:
                await self._listening.wait()
                try:
                    await self._subscriber.subscribe(channel)
                    return
                except RedisConnectionError:
                    self._listening.clear()

    async def run(self) -> None:
        """Listen until cancelled; when the connection drops, reconnect with
        backoff, subscribe every channel again and resync balances."""
        backoff = 0.05
        reconnecting = False
        while True:
            try:
                await self._subscriber.connect()
                channels = [UserKeys(user_id).events for user_id in self._users]
                await self._subscriber.subscribe(PUBLIC_CHANNEL, *channels)
                self._listening.set()
                if reconnecting:
                    await self._resync()
                backoff = 0.05
                error = await self._subscriber.lost()
                self._metrics.pubsub_reconnects += 1
                reconnecting = True
                log.warning("pub/sub connection lost (%s); reconnecting", error)
            except (RedisError, OSError, TimeoutError) as error:
                _failures.failure("pub/sub (re)connect", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
            finally:
                self._listening.clear()

    async def close(self) -> None:
        """Close the pub/sub connection."""
        self._subscriber.close()

    def _deliver(self, channel: str, data: str) -> None:
        if channel == PUBLIC_CHANNEL:
            self.broadcast_local(data)
            return
        if data.startswith(REVOCATION_PREFIX):
            self._sessions.end(revoked_session(data), "signed out")
            return
        user_id = channel[3 : channel.index("}")]  # "{u:<id>}:events"
        _send_to(self._users.get(user_id, ()), data)

    async def _resync(self) -> None:
        await self._end_lost_sessions()
        for user_id, sockets in list(self._users.items()):
            frames = balance_frames(await self._wallet.balances(user_id))
            for connection in list(sockets):
                for frame in frames:
                    connection.send(frame)

    async def _end_lost_sessions(self) -> None:
        sids = self._sessions.ids
        if not sids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.exists(session_key(sid))
            alive = await pipe.execute()
        for sid, exists in zip(sids, alive, strict=True):
            if not exists:
                self._sessions.end(sid, "signed out")


def _send_to(connections: Iterable[Connection], text: str) -> None:
    """One text frame to many sockets, encoded once for all of them."""
    frame = encode_text(text)
    for connection in connections:
        connection.send(text, frame)
