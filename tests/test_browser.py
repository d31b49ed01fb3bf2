"""The browser client in a real Chromium (Debian's), driven by Playwright, against real servers.

Every page opened here records console errors and uncaught exceptions; a test
fails if any appear. Screenshots of each page go to artifacts/screenshots/.
"""

import json
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from games.fairness import floats
from games.hilo import RANKS, Guess, step_multiplier, win_probability
from games.mines import TILES, mine_positions, payout_multiplier
from games.states import floor_decimal
from server.wallet import UserKeys
from tests.servers import ServerProcess
from tests.wsclient import WsClient, new_guest

async_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install playwright)"
)
Browser = async_api.Browser
BrowserContext = async_api.BrowserContext
Page = async_api.Page
expect = async_api.expect

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
STARTING_BALANCE = "1,000.00"
expect.set_options(timeout=10_000)


def play(minor: int) -> str:
    """PLAY minor units as the header shows them: 123456 -> "1,234.56"."""
    return f"{minor // 100:,}.{minor % 100:02d}"


@dataclass
class Site:
    """One browser context (one cookie jar, so its tabs are one user) on one server."""

    context: BrowserContext
    base_url: str
    errors: list[str] = field(default_factory=list)
    expected_errors: re.Pattern[str] | None = None
    """Console errors that a test provokes on purpose (a server going away)."""

    async def open(self, route: str = "", viewport: dict[str, int] = DESKTOP) -> Page:
        page = await self.context.new_page()
        await page.set_viewport_size(viewport)
        page.on("console", lambda message: self._console(message.type, message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        await page.goto(f"{self.base_url}/#/{route}")
        await expect(page.locator("#connection")).to_have_attribute("data-status", "live")
        return page

    def _console(self, kind: str, text: str) -> None:
        if kind != "error":
            return
        if self.expected_errors is not None and self.expected_errors.search(text):
            return
        self.errors.append(text)

    async def balance(self, page: Page) -> int:
        """The PLAY balance the server holds for this context's user."""
        response = await page.request.get(f"{self.base_url}/api/wallet")
        balance: int = (await response.json())["balances"]["PLAY"]
        return balance


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        await chromium.close()


@asynccontextmanager
async def site_on(browser: Browser, server: ServerProcess) -> AsyncIterator[Site]:
    """A fresh context on `server`; no page of it may log an error."""
    context = await browser.new_context(viewport=DESKTOP)
    site = Site(context, server.base_url)
    yield site
    await context.close()
    assert site.errors == [], "the pages logged errors"


@pytest.fixture
async def site(browser: Browser, server: ServerProcess) -> AsyncIterator[Site]:
    async with site_on(browser, server) as value:
        yield value


@pytest.fixture(scope="module")
async def own_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    """A server of its own (embedded Redis, short Crash rounds and Quiz questions) that a
    test may restart."""
    process = ServerProcess(
        tmp_path_factory.mktemp("browser-logs"),
        REDIS_URL=None,
        CROUPIER_DATA_DIR=str(tmp_path_factory.mktemp("browser-data")),
        CROUPIER_CRASH_BETTING_MS="2500",
        CROUPIER_CRASH_CRASHED_MS="1000",
        CROUPIER_CRASH_CHAIN_LENGTH="10000",
        CROUPIER_QUIZ_TIME_LIMIT_MS="3000",
    )
    await process.start()
    yield process
    await process.stop()


@pytest.fixture
async def own_site(browser: Browser, own_server: ServerProcess) -> AsyncIterator[Site]:
    async with site_on(browser, own_server) as value:
        yield value


async def shoot(page: Page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")  # sticky bars belong at the top
    await page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled"
    )


async def sign_in_as_guest(page: Page) -> None:
    await page.locator("#account").get_by_role("button", name="Play as guest").click()
    await expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"^guest-"))
    await expect(page.get_by_test_id("balance")).to_have_text(STARTING_BALANCE)


async def bet_amount(page: Page, amount: str) -> None:
    await page.get_by_test_id("bet-amount").fill(amount)


def times(multiplier: object) -> str:
    """A multiplier as the client shows it: at least 2 decimals, no trailing zeros past them."""
    whole, _, fraction = str(multiplier).partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}\N{MULTIPLICATION SIGN}"


async def secret_game(site: Site, page: Page, redis: Redis, game: str) -> dict[str, Any]:
    """The server-side state of this user's game in progress (a test may peek; players may not)."""
    me = await (await page.request.get(f"{site.base_url}/api/me")).json()
    raw = await redis.hget(UserKeys(me["user"]["id"]).games, game)
    assert raw is not None, f"no {game} game in progress"
    state: dict[str, Any] = json.loads(raw)
    return state


async def mine_tiles(site: Site, page: Page, redis: Redis) -> list[int]:
    state = await secret_game(site, page, redis, "mines")
    count = state["params"]["mines"]
    drawn = floats(state["server_seed"], state["client_seed"], state["nonce"], count)
    return sorted(mine_positions(drawn, count))


async def test_guest_sign_in(site: Site) -> None:
    page = await site.open()
    await expect(page.get_by_role("heading", name="Provably fair games, live")).to_be_visible()
    await shoot(page, "lobby-signed-out")
    await sign_in_as_guest(page)
    await expect(page.get_by_role("heading", name=re.compile("^Welcome, guest-"))).to_be_visible()
    await shoot(page, "lobby")


