"""The Limits page and the reality check in a real Chromium against a real server."""

import re

from tests.servers import ADMIN_TOKEN, ServerProcess
from tests.test_admin_browser import open_office, sign_in
from tests.test_browser import (
    DESKTOP,
    PHONE,
    Browser,
    Page,
    Site,
    browser,
    expect,
    pytestmark,
    shoot,
    sign_in_as_guest,
    site,
    site_on,
)
from tests.test_browser_tools import start_autobet

__all__ = ["browser", "pytestmark", "site"]  # fixtures and marks shared with test_browser

SMALL_PHONE = {"width": 360, "height": 740}
WIDTH = "() => document.documentElement.scrollWidth"


async def set_limit(page: Page, kind: str, period: str, amount: str) -> None:
    await page.locator("#limit-kind").select_option(kind)
    await page.locator("#limit-period").select_option(period)
    await page.locator("#limit-currency").select_option("PLAY")
    await page.locator("#limit-amount").fill(amount)
    await page.get_by_test_id("limit-save").click()


async def test_a_limit_set_on_the_page_refuses_a_bet_with_its_message(
    browser: Browser, site: Site, server: ServerProcess
) -> None:
    page = await site.open("limits")
    await sign_in_as_guest(page)
    await expect(page.get_by_test_id("no-limits")).to_be_visible()
    await set_limit(page, "loss", "day", "5")
    row = page.locator('tr[data-limit="PLAY:loss:day"]')
    await expect(row).to_contain_text("5.00 PLAY")
    await expect(row).to_contain_text("Daily loss")
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone"), (SMALL_PHONE, "small-phone")):
        await page.set_viewport_size(viewport)
        await expect(row).to_be_visible()
        assert await page.evaluate(WIDTH) <= viewport["width"], f"sideways scroll on {name}"
        await shoot(page, f"limits-{name}")

    await page.goto(f"{site.base_url}/#/dice")
    await page.set_viewport_size(DESKTOP)
    await page.get_by_test_id("bet-amount").fill("6")
    await page.get_by_test_id("bet-button").click()
    error = page.get_by_test_id("bet-error")
    await expect(error).to_have_text(
        re.compile(r"^This bet would break your loss limit — it resets .+")
    )
    await shoot(page, "limits-refused-bet")
    await page.goto(f"{site.base_url}/#/limits")
    await set_limit(page, "loss", "day", "50")
    await expect(row.locator(".limits-pending")).to_contain_text("Becomes 50.00 PLAY")
    await expect(page.locator("table").last).to_contain_text("Daily loss · PLAY")

    user = (await (await page.request.get(f"{site.base_url}/api/me")).json())["user"]
    async with site_on(browser, server) as office:
        admin = await open_office(office)
        await sign_in(admin, ADMIN_TOKEN)
        await admin.get_by_label("User id, username or guest name").fill(user["id"])
        await admin.get_by_role("button", name="Find").click()
        limits = admin.locator('[data-section="limits"]')
        shown = limits.locator('tr[data-limit="PLAY:loss:day"]')
        await expect(shown).to_contain_text("5.00 PLAY")
        await expect(shown).to_contain_text("50.00 PLAY at")
        await expect(limits.locator("button, input, select")).to_have_count(0)
        await shoot(admin, "admin-user-limits")


async def test_the_reality_check_shows_the_session_and_stop_goes_to_the_lobby(
    site: Site,
) -> None:
    page = await site.context.new_page()
    await page.clock.install()
    await page.set_viewport_size(PHONE)
    await page.goto(f"{site.base_url}/#/limits")
    await expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    await sign_in_as_guest(page)
    await page.locator("#limits-reality").select_option("15")
    await page.get_by_test_id("reality-save").click()
    await expect(page.locator("#limits-reality")).to_have_value("15")
    await page.goto(f"{site.base_url}/#/dice")
    await start_autobet(page, "0.01")
    await expect(page.get_by_test_id("bet-button")).to_have_text("Stop autobet")
    await page.clock.fast_forward("15:00")
    dialog = page.get_by_test_id("reality-check")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("You have played for 15 minutes")
    await expect(page.get_by_test_id("reality-result")).to_contain_text(
        re.compile(r"Net result of this session: [+\u2212-]?[\d.,]+ PLAY")
    )
    await shoot(page, "reality-check", full_page=False)
    await page.get_by_test_id("reality-stop").click()
    await expect(dialog).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"#/$"))
    # The autobet ended with its page: no bet follows the one in flight (bets are 150 ms apart).
    await page.wait_for_timeout(500)
    version = await wallet_version(site, page)
    await page.wait_for_timeout(1_500)
    assert await wallet_version(site, page) == version
    assert version >= 3, "the autobet had bet"


async def wallet_version(site: Site, page: Page) -> int:
    response = await page.request.get(f"{site.base_url}/api/wallet")
    version: int = (await response.json())["version"]
    return version
