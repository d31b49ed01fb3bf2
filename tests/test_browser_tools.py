"""The player's tools in a real Chromium against real servers: autobet, live stats,
payout tables, turning a guest into a registered account (see test_browser.py for
the harness)."""

import re
from typing import Any

from tests.servers import ServerProcess
from tests.test_browser import (
    Page,
    Site,
    bet_amount,
    browser,
    expect,
    own_server,
    own_site,
    play,
    shoot,
    sign_in_as_guest,
    site,
)

__all__ = ["browser", "own_server", "own_site", "site"]  # fixtures used here

START = 100_000


async def ledger(site: Site, page: Page) -> list[dict[str, Any]]:
    """This user's ledger entries, oldest first."""
    response = await page.request.get(f"{site.base_url}/api/transactions?limit=100")
    items: list[dict[str, Any]] = (await response.json())["items"]
    return items[::-1]


async def counter(page: Page, name: str) -> str:
    return await page.get_by_test_id(f"auto-{name}").text_content() or ""


def signed(minor: int) -> str:
    """A profit as the counters and the stats show it: "+1.20", "-0.30", "0.00"."""
    return f"+{play(minor)}" if minor > 0 else f"-{play(-minor)}" if minor < 0 else play(0)


async def start_autobet(page: Page, amount: str, **fields: str) -> None:
    """Switch to Auto, fill the fields (test id without "auto-" -> text) and start."""
    await bet_amount(page, amount)
    await page.get_by_test_id("mode-auto").click()
    for name, value in fields.items():
        if name in ("win", "loss"):
            await page.get_by_test_id(f"auto-{name}-increase").click()
            await page.get_by_test_id(f"auto-{name}-percent").fill(value)
        else:
            await page.get_by_test_id(f"auto-{name}").fill(value)
    button = page.get_by_test_id("bet-button")
    await expect(button).to_have_text("Start autobet")
    await button.click()


async def test_autobet_raises_the_stake_on_a_loss_and_stops_on_the_profit_target(
    site: Site,
) -> None:
    """Twenty Dice bets at 2x, doubling after a loss and back to 0.10 after a win, stopping
    once 0.30 is won: the ledger holds exactly the bets the counters show, their stakes
    follow the rule, and the run stopped for the reason it says."""
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await start_autobet(page, "0.10", count="20", loss="100", **{"stop-profit": "0.30"})
    status = page.get_by_test_id("auto-status")
    await expect(status).to_have_text(re.compile("^Stopped: "), timeout=60_000)
    await expect(page.get_by_test_id("bet-button")).to_have_text("Start autobet")
    await shoot(page, "dice-autobet")

    entries = await ledger(site, page)
    stakes = [entry for entry in entries if entry["type"] == "bet"]
    wins = {entry["ref"]: entry["amount"] for entry in entries if entry["type"] == "win"}
    profit = sum(wins.values()) + sum(entry["amount"] for entry in stakes)  # debits are negative
    assert await counter(page, "bets") == str(len(stakes))
    assert await counter(page, "wins") == str(len(wins))
    assert await counter(page, "losses") == str(len(stakes) - len(wins))
    assert await counter(page, "profit") == signed(profit)
    assert await site.balance(page) == START + profit
    expected = 10
    for entry in stakes:  # martingale: double after a loss, the base after a win
        assert -entry["amount"] == expected
        expected = 10 if entry["ref"] in wins else expected * 2
    if len(stakes) < 20:
        assert profit >= 30
        await expect(status).to_have_text("Stopped: profit target reached")
    else:
        assert profit >= 30 or await status.text_content() == "Stopped: 20 bets placed"


async def test_autobet_stops_when_the_connection_drops(
    own_site: Site, own_server: ServerProcess
) -> None:
    own_site.expected_errors = re.compile(r"WebSocket connection to .* failed")
    page = await own_site.open("dice")
    await sign_in_as_guest(page)
    await start_autobet(page, "0.01")  # unlimited
    bets = page.get_by_test_id("auto-bets")
    await expect(bets).to_have_text(re.compile(r"^([3-9]|\d\d+)$"), timeout=30_000)
    await own_server.stop()
    await expect(page.get_by_test_id("auto-status")).to_have_text("Stopped: the connection dropped")
    await own_server.start()
    await expect(page.locator("#connection")).to_have_attribute(
        "data-status", "live", timeout=15_000
    )
    # The bet in flight when the server went away goes out again with its key, once.
    await expect(page.get_by_test_id("bet-button")).to_have_text("Start autobet")
    placed = [entry for entry in await ledger(own_site, page) if entry["type"] == "bet"]
    assert await counter(page, "bets") == str(len(placed))
    assert len({entry["ref"] for entry in placed}) == len(placed)