async def test_newcomers_are_welcomed_and_returning_players_welcomed_back(site: Site) -> None:
    page = await site.open()
    welcome = page.locator(".hero h1")
    await sign_in_as_guest(page)
    guest = await page.get_by_test_id("user-name").text_content()
    await expect(welcome).to_have_text(f"Welcome, {guest}")  # just created
    await page.reload()  # the session comes back with the page
    await expect(welcome).to_have_text(f"Welcome back, {guest}")
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_role("button", name="Log out anyway").click()  # a guest is warned first

    name, password = f"player_{secrets.token_hex(4)}", "correct horse battery"
    dialog = page.get_by_role("dialog")
    await page.get_by_role("button", name="Create account").click()
    await dialog.get_by_label("Username").fill(name)
    await dialog.get_by_label("Password").fill(password)
    await dialog.get_by_role("button", name="Register").click()
    await expect(welcome).to_have_text(f"Welcome, {name}")
    await page.get_by_role("button", name="Log out").click()
    await page.locator("#account").get_by_role("button", name="Sign in").click()
    await dialog.get_by_label("Username").fill(name)
    await dialog.get_by_label("Password").fill(password)
    await dialog.get_by_role("button", name="Sign in").click()
    await expect(welcome).to_have_text(f"Welcome back, {name}")


async def test_the_readme_screenshot_shows_every_game_of_the_lobby(site: Site) -> None:
    """The README describes its lobby screenshot by the games in it: a game added to the
    lobby fails this until the screenshot is taken again and its description updated."""
    page = await site.open()
    offered = set((await (await page.request.get(f"{site.base_url}/api/games")).json())["games"])
    if (await page.request.get(f"{site.base_url}/api/crash/history")).ok:
        offered.add("crash")
    cards = page.locator(".game-card-title")
    await expect(cards).to_have_count(len(offered))
    shown = await cards.evaluate_all("titles => titles.map((t) => t.firstChild.textContent)")
    readme = (ROOT / "README.md").read_text()
    described = re.search(r"!\[The Croupier lobby: (.+)\]\(docs/screenshot\.png\)", readme)
    assert described is not None, "the README shows no lobby screenshot"
    assert re.split(r", | and ", described[1]) == shown


async def test_a_dice_bet_updates_the_balance(site: Site) -> None:
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await bet_amount(page, "10")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    balance = await site.balance(page)
    assert balance in (100_000 - 1_000, 100_000 + 1_000)  # 49.50 % at 2.0000x
    await expect(page.get_by_test_id("balance")).to_have_text(play(balance))
    await page.get_by_role("tab", name="My bets").click()
    await expect(page.locator("#bets-table tbody tr")).to_have_count(1)
    await shoot(page, "dice")


async def test_a_bet_in_one_tab_updates_the_other(site: Site) -> None:
    limbo = await site.open("limbo")
    await sign_in_as_guest(limbo)
    keno = await site.open("keno")  # same context: same cookie, same user
    await expect(keno.get_by_test_id("balance")).to_have_text(STARTING_BALANCE)

    await limbo.bring_to_front()  # the player switches tabs: the other one is hidden now
    await bet_amount(limbo, "25")
    await limbo.get_by_test_id("bet-button").click()
    await expect(limbo.get_by_test_id("limbo-result")).to_have_class(re.compile(r"\b(win|loss)\b"))
    after_limbo = await site.balance(limbo)
    assert after_limbo != 100_000
    await expect(keno.get_by_test_id("balance")).to_have_text(play(after_limbo))

    await keno.bring_to_front()
    for square in ("3", "9", "14", "22", "31"):
        await keno.locator(".keno-grid").get_by_role("button", name=square, exact=True).click()
    await keno.get_by_test_id("keno-info").click()  # focus leaves the squares
    await keno.keyboard.press("Space")  # the bet hotkey
    await expect(keno.get_by_test_id("keno-info")).to_have_text(re.compile(r"hits? · "))
    await expect(limbo.get_by_test_id("balance")).to_have_text(play(await site.balance(keno)))
    await shoot(limbo, "limbo")
    await shoot(keno, "keno")


async def test_insufficient_funds_is_said_in_plain_words(site: Site) -> None:
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await bet_amount(page, "5000")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("bet-error")).to_have_text("Not enough balance")
    await expect(page.get_by_test_id("balance")).to_have_text(STARTING_BALANCE)
    await shoot(page, "dice-insufficient-funds")


async def test_every_page_renders_cleanly(site: Site) -> None:
    page = await site.open()
    await page.locator("#account").get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await shoot(page, "sign-in-dialog", full_page=False)
    await page.keyboard.press("Escape")
    await sign_in_as_guest(page)

    await page.get_by_role("link", name="Plinko").first.click()
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("plinko-result")).to_have_text(re.compile("Landed in slot"))
    await shoot(page, "plinko")

    await page.get_by_role("link", name="Wallet").first.click()
    rows = page.get_by_test_id("transactions").locator("tbody tr")
    await expect(rows).to_have_count(3)  # signup deposit, plinko bet, its win
    await page.get_by_label("Game", exact=True).select_option("plinko")
    await expect(rows).to_have_count(2)
    await shoot(page, "wallet")

    await page.get_by_role("link", name="Fairness").first.click()
    await expect(page.get_by_test_id("nonce")).to_have_text("1")
    await page.get_by_test_id("rotate").click()
    await expect(page.get_by_test_id("nonce")).to_have_text("0")
    await page.get_by_role("button", name="Verify a bet of this pair").click()
    game = page.get_by_label("Game", exact=True)
    await expect(game).to_have_value("plinko")  # filled in from the bet
    verdict = page.get_by_test_id("verdict")
    for name in ("dice", "limbo", "keno", "plinko", "mines", "hilo"):  # Web Crypto vs the server
        await game.select_option(name)
        await page.get_by_test_id("verify").click()
        await expect(verdict).to_have_text(re.compile("agree"))
        await expect(page.get_by_test_id("verify-output")).to_contain_text("Server seed hash")
    await shoot(page, "fairness")

    await page.get_by_role("link", name="Lobby", exact=True).click()
    await expect(page.locator("#bets-table tbody tr td.num").first).to_be_visible()  # live feed
    await expect(page.locator(".toast")).to_have_count(0)  # a clean picture for the README
    await shoot(page, "lobby-live")

    for route in ("", "dice", "keno"):
        phone = await site.open(route, viewport=PHONE)
        await shoot(phone, f"phone-{route or 'lobby'}")
        await phone.close()


