"""The player's tools in a real Chromium against real servers: autobet, live stats,
payout tables, turning a guest into a registered account (see test_browser.py for
the harness)."""

import re
import secrets
from fractions import Fraction
from typing import Any

from games.mines import TILES
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
    # A round runs until its crash point (a 10x round takes 38 s): allow for long ones.
    await expect(page.get_by_test_id("auto-status")).to_have_text(
        "Stopped: 2 bets placed", timeout=180_000
    )
    entries = await ledger(own_site, page)
    stakes = [entry for entry in entries if entry["type"] == "bet"]
    wins = [entry for entry in entries if entry["type"] == "win"]
    assert len(stakes) == 2
    assert all(entry["amount"] == 150 for entry in wins)  # 1.00 cashed out at 1.5x
    profit = sum(entry["amount"] for entry in entries if entry["type"] != "deposit")
    assert await counter(page, "profit") == signed(profit)


async def test_plinko_and_keno_show_the_published_payout_tables(site: Site) -> None:
    page = await site.open("plinko")
    games = (await (await page.request.get(f"{site.base_url}/api/games")).json())["games"]
    plinko, keno = games["plinko"]["payout_table"], games["keno"]["payout_table"]
    board = page.get_by_role("img", name=re.compile("^Plinko board"))
    for rows, risk in (("16", "low"), ("8", "high"), ("12", "medium")):
        await page.locator("#plinko-rows").select_option(rows)
        await page.locator("#plinko-risk").select_option(risk)
        slots = ", ".join(
            f"{multiplier}\N{MULTIPLICATION SIGN}" for multiplier in plinko[risk][rows]
        )
        await expect(board).to_have_attribute(
            "aria-label", f"Plinko board, {rows} rows, {risk} risk: slots pay {slots}"
        )
    await shoot(page, "plinko-labelled")

    await page.get_by_role("link", name="Keno").first.click()
    payouts = page.get_by_test_id("keno-payouts").locator(".keno-payout-x")
    await expect(payouts).to_have_count(0)  # nothing picked yet
    for square in ("4", "17", "29"):
        await page.locator(".keno-grid").get_by_role("button", name=square, exact=True).click()
    for risk in ("classic", "high"):
        await page.locator("#keno-risk").select_option(risk)
        await expect(payouts).to_have_text(
            [f"{value}\N{MULTIPLICATION SIGN}" for value in keno[risk]["3"]]
        )
    await shoot(page, "keno-payouts")


async def test_the_mines_chance_shown_is_the_games_rule(site: Site) -> None:
    """(gems left) / (tiles left), floored to hundredths of a percent, for every position."""
    page = await site.open()
    shown = await page.evaluate(
        """async () => {
            const { minesChance } = await import("/js/games/odds.js");
            const all = [];
            for (let m = 1; m <= 24; m += 1) {
                for (let k = 0; k <= 25 - m; k += 1) all.push(minesChance(m, k));
            }
            return all;
        }"""
    )
    expected: list[str | None] = []
    for mines in range(1, 25):
        for safe in range(TILES - mines + 1):
            gems, hidden = TILES - mines - safe, TILES - safe
            hundredths = Fraction(gems, hidden) * 10_000 // 1
            expected.append(f"{hundredths // 100}.{hundredths % 100:02d}" if gems else None)
    assert shown == expected


