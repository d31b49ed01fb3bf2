"""The round loop, run by the leader during one lease term.

BETTING (betting_ms) -> RUNNING (a tick every tick_ms; the multiplier at t ms
is multiplier_at(t)) -> CRASHED at elapsed_for(point), shown for crashed_ms,
then the next round. Round k plays the chain's hash of round k.

Each tick is one fenced script: the targets it reaches are cashed out first,
then either the tick is recorded (manual cashouts pay its multiplier) or, at
the crash tick, the round is CRASHED atomically. Then the loop publishes the
cashouts and the tick or the crash.

A new leader finds the last round as an earlier term left it:
- none: it opens round 1;
- BETTING: it adopts the round, which goes on (bets and deadline stand);
- RUNNING: it voids the round (VOID + REFUND): bets still open are refunded,
  bets already cashed out keep their payout, the hash and point are revealed;
- CRASHED: it finishes the settlement (idempotent) and opens the next round.
"""

import asyncio
import logging
from typing import NoReturn

from games.crash import RoundPhase, advance, elapsed_for, multiplier_at
from server.crash.cancel import check_cancelled
from server.crash.chain_store import Chain
from server.crash.config import CrashSettings
from server.crash.events import crashed_frame, frame, players_frame, state_data, tick_frame
from server.crash.lease import LeaseTerm
from server.crash.records import Bet, RoundState, history_entry, hundredths
from server.crash.settlement import Settlement
from server.crash.store import CrashStore, Reveal
from server.realtime.hub import Hub

log = logging.getLogger(__name__)


class RoundLoop:
    """Plays rounds for as long as its lease term lasts."""

    def __init__(
        self,
        *,
        settings: CrashSettings,
        store: CrashStore,
        chain: Chain,
        settlement: Settlement,
        hub: Hub,
        term: LeaseTerm,
    ) -> None:
        self._settings = settings
        self._store = store
        self._chain = chain
        self._settlement = settlement
        self._hub = hub
        self._term = term
        self._loop = asyncio.get_running_loop()

    async def run(self) -> NoReturn:
        """Take over the last round, then play the next ones, until cancelled."""
        current = await self._store.round()
        if current is not None:
            await self._take_over(current)
        round_id = current.id + 1 if current is not None else 1
        while True:
            check_cancelled()
            if round_id > self._chain.length:
                raise RuntimeError("the crash hash chain is used up: a new chain is needed")
            now, deadline = await self._store.new_round(
                self._term, round_id, self._chain.commitment(round_id), self._settings.betting_ms
            )
            await self._play(round_id, deadline - now)
            round_id += 1

    async def _take_over(self, state: RoundState) -> None:
        log.info("crash: fence %d takes round %d (%s)", self._term.fence, state.id, state.phase)
        if state.phase is RoundPhase.BETTING:
            now = await self._store.adopt(self._term, state.id)
            await self._play(state.id, state.betting_ends - now)
        elif state.phase is RoundPhase.RUNNING:
            await self._void(state)
        elif not state.settled:
            await self._close(state.id, self._loop.time())

    async def _play(self, round_id: int, betting_left_ms: int) -> None:
        """A round from BETTING to its settlement."""
        phase = RoundPhase.BETTING
        await self._publish_state()
        await asyncio.sleep(max(betting_left_ms, 0) / 1000)
        check_cancelled()
        await self._store.start(self._term, round_id)
        started = self._loop.time()
        phase = advance(phase, RoundPhase.RUNNING)
        await self._publish_state()
        await self._run(round_id, started)
        phase = advance(phase, RoundPhase.CRASHED)
        crashed = self._loop.time()
        await self._publish_state()
        await self._close(round_id, crashed)

    async def _run(self, round_id: int, started: float) -> None:
        """Tick until the crash; pay the targets reached on the way."""
        round_hash = self._chain.round_hash(round_id)
        exact_point = self._chain.point(round_id)
        point, crash_ms = hundredths(exact_point), elapsed_for(exact_point)
        reveal = Reveal(point, round_hash, history_entry(round_id, point, round_hash, False))
        tick_ms = self._settings.tick_ms
        caps = self._settings.max_payout_per_round
        elapsed = 0
        payouts: set[asyncio.Task[None]] = set()
        try:
            while True:
                check_cancelled()
                crashing = elapsed >= crash_ms
                if crashing:
                    elapsed = crash_ms
                await asyncio.sleep(max(started + elapsed / 1000 - self._loop.time(), 0))
                mult = hundredths(multiplier_at(elapsed))
                crash = reveal if crashing else None
                cashed = await self._store.tick(
                    self._term, round_id, elapsed, mult, caps=caps, crash=crash
                )
                if cashed:
                    await self._hub.publish_public(players_frame("crash.cashout", round_id, cashed))
                    self._pay(payouts, round_id, cashed)
                if crashing:
                    await self._hub.publish_public(
                        crashed_frame(round_id, elapsed, point, round_hash, voided=False)
                    )
                    if payouts:
                        await asyncio.wait(payouts)
                    return
                await self._hub.publish_public(tick_frame(round_id, elapsed, mult))
                # The next tick; ticks missed while this loop was late are skipped.
                late = int((self._loop.time() - started) * 1000) // tick_ms * tick_ms
                elapsed = max(elapsed + tick_ms, late)
        finally:
            for payout in payouts:
                payout.cancel()

    def _pay(self, payouts: set[asyncio.Task[None]], round_id: int, bets: list[Bet]) -> None:
        """Pay cashouts while the round goes on; the settlement at the crash retries a failure.

        Tasks of their own, not a TaskGroup: on Python 3.11 a TaskGroup whose
        child fails after its body ended leaves a stray cancellation request.
        """

        def paid(payout: asyncio.Task[None]) -> None:
            payouts.discard(payout)
            if not payout.cancelled() and (error := payout.exception()) is not None:
                log.warning("crash round %d: cashouts not paid yet: %s", round_id, error)

        payout = asyncio.create_task(self._settlement.close_all(round_id, bets))
        payouts.add(payout)
        payout.add_done_callback(paid)

    async def _void(self, state: RoundState) -> None:
        """End a RUNNING round an earlier term left: voided, open bets refunded."""
        round_hash = self._chain.round_hash(state.id)
        point = hundredths(self._chain.point(state.id))
        entry = history_entry(state.id, point, round_hash, True)
        await self._store.void(self._term, state.id, Reveal(point, round_hash, entry))
        log.warning("crash: round %d voided after a leader change", state.id)
        crashed = self._loop.time()
        await self._hub.publish_public(
            crashed_frame(state.id, max(state.tick, 0), point, round_hash, voided=True)
        )
        await self._publish_state()
        await self._close(state.id, crashed)

    async def _close(self, round_id: int, crashed: float) -> None:
        """Settle every bet of a crashed round, then show it until crashed_ms have passed."""
        bets = await self._store.bets()
        await self._settlement.close_all(round_id, bets)
        point = hundredths(self._chain.point(round_id))
        await self._settlement.record_all(round_id, bets, point, self._chain.round_hash(round_id))
        await self._store.finish(self._term, round_id, self._chain.terminating_hash)
        pause = crashed + self._settings.crashed_ms / 1000 - self._loop.time()
        await asyncio.sleep(max(pause, 0))

    async def _publish_state(self) -> None:
        state, bets, now = await self._store.snapshot()
        await self._hub.publish_public(frame("crash.state", state_data(state, bets, now)))