async def test_money_is_parsed_and_formatted_exactly(site: Site) -> None:
    """The client's money module, run in the page: decimal strings, never floats."""
    page = await site.open()
    results = await page.evaluate(
        """async () => {
            const m = await import("/js/money.js");
            return [
                m.parseDecimal("0.29", 2).minor,
                m.parseDecimal("1,234.5", 2).minor,
                m.parseDecimal("90071992547.40991", 5).minor,
                m.parseDecimal("90071992547.40992", 5).error,
                m.parseDecimal("0.123", 2).error,
                m.parseDecimal("1e5", 2).error,
                m.parseDecimal("-1", 2).error,
                m.parseDecimal("1,5", 2).minor,
                m.parseDecimal("0,07", 2).minor,
                m.parseDecimal("1,5", 8).minor,
                m.parseDecimal("1,234,567", 2).minor,
                m.parseDecimal("1,234", 2).error,
                m.parseDecimal("1,234", 8).error,
                m.parseDecimal("1,23456", 2).error,
                m.parseDecimal("1,5,0", 2).error,
                m.parseDecimal("1.234,5", 2).error,
                m.parseDecimal("12,34.5", 2).error,
                m.parseDecimal("1,5", 0).error,
                m.formatAmount(123456789, 8),
                m.formatAmount(-5, 2, { sign: true }),
                m.applyMultiplier(101, "1.9802"),
                m.applyMultiplier(9007199254740991, "0.5"),
                m.formatMultiplier("2.0000"),
                m.formatMultiplier("0"),
            ];
        }"""
    )
    assert results == [
        29,
        123_450,
        2**53 - 1,
        "Too large",
        "At most 2 decimals",
        "Enter a number",
        "Enter a number",
        150,
        7,
        150_000_000,
        123_456_700,
        "Unclear: write 1234 or 1.234",
        "Unclear: write 1234 or 1.234",
        "At most 2 decimals",
        "Unclear separators: write it like 1234.56",
        "Unclear separators: write it like 1234.56",
        "Unclear separators: write it like 1234.56",
        "Whole units only",
        "1.23456789",
        "-0.05",
        200,
        2**52 - 1,
        "2.00",
        "0.00",
    ]


async def bet_amounts(site: Site, page: Page) -> list[int]:
    """The amounts of this user's settled bets as the server recorded them, newest first."""
    bets = await (await page.request.get(f"{site.base_url}/api/bets")).json()
    return [bet["amount"] for bet in bets["items"]]


async def test_a_decimal_comma_bets_what_the_player_meant(site: Site) -> None:
    """`1,5` is one and a half, not fifteen: the server takes a bet of 150 minor units."""
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await bet_amount(page, "1,5")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    assert await bet_amounts(site, page) == [150]
    await expect(page.get_by_test_id("bet-amount")).to_have_value("1.50")


async def test_an_ambiguous_amount_is_refused_and_nothing_is_sent(site: Site) -> None:
    page = await site.open("dice")
    await sign_in_as_guest(page)
    button, field = page.get_by_test_id("bet-button"), page.get_by_test_id("bet-amount")
    message = page.locator("#bet-amount-error")
    for text, why in (
        ("1,5,0", "Unclear separators: write it like 1234.56"),
        ("1.234,5", "Unclear separators: write it like 1234.56"),
        ("1,000", "Unclear: write 1000 or 1.000"),
    ):
        await bet_amount(page, text)
        await button.click()
        await expect(message).to_have_text(why)
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).to_have_value(text)  # left as typed, for the player to fix
    await bet_amount(page, "2")  # the socket keeps order: a refused bet sent would settle first
    await button.click()
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    await expect(message).to_be_empty()
    assert await bet_amounts(site, page) == [200]


async def crash_page_signed_in(own_site: Site, own_server: ServerProcess) -> Page:
    """The Crash page of a new guest (the test is skipped if the server runs no Crash)."""
    async with httpx.AsyncClient() as client:
        offered = await client.get(f"{own_server.base_url}/api/crash/history")
    if offered.status_code != 200:
        pytest.skip("this server does not run Crash")
    page = await own_site.open("crash")
    await sign_in_as_guest(page)
    return page


async def test_a_crash_round_is_seen_and_cashed_out(own_site: Site, own_server: ServerProcess):
    page = await crash_page_signed_in(own_site, own_server)
    button = page.get_by_test_id("bet-button")
    await bet_amount(page, "10")
    lost = 0  # the stakes of rounds that crashed before a cashout
    for _ in range(4):  # a round may crash before the cashout click: play another
        # While betting is open this bets; otherwise (or if it turns out too late) the
        # bet waits for the next round's betting phase.
        await expect(button).to_have_text(re.compile("^(Place bet|Bet on next round)$"))
        await button.click()
        # A bet for the next round waits out the current one, however long it flies.
        await expect(button).to_have_text("Bet placed — good luck", timeout=120_000)
        try:
            await expect(button).to_have_attribute("data-kind", "cashout", timeout=30_000)
        except AssertionError:
            lost += 1_000  # the round crashed at 1.00x: there was never a cashout to press
            continue
        await shoot(page, "crash")
        await button.click()
        outcome = page.get_by_test_id("crash-outcome")
        await expect(outcome).to_have_text(re.compile(r"^(Cashed out at|Busted at)"))
        if (await outcome.text_content() or "").startswith("Cashed out at"):
            break
        lost += 1_000
    else:
        pytest.fail("four rounds crashed before a cashout")
    balance = await own_site.balance(page)
    assert balance >= 100_000 - lost  # a cashout pays at least 1.00x
    await expect(page.get_by_test_id("balance")).to_have_text(play(balance))
    players = page.get_by_test_id("crash-players")
    await expect(players.locator("tr.player-cashed.me")).to_have_count(1)
    await shoot(page, "crash-cashed-out")


