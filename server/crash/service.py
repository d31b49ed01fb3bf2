"""The Crash service of one instance: started and stopped by the app's lifespan.

Every instance answers the players and greets each new socket with
`crash.state`; every enabled instance campaigns for the leader lease, and the
one holding it runs the round loop. A lost lease (another leader, or this one
stalled past its expiry) stops the ticking at once and the instance stands by
and campaigns again. Any other failure ends the attempt: the supervisor
(server/supervise.py) logs and counts it, and campaigns again after a back-off
of at most the lease time.
"""

import asyncio
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
from server.supervise import Supervisor

log = logging.getLogger(__name__)


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
        self.store = CrashStore(services.redis, scripts, services.journal)
        self._settlement = Settlement(services.wallet, services.bets)
        self.players = Players(services, self.store, self._settlement)
        self._lease = Lease(scripts, instance_token(services.settings.port), self.settings.lease_ms)
        self._chain: Chain | None = None
        self._rounds = Supervisor(
            "crash-rounds",
            self._campaign,
            services.metrics,
            max_backoff_s=self.settings.lease_ms / 1000,
        )

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
            self._rounds.start()

    async def stop(self) -> None:
        """Stop leading (the lease is released: another instance takes over)."""
        await self._rounds.stop()

    async def state(self) -> dict[str, Any]:
        """The `crash.state` data of the current round."""
        return state_data(*await self.store.snapshot())

    async def greet(self, connection: Connection) -> None:
        """Send a new socket the current round."""
        try:
            connection.send(frame("crash.state", await self.state()))
        except RedisError as error:
            log.warning("crash: no state for a new socket: %s", error)

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
        """Run the rounds and keep the lease until either fails; return if the lease was lost.

        Two tasks awaited with asyncio.wait, not a TaskGroup: on Python 3.11 a
        TaskGroup left this task with a stray cancellation request.
        """
        log.info("crash: leading the rounds with fence %d", term.fence)
        rounds = RoundLoop(
            settings=self.settings,
            store=self.store,
            chain=self.chain,
            settlement=self._settlement,
            hub=self._services.hub,
            term=term,
        )
        tasks = [
            asyncio.create_task(self._lease.keep(term), name="crash-lease"),
            asyncio.create_task(rounds.run(), name="crash-round-loop"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            # Both run until they raise; a lost lease is the one expected failure.
            errors = [task.exception() or RuntimeError(f"{task} returned") for task in done]
            for error in errors:
                if not isinstance(error, LeaseLostError):
                    raise error
            log.warning("crash: %s; standing by", errors[0])
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            for task in tasks:  # retrieved, so that asyncio does not report them again
                if not task.cancelled():
                    task.exception()
            await asyncio.shield(self._release(term))

    async def _release(self, term: LeaseTerm) -> None:
        try:
            await self._lease.release(term)
        except (RedisError, TimeoutError) as error:
            log.warning("crash: lease %s not released: %r", term.value, error)
