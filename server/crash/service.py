"""The Crash service of one instance: started and stopped by the app's lifespan.

Every instance answers the players and greets each new socket with
`crash.state`; the instance holding the leader lease also runs the round
loop, supervised: an error is logged and the instance tries again after a
back-off; a lost lease stops the ticking at once and the instance stands by.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from typing import Any, NoReturn

from redis.exceptions import RedisError

from server.crash.cancel import check_cancelled
from server.crash.chain_store import Chain, ensure_chain
from server.crash.config import CrashSettings
from server.crash.events import frame, state_data
from server.crash.lease import Lease, LeaseLostError, LeaseTerm
from server.crash.players import Players
from server.crash.rounds import RoundLoop
from server.crash.scripts import CrashScripts
from server.crash.settlement import Settlement
from server.crash.store import CrashStore
from server.realtime.connection import Connection
from server.services import Services

log = logging.getLogger(__name__)

_MIN_BACKOFF_S = 0.1
_MAX_BACKOFF_S = 10.0


def instance_token(port: int) -> str:
    """Names this instance in the lease: host, port, pid and a random suffix."""
    name = f"{socket.gethostname()}:{port}:{os.getpid()}:{secrets.token_hex(3)}"
    return name.replace("/", "-")


class CrashService:
    """Crash on this instance: players' actions, greetings and, when leader, the rounds."""

    def __init__(self, services: Services, settings: CrashSettings | None = None) -> None:
        self.settings = settings or CrashSettings()
        self._services = services
        scripts = CrashScripts.register(services.runner)
        self.store = CrashStore(services.redis, scripts)
        self._settlement = Settlement(services.wallet)
        self.players = Players(services, self.store, self._settlement)
        self._lease = Lease(scripts, instance_token(services.settings.port), self.settings.lease_ms)
        self._chain: Chain | None = None
        self._rounds: asyncio.Task[None] | None = None

    @property
    def chain(self) -> Chain:
        if self._chain is None:
            raise RuntimeError("the crash chain is loaded by start()")
        return self._chain

    async def start(self) -> None:
        """Load (or make) the chain; if enabled, greet sockets and run for leader."""
        unknown = set(self.settings.max_payout_per_round) - set(self._services.settings.currencies)
        if unknown:
            raise ValueError(f"crash max_payout_per_round names unknown currencies: {unknown}")
        self._chain = await ensure_chain(self._services.redis, self.settings)
        if self.settings.enabled:
            self._services.greeters.append(self.greet)
            self._rounds = asyncio.create_task(self._supervise(), name="crash-rounds")

    async def stop(self) -> None:
        """Stop leading (the lease is released: another instance takes over)."""
        if self._rounds is not None:
            self._rounds.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rounds

    async def state(self) -> dict[str, Any]:
        """The `crash.state` data of the current round."""
        return state_data(*await self.store.snapshot())

    async def greet(self, connection: Connection) -> None:
        """Send a new socket the current round."""
        try:
            connection.send(frame("crash.state", await self.state()))
        except RedisError as error:
            log.warning("crash: no state for a new socket: %s", error)

    async def _supervise(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        backoff = _MIN_BACKOFF_S
        while True:
            began = loop.time()
            try:
                await self._campaign()
            except Exception:
                check_cancelled()
                if loop.time() - began > _MAX_BACKOFF_S:
                    backoff = _MIN_BACKOFF_S
                log.exception("crash: the round loop failed; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    async def _campaign(self) -> NoReturn:
        """Stand by until the lease is free, lead until it is lost, again."""
        while True:
            check_cancelled()
            term = await self._lease.acquire()
            if term is None:
                await asyncio.sleep(self.settings.lease_ms / 4000)
                continue
            await self._lead(term)

    async def _lead(self, term: LeaseTerm) -> None:
        log.info("crash: leading the rounds with fence %d", term.fence)
        rounds = RoundLoop(
            settings=self.settings,
            store=self.store,
            chain=self.chain,
            settlement=self._settlement,
            hub=self._services.hub,
            term=term,
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._lease.keep(term))
                group.create_task(rounds.run())
        except* LeaseLostError as lost:
            reason: BaseException = lost
            while isinstance(reason, BaseExceptionGroup):
                reason = reason.exceptions[0]
            log.warning("crash: %s; standing by", reason)
        finally:
            await asyncio.shield(self._release(term))

    async def _release(self, term: LeaseTerm) -> None:
        try:
            await self._lease.release(term)
        except RedisError as error:
            log.warning("crash: lease %s not released: %s", term.value, error)
