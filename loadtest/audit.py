"""The end-of-run audit of one simulated user, through the HTTP API only.

It reads the wallet, waits (bounded) for every tab to be shown its final
version, pages through the whole ledger, replays it with the server's own
`LedgerReplay` (again, for a bounded time, while a bet is still open: the
Crash leader closes a crashed round's bets just after players see the crash),
and checks it against what the client saw: the starting
snapshot plus the ledger equals the final balance, which equals the balance
the bet replies add up to and the one every tab shows; the bets the client
saw settle are the bets in the ledger; no tab missed a version.
"""

import asyncio
import time
from collections import Counter
from typing import Any

from loadtest.user import Player
from server.audit import LedgerReplay, UserAudit
from server.wallet import LedgerEntry

PAGE = 100
CATCH_UP_S = 5.0
"""How long the tabs may take to be shown the final version."""
SETTLE_S = 5.0
"""How long a bet may stay open in the ledger after the player saw it end: a Crash
round's state shows its bets lost or cashed as it crashes, and the leader closes
them in the wallets just after."""
SETTLE_POLL_S = 0.2


async def _get(player: Player, path: str, **params: Any) -> dict[str, Any]:
    response = await player.http.get(
        path, params=params, headers={"Authorization": f"Bearer {player.token}"}
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def ledger(player: Player) -> list[LedgerEntry]:
    """Every ledger entry of the user, oldest first."""
    entries: list[LedgerEntry] = []
    before: int | None = None
    while True:
        page = await _get(
            player, "/api/transactions", limit=PAGE, **({"before": before} if before else {})
        )
        entries.extend(page["items"])
        before = page["next_before"]
        if before is None:
            entries.reverse()
            return entries


async def replayed_ledger(
    player: Player,
) -> tuple[dict[str, int], int, list[LedgerEntry], UserAudit]:
    """The wallet (balances, version), once every tab was shown its version (or
    CATCH_UP_S passed), the whole ledger, and its replay against that wallet."""
    wallet = await _get(player, "/api/wallet")
    final: dict[str, int] = wallet["balances"]
    version: int = wallet["version"]
    await player.wait_for_version(version, CATCH_UP_S)
    entries = await ledger(player)
    replay = LedgerReplay(player.user_id)
    for entry in entries:
        replay.feed(entry)
    return final, version, entries, replay.finish(final, version, len(entries))


async def audit_player(player: Player) -> tuple[list[str], int]:
    """Problems found (empty when all is well) and the number of ledger entries."""
    deadline = time.monotonic() + SETTLE_S
    final, version, entries, audit = await replayed_ledger(player)
    while audit.open_bets and time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_POLL_S)
        final, version, entries, audit = await replayed_ledger(player)
    problems = audit.findings()  # an open bet is a problem here: every round has ended

    start = player.tabs[0]
    since_start: Counter[str] = Counter()
    bets_since_start = 0
    for entry in entries:
        if entry["id"] > start.start_version:
            since_start[entry["currency"]] += entry["amount"]
            bets_since_start += entry["type"] == "bet"
    for currency in sorted(set(final) | set(start.start_balances)):
        begin, end = start.start_balances.get(currency, 0), final.get(currency, 0)
        if begin + since_start[currency] != end:
            problems.append(
                f"{currency}: start {begin} + ledger {since_start[currency]} != final {end}"
            )
        if not player.unresolved and begin + player.expected[currency] != end:
            problems.append(
                f"{currency}: start {begin} + bet replies {player.expected[currency]}"
                f" != final {end}"
            )
    if player.unresolved:
        problems.append(f"{player.unresolved} bets with an unknown outcome after retries")
    elif bets_since_start != player.placed:
        problems.append(f"{bets_since_start} bets in the ledger, {player.placed} replies")
    problems.extend(_tab_problems(player, final, version))
    return problems, len(entries)


def _tab_problems(player: Player, final: dict[str, int], version: int) -> list[str]:
    problems = []
    for number, (tab, closed) in enumerate(zip(player.tabs, player.closed_tabs(), strict=True)):
        name = "betting tab" if number == 0 else f"tab {number}"
        if closed and number:
            problems.append(f"{name} was closed by the server")
            continue
        if tab.last_version != version:
            problems.append(f"{name} last saw version {tab.last_version} of {version}")
        for currency, balance in tab.balances.items():
            if balance != final.get(currency, 0):
                problems.append(f"{name} shows {currency} {balance}, final {final.get(currency)}")
        if number and tab.missing:
            problems.append(f"{name} missed {tab.missing} versions, with no resync after")
    return problems