async def test_the_client_reconnects_after_a_server_restart(
    own_site: Site, own_server: ServerProcess
) -> None:
    own_site.expected_errors = re.compile(r"WebSocket connection to .* failed")
    page = await own_site.open("dice")
    await sign_in_as_guest(page)
    connection = page.locator("#connection")
    await own_server.stop()
    await expect(connection).to_have_attribute("data-status", "reconnecting")
    await bet_amount(page, "1")
    button = page.get_by_test_id("bet-button")
    await button.click()  # offline: the bet waits, its button disabled, until the socket is back
    await expect(button).to_be_disabled()
    notice = page.get_by_test_id("bet-notice")
    waiting = "Reconnecting — your bet goes out once the connection is back"
    await expect(notice).to_have_text(waiting)  # at once, not when the bet finally settles
    await shoot(page, "reconnecting", full_page=False)
    await own_server.start()
    await expect(connection).to_have_attribute("data-status", "live", timeout=15_000)
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    await expect(button).to_be_enabled()
    await expect(notice).to_be_empty()
    await expect(page.get_by_test_id("balance")).to_have_text(play(await own_site.balance(page)))
    history = await page.request.get(f"{own_server.base_url}/api/transactions")
    types = [entry["type"] for entry in (await history.json())["items"]]
    assert types in (["bet", "deposit"], ["win", "bet", "deposit"]), "one bet, placed once"


async def test_mines_start_reveal_and_cash_out(site: Site, redis: Redis) -> None:
    page = await site.open("mines")
    await sign_in_as_guest(page)
    await bet_amount(page, "10")
    await page.locator("#mines-count").select_option("3")
    button = page.get_by_test_id("bet-button")
    await button.click()
    await expect(button).to_have_text("Cash out")
    await expect(button).to_be_disabled()  # nothing to cash out before the first gem
    await expect(page.get_by_test_id("mines-info")).to_have_text(  # but the first tile's odds
        f"3 mines hidden · first tile {times(payout_multiplier(3, 1))} · 88.00%"
    )
    await expect(page.get_by_test_id("balance")).to_have_text(play(100_000 - 1_000))
    mines = await mine_tiles(site, page, redis)
    safe = [tile for tile in range(TILES) if tile not in mines]
    tiles = page.get_by_test_id("mines-tile")
    await tiles.nth(safe[0]).click()
    await expect(tiles.nth(safe[0])).to_have_class(re.compile(r"\bgem\b"))
    shown, following = page.get_by_test_id("mines-multiplier"), page.get_by_test_id("mines-next")
    await expect(shown).to_have_text(times(payout_multiplier(3, 1)))
    # the next tile: its multiplier and its chance (21 gems among the 24 hidden tiles)
    await expect(following).to_have_text(f"{times(payout_multiplier(3, 2))} · 87.50%")
    await tiles.nth(safe[1]).focus()  # tiles are buttons: the keyboard reveals them too
    await page.keyboard.press("Enter")
    multiplier = payout_multiplier(3, 2)  # 1.2857
    await expect(shown).to_have_text(times(multiplier))
    await expect(button).to_have_text("Cash out 12.85")
    await button.click()
    await expect(page.get_by_test_id("mines-outcome")).to_have_text(
        f"Cashed out at {times(multiplier)} — profit +2.85 PLAY"
    )
    await expect(page.locator(".tile.mine")).to_have_count(3)  # the whole board, once over
    await expect(page.locator(".tile.gem")).to_have_count(TILES - 3)
    for tile in mines:
        await expect(tiles.nth(tile)).to_have_class(re.compile(r"\bmine\b"))
    balance = await site.balance(page)
    assert balance == 100_000 - 1_000 + 1_285
    await expect(page.get_by_test_id("balance")).to_have_text(play(balance))
    await expect(button).to_have_text("Bet")
    await page.get_by_role("tab", name="My bets").click()
    rows = page.locator("#bets-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Mines")
    await expect(rows.first).to_contain_text(times(multiplier))
    await page.wait_for_timeout(400)  # the board's last tiles settle
    await shoot(page, "mines")