async def test_autobet_stops_on_insufficient_funds(site: Site) -> None:
    page = await site.open("limbo")
    await sign_in_as_guest(page)
    await start_autobet(page, "400", count="10", loss="100", win="100")
    await expect(page.get_by_test_id("auto-status")).to_have_text(
        "Stopped: Not enough balance", timeout=30_000
    )
    await expect(page.get_by_test_id("bet-error")).to_have_text("Not enough balance")
    placed = [entry for entry in await ledger(site, page) if entry["type"] == "bet"]
    assert await counter(page, "bets") == str(len(placed))
    assert [-entry["amount"] for entry in placed] == [40_000 * 2**i for i in range(len(placed))]
    assert await site.balance(page) < 40_000 * 2 ** len(placed)  # the stake it was refused


async def test_live_stats_are_the_sum_of_my_bets(site: Site) -> None:
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await page.get_by_test_id("stats-toggle").click()
    panel = page.get_by_test_id("stats-panel")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_test_id("stats-wagered")).to_have_text("0.00")
    await start_autobet(page, "1", count="6", win="50")
    await expect(page.get_by_test_id("auto-status")).to_have_text(
        "Stopped: 6 bets placed", timeout=30_000
    )
    await page.get_by_test_id("mode-manual").click()
    await bet_amount(page, "2.5")
    await page.get_by_test_id("bet-button").click()
    await expect(panel.get_by_test_id("stats-chart")).to_have_attribute("data-points", "7")

    await page.get_by_role("tab", name="My bets").click()
    rows = page.locator("#bets-table tbody tr")
    await expect(rows).to_have_count(7)
    cells = await rows.evaluate_all(
        "rows => rows.map((row) => [...row.querySelectorAll('td.num')].map((td) => td.textContent))"
    )
    minor = lambda text: int(re.sub(r"[^\d-]", "", text))  # noqa: E731
    amounts = [minor(row[0]) for row in cells]
    profits = [minor(row[2]) for row in cells]
    await expect(panel.get_by_test_id("stats-wagered")).to_have_text(play(sum(amounts)))
    await expect(panel.get_by_test_id("stats-profit")).to_have_text(signed(sum(profits)))
    await expect(panel.get_by_test_id("stats-wins")).to_have_text(
        str(sum(profit > 0 for profit in profits))
    )
    await expect(panel.get_by_test_id("stats-losses")).to_have_text(
        str(sum(profit <= 0 for profit in profits))
    )
    await shoot(page, "dice-live-stats")

    await page.get_by_role("link", name="Limbo").first.click()  # the session goes with the player
    await expect(page.get_by_test_id("stats-wagered")).to_have_text(play(sum(amounts)))
    await page.get_by_test_id("stats-reset").click()
    await expect(page.get_by_test_id("stats-wagered")).to_have_text("0.00")
    await expect(page.get_by_test_id("stats-chart")).to_have_attribute("data-points", "0")


async def test_mines_autobet_reveals_the_chosen_tiles_in_every_game(site: Site) -> None:
    page = await site.open("mines")
    await sign_in_as_guest(page)
    await page.get_by_test_id("mode-auto").click()
    tiles = page.get_by_test_id("mines-tile")
    for tile in (0, 12):
        await tiles.nth(tile).click()
    await expect(page.locator(".tile.chosen")).to_have_count(2)
    await start_autobet(page, "1", count="3")
    await expect(page.get_by_test_id("auto-status")).to_have_text(
        "Stopped: 3 bets placed", timeout=30_000
    )
    bets = (await (await page.request.get(f"{site.base_url}/api/bets?game=mines")).json())["items"]
    assert len(bets) == 3
    for bet in bets:  # each game revealed the chosen tiles in order, up to a mine
        view = bet["outcome"]["view"]
        clicked = [*view["revealed"], *([view["hit_mine"]] if view["hit_mine"] is not None else [])]
        assert clicked == [0, 12][: len(clicked)]
        assert view["state"] == ("cashed" if view["revealed"] == [0, 12] else "lost")
    entries = [entry for entry in await ledger(site, page) if entry["type"] == "bet"]
    assert await counter(page, "bets") == str(len(entries)) == "3"


async def test_crash_autobet_bets_round_after_round_with_its_auto_cashout(
    own_site: Site, own_server: ServerProcess
) -> None:
    page = await own_site.open("crash")
    await sign_in_as_guest(page)
    await page.get_by_test_id("mode-auto").click()
    await page.get_by_test_id("bet-button").click()  # no auto cashout: refused in the form
    await expect(page.get_by_text("Autobet needs an auto cashout")).to_be_visible()
    await page.get_by_test_id("crash-auto").fill("1.5")
    await start_autobet(page, "1", count="2")
    await expect(page.get_by_test_id("auto-status")).to_have_text(
        "Stopped: 2 bets placed", timeout=60_000
    )
    entries = await ledger(own_site, page)
    stakes = [entry for entry in entries if entry["type"] == "bet"]
    wins = [entry for entry in entries if entry["type"] == "win"]
    assert len(stakes) == 2
    assert all(entry["amount"] == 150 for entry in wins)  # 1.00 cashed out at 1.5x
    profit = sum(entry["amount"] for entry in entries if entry["type"] != "deposit")
    assert await counter(page, "profit") == signed(profit)
