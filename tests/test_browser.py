"""The browser client in a real Chromium (Debian's), driven by Playwright, against real servers.

Every page opened here records console errors and uncaught exceptions; a test
fails if any appear. Screenshots of each page go to artifacts/screenshots/.
"""

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.servers import ServerProcess

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

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
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
    """A server of its own (embedded Redis, short Crash rounds) that a test may restart."""
    process = ServerProcess(
        tmp_path_factory.mktemp("browser-logs"),
        REDIS_URL=None,
        CROUPIER_DATA_DIR=str(tmp_path_factory.mktemp("browser-data")),
        CROUPIER_CRASH_BETTING_MS="2500",
        CROUPIER_CRASH_CRASHED_MS="1000",
        CROUPIER_CRASH_CHAIN_LENGTH="10000",
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
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def sign_in_as_guest(page: Page) -> None:
    await page.locator("#account").get_by_role("button", name="Play as guest").click()
    await expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"^guest-"))
    await expect(page.get_by_test_id("balance")).to_have_text(STARTING_BALANCE)


async def bet_amount(page: Page, amount: str) -> None:
    await page.get_by_test_id("bet-amount").fill(amount)


async def test_guest_sign_in(site: Site) -> None:
    page = await site.open()
    await expect(page.get_by_role("heading", name="Provably fair games, live")).to_be_visible()
    await shoot(page, "lobby-signed-out")
    await sign_in_as_guest(page)
    await expect(page.get_by_role("heading", name=re.compile("^Welcome back"))).to_be_visible()
    await shoot(page, "lobby")


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
    for name in ("dice", "limbo", "keno", "plinko"):  # Web Crypto in the page vs the server
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
        "1.23456789",
        "-0.05",
        200,
        2**52 - 1,
        "2.00",
        "0.00",
    ]


async def test_a_crash_round_is_seen_and_cashed_out(own_site: Site, own_server: ServerProcess):
    async with httpx.AsyncClient() as client:
        offered = await client.get(f"{own_server.base_url}/api/crash/history")
    if offered.status_code != 200:
        pytest.skip("this server does not run Crash")
    page = await own_site.open("crash")
    await sign_in_as_guest(page)
    button = page.get_by_test_id("bet-button")
    await bet_amount(page, "10")
    for _ in range(4):  # a round may crash before the cashout click: play another
        # While betting is open this bets; otherwise (or if it turns out too late) the
        # bet waits for the next round's betting phase.
        await expect(button).to_have_text(re.compile("^(Place bet|Bet on next round)$"))
        await button.click()
        await expect(button).to_have_text("Bet placed — good luck", timeout=30_000)
        await expect(button).to_have_attribute("data-kind", "cashout")
        await shoot(page, "crash")
        await button.click()
        outcome = page.get_by_test_id("crash-outcome")
        await expect(outcome).to_have_text(re.compile(r"^(Cashed out at|Busted at)"))
        if (await outcome.text_content() or "").startswith("Cashed out at"):
            break
    else:
        pytest.fail("four rounds crashed before a cashout")
    balance = await own_site.balance(page)
    assert balance > 100_000 - 1_000
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
    await shoot(page, "reconnecting", full_page=False)
    await own_server.start()
    await expect(connection).to_have_attribute("data-status", "live", timeout=15_000)
    await expect(page.get_by_test_id("dice-roll")).to_be_visible()
    await expect(button).to_be_enabled()
    await expect(page.get_by_test_id("balance")).to_have_text(play(await own_site.balance(page)))
    history = await page.request.get(f"{own_server.base_url}/api/transactions")
    types = [entry["type"] for entry in (await history.json())["items"]]
    assert types in (["bet", "deposit"], ["win", "bet", "deposit"]), "one bet, placed once"