async def test_a_mines_game_resumes_and_follows_other_tabs(site: Site, redis: Redis) -> None:
    page = await site.open("mines")
    await sign_in_as_guest(page)
    await page.locator("#mines-count").select_option("5")
    button = page.get_by_test_id("bet-button")
    await button.click()
    await expect(button).to_have_text("Cash out")
    mines = await mine_tiles(site, page, redis)
    safe = [tile for tile in range(TILES) if tile not in mines]
    await page.get_by_test_id("mines-tile").nth(safe[0]).click()
    await expect(page.locator(".tile.gem")).to_have_count(1)

    other = await site.open("mines")  # a second tab picks the game up (mines.active)
    await expect(other.locator(".tile.gem")).to_have_count(1)
    await expect(other.locator("#mines-count")).to_have_value("5")
    await page.bring_to_front()
    await page.get_by_test_id("mines-tile").nth(safe[1]).click()
    gem = re.compile(r"\bgem\b")
    await expect(other.get_by_test_id("mines-tile").nth(safe[1])).to_have_class(gem)  # game.state

    await page.reload()  # the open game comes back with the page
    await expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    await expect(page.locator(".tile.gem")).to_have_count(2)
    for tile in safe[:2]:
        await expect(page.get_by_test_id("mines-tile").nth(tile)).to_have_class(gem)
    multiplier = payout_multiplier(5, 2)
    await expect(page.get_by_test_id("mines-multiplier")).to_have_text(times(multiplier))
    await expect(button).to_have_text(re.compile(r"^Cash out \d"))
    phone = await site.open("mines", viewport=PHONE)
    await expect(phone.locator(".tile.gem")).to_have_count(2)
    await shoot(phone, "phone-mines")
    await phone.close()

    await other.bring_to_front()
    await other.get_by_test_id("mines-tile").nth(mines[0]).click()  # boom, in the other tab
    await page.bring_to_front()
    await expect(page.get_by_test_id("mines-outcome")).to_have_text("You hit a mine — bet lost")
    await expect(page.locator(".tile.mine")).to_have_count(5)
    hit = page.get_by_test_id("mines-tile").nth(mines[0])
    await expect(hit).to_have_class(re.compile(r"\bhit\b"))
    await expect(page.get_by_test_id("balance")).to_have_text(play(await site.balance(page)))
    await page.wait_for_timeout(400)
    await shoot(page, "mines-lost")


async def test_hilo_one_guess_then_cash_out_or_lose(site: Site) -> None:
    page = await site.open("hilo")
    await sign_in_as_guest(page)
    await bet_amount(page, "10")
    button = page.get_by_test_id("bet-button")
    await button.click()
    await expect(button).to_have_text("Cash out")
    await expect(button).to_be_disabled()  # a right guess comes first
    card = page.get_by_test_id("hilo-card").locator(".playing-card")
    first = await card.get_attribute("data-card")
    assert first is not None
    rank = RANKS.index(first[1:])
    guess = Guess.HIGHER_OR_SAME if rank <= 6 else Guess.LOWER_OR_SAME  # the likelier one
    chance = win_probability(guess, rank) * 10_000
    hundredths = chance.numerator // chance.denominator
    step = floor_decimal(step_multiplier(guess, rank), 4)
    choice = page.get_by_test_id(f"hilo-{guess.value}")
    await expect(choice).to_contain_text(f"{hundredths // 100}.{hundredths % 100:02d}%")
    await expect(choice).to_contain_text(times(step))
    await choice.click()
    history = page.get_by_test_id("hilo-history").locator(".playing-card")
    await expect(history).to_have_count(2)
    drawn = await history.nth(1).get_attribute("data-card")
    assert drawn is not None
    after = RANKS.index(drawn[1:])
    outcome = page.get_by_test_id("hilo-outcome")
    if (after >= rank) if guess is Guess.HIGHER_OR_SAME else (after <= rank):
        await expect(button).to_be_enabled()
        await button.click()
        payout = 1_000 * step // 1
        await expect(outcome).to_have_text(re.compile(rf"^Cashed out at {re.escape(times(step))} "))
        expected = 100_000 - 1_000 + int(payout)
    else:
        await expect(outcome).to_have_text(re.compile(r"^Wrong guess on the .* — bet lost$"))
        expected = 100_000 - 1_000
    assert await site.balance(page) == expected
    await expect(page.get_by_test_id("balance")).to_have_text(play(expected))
    await expect(button).to_have_text("Bet")
    await shoot(page, "hilo")

    await button.click()  # a new game, seen on a phone
    await expect(button).to_have_text("Cash out")
    phone = await site.open("hilo", viewport=PHONE)
    await expect(phone.get_by_test_id("hilo-history").locator(".playing-card")).to_have_count(1)
    await shoot(phone, "phone-hilo")
    await phone.close()


async def test_quiz_a_right_answer_then_cash_out(site: Site, redis: Redis) -> None:
    page = await site.open("quiz")
    await sign_in_as_guest(page)
    await bet_amount(page, "10")
    button = page.get_by_test_id("bet-button")
    await button.click()
    await expect(page.get_by_test_id("quiz-number")).to_have_text("Question 1 of 10")
    await expect(button).to_be_disabled()  # no cashout before a right answer
    record = (await secret_game(site, page, redis, "quiz"))["record"]
    right = record["plan"][record["streak"]]["order"].index(0)
    answer = page.get_by_test_id("quiz-answer").nth(right)
    await answer.click()
    await expect(answer).to_have_class(re.compile(r"\bright\b"))  # the reveal
    await expect(page.get_by_test_id("quiz-streak")).to_have_text("Streak 1/10")
    await expect(page.get_by_test_id("quiz-number")).to_have_text("Question 2 of 10")
    await expect(page.get_by_test_id("quiz-multiplier")).to_have_text(times("1.9"))
    await expect(page.get_by_test_id("quiz-next")).to_have_text(times("3.8"))
    await page.mouse.move(0, 0)  # no hover on the answers in the picture
    await shoot(page, "quiz-question")
    phone = await site.open("quiz", viewport=PHONE)
    await expect(phone.get_by_test_id("quiz-number")).to_have_text("Question 2 of 10")
    await shoot(phone, "phone-quiz")
    await phone.close()

    await page.bring_to_front()
    await expect(button).to_have_text("Cash out 19.00")
    await button.click()
    await expect(page.get_by_test_id("quiz-outcome")).to_have_text(
        f"Cashed out at {times('1.9')} — profit +9.00 PLAY"
    )
    balance = await site.balance(page)
    assert balance == 100_000 - 1_000 + 1_900
    await expect(page.get_by_test_id("balance")).to_have_text(play(balance))
    await page.get_by_role("tab", name="My bets").click()
    await expect(page.locator("#bets-table tbody tr").first).to_contain_text("Quiz")
    await shoot(page, "quiz")