async def test_a_guest_keeps_the_account_by_choosing_a_name(site: Site) -> None:
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await bet_amount(page, "3")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    before = (await (await page.request.get(f"{site.base_url}/api/me")).json())["user"]
    balance = await site.balance(page)

    await page.get_by_role("button", name="Log out").click()  # a guest is warned first
    warning = page.get_by_test_id("guest-logout")
    await expect(warning).to_contain_text("cannot be reached again")
    await shoot(page, "guest-logout-warning", full_page=False)
    await warning.get_by_role("button", name="Keep my account").click()
    dialog = page.locator("#auth-dialog")
    await expect(dialog.get_by_role("heading", name="Keep your account")).to_be_visible()
    name = f"kept_{secrets.token_hex(4)}"
    await dialog.get_by_label("Username").fill(name)
    await dialog.get_by_label("Password").fill("correct horse battery")
    await dialog.get_by_role("button", name="Save my account").click()
    await expect(page.get_by_test_id("user-name")).to_have_text(name)
    await expect(page.get_by_test_id("balance")).to_have_text(play(balance))
    await expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    me = (await (await page.request.get(f"{site.base_url}/api/me")).json())["user"]
    assert me == {"id": before["id"], "name": name, "kind": "registered"}
    await page.get_by_role("tab", name="My bets").click()
    await expect(page.locator("#bets-table tbody tr.bet-row")).to_have_count(1)
    await bet_amount(page, "1")  # the page's socket plays on as the registered account
    await page.get_by_test_id("bet-button").click()
    await expect(page.locator("#bets-table tbody tr.bet-row")).to_have_count(2)
    await expect(page.locator("#bets-table tbody tr.bet-row").first).to_contain_text(name)

    await page.get_by_role("button", name="Log out").click()  # registered: no warning
    await expect(page.locator("#account").get_by_role("button", name="Sign in")).to_be_visible()
    await expect(warning).to_have_count(0)


async def test_hilo_guesses_stand_clear_of_the_bottom_bar_in_landscape(site: Site) -> None:
    page = await site.open("hilo", viewport={"width": 844, "height": 390})
    await sign_in_as_guest(page)
    await page.get_by_test_id("bet-button").click()
    higher = page.get_by_test_id("hilo-higher_or_same")
    await expect(higher).to_be_enabled()
    gap = await higher.evaluate(
        """(button) => document.querySelector(".tabbar").getBoundingClientRect().top
            - button.getBoundingClientRect().bottom"""
    )
    assert gap >= 24, f"the guess buttons end {gap} px above the bottom bar"
    await shoot(page, "phone-landscape-hilo-game", full_page=False)


async def test_crash_says_when_a_bet_misses_its_round(
    own_site: Site, own_server: ServerProcess
) -> None:
    """The first crash.bet frame is held back until the round is running: the server
    refuses it (ROUND_CLOSED), the page says so and bets in the next round."""
    held: dict[str, str | None] = {}  # "bet": the frame held back, None once sent

    def route(page_side: Any) -> None:
        server_side = page_side.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str) and '"op":"crash.bet"' in message and "bet" not in held:
                held["bet"] = message
                return
            server_side.send(message)

        def from_server(message: str | bytes) -> None:
            page_side.send(message)
            late = held.get("bet")
            if late and isinstance(message, str) and '"event":"crash.tick"' in message:
                server_side.send(late)
                held["bet"] = None

        page_side.on_message(from_page)
        server_side.on_message(from_server)

    await own_site.context.route_web_socket(re.compile(r"/ws$"), route)
    page = await own_site.open("crash")
    await sign_in_as_guest(page)
    await bet_amount(page, "1")
    button = page.get_by_test_id("bet-button")
    await expect(button).to_have_text("Place bet", timeout=120_000)
    await button.click()
    await expect(page.get_by_test_id("crash-outcome")).to_have_text(
        "Too late for this round — your bet goes into the next one", timeout=30_000
    )
    await expect(button).to_have_text("Bet placed — good luck", timeout=120_000)  # a long round


async def test_the_lobby_greets_a_new_guest_as_a_guest(site: Site) -> None:
    page = await site.open()
    await sign_in_as_guest(page)
    hero = page.locator(".hero")
    await expect(hero.locator("h1")).to_have_text(re.compile(r"^Welcome, guest-"))
    await expect(hero).to_contain_text("Your guest account is ready with play money.")
    await expect(hero.get_by_role("button", name="Keep this account")).to_be_visible()
    await page.reload()  # coming back: no longer new, still a guest
    await expect(hero.locator("h1")).to_have_text(re.compile(r"^Welcome back, guest-"))
    await expect(hero).not_to_contain_text("Your guest account is ready")
    await hero.get_by_role("button", name="Keep this account").click()
    await expect(page.get_by_role("heading", name="Keep your account")).to_be_visible()
