"""The leader lease: one instance runs the rounds, the others stand by.

The lease is a Redis key holding `<fence>/<token>` with an expiry. The token
names the instance; the fence is a number incremented by every acquisition, so
each leadership term has its own. Every script that changes the round state
gets the lease value and refuses to run unless it is still the live lease (the
fencing check): a leader that stalled past its expiry cannot write once another
took over. The holder renews it every third of its time and stops leading when
a renewal fails or is not confirmed before the lease could have expired.
"""

import asyncio
from dataclasses import dataclass
from typing import NoReturn

from server.crash import keys
from server.crash.cancel import check_cancelled
from server.crash.scripts import CrashScripts


class LeaseLostError(Exception):
    """The lease expired or another instance holds it: stop leading now."""


@dataclass(frozen=True, slots=True)
class LeaseTerm:
    """One leadership term."""

    value: str
    """`<fence>/<token>`, passed to every fenced script."""
    since: float
    """Event loop time just before the acquisition was sent."""

    @property
    def fence(self) -> int:
        return int(self.value.partition("/")[0])


class Lease:
    """Acquires, keeps and releases the leader lease for one instance."""

    def __init__(self, scripts: CrashScripts, token: str, ttl_ms: int) -> None:
        if "/" in token:
            raise ValueError("a lease token cannot contain '/'")
        self._scripts = scripts
        self._token = token
        self._ttl_ms = ttl_ms

    async def acquire(self) -> LeaseTerm | None:
        """A new term if the lease is free (or already ours), else None.

        TimeoutError if Redis does not answer within the lease time: a caller
        stuck here would wait unseen.
        """
        since = asyncio.get_running_loop().time()
        async with asyncio.timeout(self._ttl_ms / 1000):
            value = await self._scripts.lease_acquire(
                keys=[keys.LEASE, keys.FENCE], args=[self._token, self._ttl_ms]
            )
        return LeaseTerm(value, since) if value else None

    async def keep(self, term: LeaseTerm) -> NoReturn:
        """Renew the lease until it is lost, then raise LeaseLostError."""
        loop = asyncio.get_running_loop()
        ttl_s = self._ttl_ms / 1000
        held_until = term.since + ttl_s
        while True:
            await asyncio.sleep(ttl_s / 3)
            sent = loop.time()
            try:
                async with asyncio.timeout_at(held_until):
                    renewed = await self._scripts.lease_renew(
                        keys=[keys.LEASE], args=[term.value, self._ttl_ms]
                    )
            except TimeoutError:
                raise LeaseLostError(f"lease {term.value} not renewed in time") from None
            check_cancelled()
            if not renewed:
                raise LeaseLostError(f"lease {term.value} was lost")
            held_until = sent + ttl_s

    async def release(self, term: LeaseTerm) -> None:
        """Give the lease up so another instance takes over at once (TimeoutError if
        Redis does not answer within the lease time: by then the lease has expired)."""
        async with asyncio.timeout(self._ttl_ms / 1000):
            await self._scripts.lease_release(keys=[keys.LEASE], args=[term.value])