async def test_the_fairness_page_checks_a_played_quiz_on_the_server(
    site: Site, redis: Redis
) -> None:
    page = await site.open("quiz")
    await sign_in_as_guest(page)
    await bet_amount(page, "1")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("quiz-number")).to_have_text("Question 1 of 10")
    shown = await page.get_by_test_id("quiz-answer").locator(".answer-text").all_text_contents()
    record = (await secret_game(site, page, redis, "quiz"))["record"]
    right = record["plan"][0]["order"].index(0)
    await page.get_by_test_id("quiz-answer").nth((right + 1) % 4).click()  # a wrong answer
    await expect(page.get_by_test_id("quiz-outcome")).to_have_text("Wrong answer — bet lost")

    await page.get_by_role("link", name="Fairness").first.click()
    await page.get_by_test_id("rotate").click()
    await page.get_by_role("button", name="Verify a bet of this pair").click()
    await expect(page.get_by_label("Game", exact=True)).to_have_value("quiz")  # from the bet
    await expect(page.get_by_test_id("server-only")).to_have_text(
        "Quiz is checked by the server only: the question bank lives there."
    )
    await page.get_by_test_id("verify").click()
    await expect(page.get_by_test_id("verdict")).to_have_text(
        "Checked by the server only: the question bank lives there"
    )
    questions = page.get_by_test_id("verify-output").locator(".quiz-verified > li")
    await expect(questions).to_have_count(10)
    first = questions.first.locator("li")
    await expect(first).to_contain_text(shown)  # the answers as the player saw them, in order
    await expect(first.nth(right)).to_have_class(re.compile(r"\bright\b"))
    await expect(page.locator(".quiz-verified li.right")).to_have_count(10)
    await shoot(page, "fairness-quiz")


async def test_a_quiz_question_runs_out_of_time(own_site: Site) -> None:
    page = await own_site.open("quiz")
    await sign_in_as_guest(page)
    await bet_amount(page, "10")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("quiz-number")).to_have_text("Question 1 of 10")
    seconds = float((await page.locator(".quiz-seconds").text_content() or "").split()[0])
    assert 1.5 < seconds <= 3.0  # counting down the server's 3 s
    outcome = page.get_by_test_id("quiz-outcome")
    await expect(outcome).to_have_text("Time's up — bet lost", timeout=8_000)
    await expect(page.locator(".answer.right")).to_have_count(1)  # the right answer, revealed
    for answer in await page.get_by_test_id("quiz-answer").all():
        await expect(answer).to_have_attribute("aria-disabled", "true")
    assert await own_site.balance(page) == 100_000 - 1_000
    await expect(page.get_by_test_id("bet-button")).to_have_text("Bet")
    await shoot(page, "quiz-timeout")


async def test_the_odds_shown_are_the_games_odds(site: Site) -> None:
    """The Mines and HiLo multipliers the pages show, computed in the page, against the games."""
    page = await site.open()
    shown = await page.evaluate(
        """async () => {
            const odds = await import("/js/games/odds.js");
            const mines = [];
            for (let m = 1; m <= 24; m += 1) {
                for (let k = 0; k <= 25 - m; k += 1) mines.push(odds.minesMultiplier(m, k));
            }
            const hilo = [];
            for (const guess of ["higher_or_same", "lower_or_same"]) {
                for (let rank = 0; rank < 13; rank += 1) {
                    hilo.push([odds.hiloChance(guess, rank), odds.hiloStepMultiplier(guess, rank)]);
                }
            }
            return { mines, hilo };
        }"""
    )
    assert shown["mines"] == [
        str(payout_multiplier(m, k)) for m in range(1, 25) for k in range(TILES - m + 1)
    ]
    expected_hilo = []
    for guess in (Guess.HIGHER_OR_SAME, Guess.LOWER_OR_SAME):
        for rank in range(len(RANKS)):
            chance = win_probability(guess, rank) * 10_000
            hundredths = chance.numerator // chance.denominator
            step = floor_decimal(step_multiplier(guess, rank), 4)
            expected_hilo.append([f"{hundredths // 100}.{hundredths % 100:02d}", str(step)])
    assert shown["hilo"] == expected_hilo


PHONES = {
    "portrait": {"width": 390, "height": 844},
    "small": {"width": 360, "height": 740},
    "landscape": {"width": 844, "height": 390},
}
MAIN_BUTTONS = {  # each page's main button, found by test id or by a selector
    "": ".hero .btn-primary",
    "crash": "bet-button",
    "dice": "bet-button",
    "limbo": "bet-button",
    "plinko": "bet-button",
    "keno": "bet-button",
    "mines": "bet-button",
    "hilo": "bet-button",
    "quiz": "bet-button",
    "wallet": "faucet",
    "fairness": "rotate",
    "limits": "limit-save",
}
FIT = """(button) => {
    const root = document.documentElement;
    const inside = (rect, top, bottom) => rect.left >= 0 && rect.right <= innerWidth + 0.5
        && rect.top >= top - 0.5 && rect.bottom <= bottom + 0.5;
    const bar = document.querySelector(".tabbar")?.getBoundingClientRect();
    const top = document.querySelector(".topbar").getBoundingClientRect().bottom;
    const bottom = bar && bar.height ? bar.top : innerHeight;
    const header = [...document.querySelectorAll(".topbar > :not([hidden])")];
    return {
        width: root.scrollWidth,
        button: inside(button.getBoundingClientRect(), top, bottom),
        header: header.every((el) => inside(el.getBoundingClientRect(), 0, innerHeight)),
        tabbar: Boolean(bar && bar.height && bar.bottom <= innerHeight + 0.5),
    };
}"""


async def fit_problems(page: Page, where: str, button: str) -> list[str]:
    """What does not fit a phone on this page: sideways scroll, the main button below the
    fold (or under a bar), the header spilling out, no bottom navigation bar."""
    located = page.locator(button) if button.startswith(".") else page.get_by_test_id(button)
    await expect(located).to_be_visible()
    fit = await located.evaluate(FIT)
    width = page.viewport_size["width"] if page.viewport_size else 0
    problems = [f"{where}: document {fit['width']} px wide"] if fit["width"] > width else []
    for part, words in (("button", "main button"), ("header", "header"), ("tabbar", "bottom bar")):
        if not fit[part]:
            problems.append(f"{where}: {words} not inside the viewport")
    return problems


async def test_every_page_fits_a_phone(own_site: Site) -> None:
    """Portrait (two sizes) and landscape: no sideways scroll, the main button and the whole
    header in view, a bottom navigation bar; signed out, then signed in on every page."""
    page = await own_site.open("", viewport=PHONES["small"])
    problems = await fit_problems(page, "small signed out", MAIN_BUTTONS[""])
    await shoot(page, "phone-small-signed-out", full_page=False)
    await sign_in_as_guest(page)
    await expect(page.locator(".toast")).to_have_count(0)  # the welcome, gone from the pictures
    for size, viewport in PHONES.items():
        await page.set_viewport_size(viewport)
        for route, button in MAIN_BUTTONS.items():
            await page.evaluate("(route) => { location.hash = `#/${route}`; }", route)
            problems += await fit_problems(page, f"{size} {route or 'lobby'}", button)
            await shoot(page, f"phone-{size}-{route or 'lobby'}", full_page=False)
    assert problems == [], "\n".join(problems)

    await page.set_viewport_size(PHONES["portrait"])
    bar, sheet = page.locator(".tabbar"), page.locator(".sidebar")
    await expect(sheet).to_be_hidden()  # the games are a sheet the bottom bar opens
    await bar.get_by_role("button", name="Games").click()
    await expect(sheet).to_be_visible()
    await shoot(page, "phone-portrait-games-sheet", full_page=False)
    await page.locator("#view").click(position={"x": 10, "y": 10})  # a tap beside it closes it
    await expect(sheet).to_be_hidden()
    await bar.get_by_role("button", name="Games").click()
    await sheet.get_by_role("link", name="Mines").click()
    await expect(sheet).to_be_hidden()
    await expect(page.get_by_test_id("mines-tile")).to_have_count(TILES)
    await expect(bar.get_by_role("button", name="Games")).to_have_attribute("aria-current", "page")


async def test_a_bet_opens_its_record_and_its_verify_button_fills_the_fairness_page(
    site: Site,
) -> None:
    page = await site.open("dice")
    await sign_in_as_guest(page)
    await bet_amount(page, "2")
    await page.get_by_test_id("bet-button").click()
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    record = (await (await page.request.get(f"{site.base_url}/api/bets")).json())["items"][0]
    profit = record["payout"] - record["amount"]
    await page.get_by_role("tab", name="My bets").click()
    rows = page.locator("#bets-table tbody tr")
    await expect(rows).to_have_count(1)
    signed = f"+{play(profit)}" if profit > 0 else f"-{play(-profit)}"
    await expect(rows.first).to_contain_text(signed)  # the profit, signed, not the payout
    await rows.first.get_by_role("button", name="Dice").click()
    details = page.get_by_test_id("bet-details")
    await expect(details).to_be_visible()
    await expect(details.get_by_test_id("bet-amount")).to_have_text(re.compile(r"^2\.00"))
    await expect(details.get_by_test_id("bet-multiplier")).to_have_text(times(record["multiplier"]))
    payout = re.escape(play(record["payout"]))
    await expect(details.get_by_test_id("bet-payout")).to_have_text(re.compile(f"^{payout}"))
    await expect(details.get_by_test_id("bet-seed-hash")).to_have_text(record["server_seed_hash"])
    await expect(details.get_by_test_id("bet-client-seed")).to_have_text(record["client_seed"])
    await expect(details.get_by_test_id("bet-nonce")).to_have_text("0")
    await expect(details.get_by_test_id("bet-server-seed")).to_have_text(
        "Hidden until you rotate your seed pair"
    )
    await page.keyboard.press("Escape")
    await expect(details).to_have_count(0)

    await page.get_by_role("link", name="Fairness").first.click()
    await page.get_by_test_id("rotate").click()
    await expect(page.get_by_test_id("nonce")).to_have_text("0")
    revealed = (await (await page.request.get(f"{site.base_url}/api/bets")).json())["items"][0]
    assert revealed["server_seed"] is not None
    await page.get_by_role("link", name="Dice").first.click()
    await page.get_by_role("tab", name="My bets").click()
    await page.locator("#bets-table tbody tr").first.locator("td.num").first.click()  # any cell
    await expect(details.get_by_test_id("bet-server-seed")).to_have_text(revealed["server_seed"])
    await shoot(page, "bet-details", full_page=False)
    await details.get_by_test_id("bet-verify").click()
    await expect(page.get_by_label("Game", exact=True)).to_have_value("dice")
    await expect(page.get_by_test_id("verify-server-seed")).to_have_value(revealed["server_seed"])
    await expect(page.get_by_test_id("verify-client-seed")).to_have_value(record["client_seed"])
    await expect(page.get_by_test_id("verify-nonce")).to_have_value("0")
    await page.get_by_test_id("verify").click()
    await expect(page.get_by_test_id("verdict")).to_have_text(re.compile("agree"))


async def test_another_players_bet_from_the_live_feed_verifies_on_the_fairness_page(
    site: Site, server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, other = await new_guest(http, server.base_url)
    player = await WsClient.open(server.ws_url, token)
    params = {"target": "2.00"}
    await player.request(
        "bet", game="limbo", amount=100, currency="PLAY", key=secrets.token_hex(8), params=params
    )
    await player.request("seeds.rotate")  # reveals the seed of that bet
    await player.close()
    auth = {"authorization": f"Bearer {token}"}
    [record] = (await http.get(f"{server.base_url}/api/bets", headers=auth)).json()["items"]
    assert record["server_seed"] is not None

    page = await site.open("", viewport=PHONE)  # signed out: the feed is public
    await page.get_by_role("tab", name="All bets").click()
    feed = page.locator("#bets-table tbody tr").filter(has_text=other["name"])
    await expect(feed.first).to_be_visible()
    await feed.first.get_by_role("button", name="Limbo").click()
    shown = page.get_by_test_id("bet-details")
    await expect(shown.get_by_test_id("bet-player")).to_have_text(other["name"])
    await expect(shown.get_by_test_id("bet-seed-hash")).to_have_text(record["server_seed_hash"])
    await expect(shown.get_by_test_id("bet-server-seed")).to_have_text(record["server_seed"])
    await shoot(page, "phone-bet-details-live", full_page=False)
    await shown.get_by_test_id("bet-verify").click()
    await expect(page.get_by_label("Game", exact=True)).to_have_value("limbo")
    await expect(page.get_by_test_id("verify-server-seed")).to_have_value(record["server_seed"])
    await expect(page.get_by_test_id("verify-nonce")).to_have_value(str(record["nonce"]))
    await page.get_by_test_id("verify").click()
    await expect(page.get_by_test_id("verdict")).to_have_text(re.compile("agree"))


async def test_a_limbo_target_or_crash_auto_cashout_above_the_maximum_is_refused_in_the_form(
    own_site: Site,
) -> None:
    page = await own_site.open("limbo")
    await sign_in_as_guest(page)
    target = page.get_by_test_id("limbo-target")
    await target.fill("2000000")
    await target.press("Tab")
    await page.get_by_test_id("bet-button").click()
    await expect(page.locator("#limbo-target-error")).to_have_text(
        "The target is at most 1,000,000.00\N{MULTIPLICATION SIGN}"
    )
    await expect(target).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_test_id("bet-error")).to_be_empty()  # no raw server text
    await target.fill("3")
    await target.press("Tab")
    await expect(page.locator("#limbo-target-error")).to_be_empty()

    await page.get_by_role("link", name="Crash").first.click()
    auto = page.get_by_test_id("crash-auto")
    await auto.fill("1000000.01")
    await page.get_by_test_id("bet-button").click()
    await expect(page.locator("#crash-auto-error")).to_have_text(
        "Auto cashout is at most 1,000,000.00\N{MULTIPLICATION SIGN}"
    )
    await expect(page.get_by_test_id("bet-error")).to_be_empty()
    await expect(page.get_by_test_id("bet-button")).not_to_have_text(re.compile("placed|Cancel"))
    assert await bet_amounts(own_site, page) == []  # nothing was sent


async def test_an_automatic_crash_cashout_is_announced_like_a_manual_one(
    own_site: Site, own_server: ServerProcess
) -> None:
    page = await crash_page_signed_in(own_site, own_server)
    await bet_amount(page, "10")
    await page.get_by_test_id("crash-auto").fill("1.01")
    button, outcome = page.get_by_test_id("bet-button"), page.get_by_test_id("crash-outcome")
    settled = outcome.filter(has_text=re.compile(r"^(Cashed out at|Busted at)"))
    betting_again = button.filter(has_text=re.compile("^Place bet$"))
    for _ in range(4):  # a round may crash at 1.00x, or start before the bet is in: play another
        await expect(button).to_have_text(re.compile("^(Place bet|Bet on next round)$"))
        await button.click()
        # A bet for the next round waits out the current one, which may fly past 10x (tens
        # of seconds): the timeouts allow for a long round.
        await expect(outcome).to_be_empty(timeout=120_000)  # the bet is in: the last words go
        await expect(settled.or_(betting_again)).to_be_visible(timeout=120_000)
        if (await outcome.text_content() or "").startswith("Cashed out at"):
            break
    else:
        pytest.fail("four rounds without an automatic cashout")
    await expect(outcome).to_have_text(f"Cashed out at {times('1.01')} — profit +0.10 PLAY")
    await expect(outcome).to_have_class(re.compile(r"\bwin\b"))
    await expect(page.get_by_test_id("balance")).to_have_text(play(await own_site.balance(page)))


async def test_a_keno_result_below_one_times_is_not_shown_as_a_win(site: Site) -> None:
    """Classic Keno with 4 picks pays 0.8x for one hit: less than the stake back, so no win
    colour (one hit comes in 43 % of the draws: a few bets find one)."""
    page = await site.open("keno")
    await sign_in_as_guest(page)
    await bet_amount(page, "1")
    for square in ("5", "12", "27", "38"):
        await page.locator(".keno-grid").get_by_role("button", name=square, exact=True).click()
    info, newest = page.get_by_test_id("keno-info"), page.locator(".results-strip li").first
    button = page.get_by_test_id("bet-button")
    for _ in range(15):
        await button.click()
        await expect(button).to_be_enabled()  # settled
        bets = await (await page.request.get(f"{site.base_url}/api/bets")).json()
        if bets["items"][0]["multiplier"] == "0.8":
            break
    else:
        pytest.fail("fifteen draws without exactly one hit")
    await expect(info).to_have_text(f"1 hit · {times('0.8')}")
    await expect(newest).to_have_text(times("0.8"))
    await expect(newest).not_to_have_class(re.compile(r"\bwin\b"))
