"""The back office in a real Chromium against a real server: sign in, find a user, adjust
the balance and see it in the user's open tab and in both ledgers, the action log, and
the report charts drawn from real bets (see test_browser.py for the harness)."""

import asyncio
import json
import re
import secrets
from pathlib import Path

import httpx

from tests.servers import ADMIN_TOKEN, ServerProcess
from tests.test_browser import (
    Browser,
    Page,
    Site,
    browser,
    expect,
    shoot,
    sign_in_as_guest,
    site,
    site_on,
)
from tests.test_loadtest import run_module
from tests.wsclient import WsClient

__all__ = ["browser", "site"]  # fixtures used here

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}


async def bet_a_few(server: ServerProcess, token: str, settled: int) -> None:
    """Five dice bets of the player, then wait until PostgreSQL holds at least `settled`
    bets of the last minute."""
    tab = await WsClient.open(server.ws_url, token)
    try:
        for _ in range(5):
            await tab.request(
                "bet", game="dice", amount=100, currency="PLAY", key=secrets.token_hex(8),
                params={"target": "50.50", "condition": "over"},
            )  # fmt: skip
    finally:
        await tab.close()
    async with httpx.AsyncClient(timeout=30) as http, asyncio.timeout(20):
        while True:
            live = await http.get(f"{server.base_url}/api/admin/live", headers=ADMIN)
            if live.json()["last_minute"]["bets"] >= settled:
                return
            await asyncio.sleep(0.1)


async def open_office(office: Site) -> Page:
    page = await office.context.new_page()
    expected = re.compile(r"status of 403")  # the wrong token this test tries first

    def console(kind: str, text: str) -> None:
        if kind == "error" and not expected.search(text):
            office.errors.append(text)

    page.on("console", lambda message: console(message.type, message.text))
    page.on("pageerror", lambda error: office.errors.append(f"uncaught: {error}"))
    await page.goto(f"{office.base_url}/admin")
    return page


async def sign_in(page: Page, token: str) -> None:
    form = page.locator("#sign-in")
    await form.get_by_role("tab", name="Admin token").click()
    await form.get_by_label("Your name").fill("Ada Ops")
    await form.get_by_label("Admin token").fill(token)
    await form.get_by_role("button", name="Sign in").click()


async def test_an_admin_adjusts_a_balance_the_players_tab_sees_it(
    browser: Browser, site: Site, server: ServerProcess
) -> None:
    player = await site.open()
    await sign_in_as_guest(player)
    user = (await (await player.request.get(f"{site.base_url}/api/me")).json())["user"]
    cookies = {cookie["name"]: cookie["value"] for cookie in await site.context.cookies()}
    # The reports draw what a load-test run bet, and the player's own few bets.
    status, out, err = await run_module(
        "loadtest", server.base_url, "-u", "5", "-d", "2", "--mix", "dice,limbo",
        "--progress", "0", "-w", "1",
    )  # fmt: skip
    assert status == 0, err
    found = re.search(r"bets: ([\d,]+) settled", out)
    assert found is not None, out
    settled = int(found[1].replace(",", ""))
    await bet_a_few(server, cookies["croupier_session"], settled + 5)
    balance = await site.balance(player)

    async with site_on(browser, server) as office:
        page = await open_office(office)
        await sign_in(page, "not-the-token")
        await expect(page.locator("#sign-in-error")).to_have_text("Wrong admin token")
        await expect(page.locator("#office")).to_be_hidden()
        await sign_in(page, ADMIN_TOKEN)
        await expect(page.locator("#admin-who .user-chip")).to_have_text("Signed in as Ada Ops")

        # The report charts and edges, from the bets just made (and any before).
        await expect(
            page.locator('#profit [data-currency="PLAY"] svg.chart rect').first
        ).to_be_visible()
        dice = page.locator('#profit tr[data-game="dice"][data-currency="PLAY"]')
        await expect(dice.locator(".theoretical")).to_have_text("1.00%")
        await expect(dice.locator(".realised")).to_have_text(re.compile(r"^-?\d+\.\d\d%$"))
        limbo = page.locator('#profit tr[data-game="limbo"][data-currency="PLAY"]')
        await expect(limbo.locator(".theoretical")).to_have_text("1.00%")  # the load test's
        await page.get_by_role("tab", name="Per day (30 d)").click()
        await expect(
            page.locator('#profit [data-currency="PLAY"] svg.chart rect').first
        ).to_be_visible()
        await expect(page.locator('[data-live="players"] dd')).not_to_have_text("0")

        # Find the user, credit 12.34 PLAY with a reason.
        await page.get_by_label("User id, username or guest name").fill(user["id"])
        await page.get_by_role("button", name="Find").click()
        await expect(page.locator('[data-field="name"] dd')).to_have_text(user["name"])
        figure = page.locator('[data-balance="PLAY"] dd')
        await expect(figure).to_have_text(f"{balance // 100:,}.{balance % 100:02d} PLAY")
        adjust = page.locator("#adjust")
        await adjust.get_by_label("Amount").fill("12.34")
        await adjust.get_by_label("Reason").fill("goodwill for a slow round")
        await adjust.get_by_role("button", name="Apply").click()
        after = balance + 1_234
        shown = f"{after // 100:,}.{after % 100:02d}"
        await expect(figure).to_have_text(f"{shown} PLAY")
        entry = page.locator("#user tbody tr").first
        await expect(entry).to_contain_text("adjust")
        await expect(entry).to_contain_text("+12.34 PLAY")
        await expect(entry).to_contain_text("goodwill for a slow round")
        logged = page.locator("#log tbody tr").first
        await expect(logged).to_contain_text("Ada Ops")
        await expect(logged).to_contain_text("credit")
        await expect(logged).to_contain_text("goodwill for a slow round")
        await shoot(page, "admin-desktop")

    # The player's open tab got the new balance without a reload, and its ledger has it.
    await expect(player.get_by_test_id("balance")).to_have_text(shown)
    await player.goto(f"{site.base_url}/#/wallet")
    await expect(player.locator(".badge-adjust").first).to_be_visible()


async def test_an_admin_account_signs_in_with_its_password_and_signs_out(
    browser: Browser, server: ServerProcess, redis_url: str, log_dir: Path
) -> None:
    """The role goes with an account id in CROUPIER_ADMIN_USERS; signing out ends the
    session on the server, and another account is told it is not an admin."""
    accounts = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        for _ in range(2):
            name = f"boss_{secrets.token_hex(4)}"
            body = {"username": name, "password": "long enough"}
            accounts.append((await http.post("/api/auth/register", json=body)).json()["user"])
    boss, other = accounts
    admins = json.dumps([boss["id"]])
    process = await ServerProcess(log_dir, REDIS_URL=redis_url, CROUPIER_ADMIN_USERS=admins).start()
    try:
        async with site_on(browser, process) as office:
            page = await open_office(office)
            form = page.locator("#sign-in")
            await expect(form.get_by_label("Admin token")).to_be_hidden()
            await form.get_by_label("Username").fill(other["name"])
            await form.get_by_label("Password").fill("long enough")
            await form.get_by_role("button", name="Sign in").click()
            await expect(page.locator("#sign-in-error")).to_have_text(
                "This account is not an admin"
            )
            await form.get_by_label("Username").fill(boss["name"])
            await form.get_by_label("Password").fill("long enough")
            await form.get_by_role("button", name="Sign in").click()
            chip = page.locator("#admin-who .user-chip")
            await expect(chip).to_have_text(f"Signed in as {boss['name']}")
            await expect(page.locator("#office")).to_be_visible()
            sessions = await office.context.request.get(
                f"{process.base_url}/api/admin/users", params={"q": boss["id"]}
            )
            assert sessions.status == 403, "the session is never a cookie of the back office"
            await page.get_by_role("button", name="Sign out").click()
            await expect(page.locator("#sign-in")).to_be_visible()
        async with httpx.AsyncClient(base_url=process.base_url, timeout=30) as http:
            signed_in = await http.post(
                "/api/auth/login", json={"username": boss["name"], "password": "long enough"}
            )
            headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            # Left: the session of the registration and this one; the back office's ended.
            async with asyncio.timeout(10):
                while True:
                    found = await http.get(
                        "/api/admin/users", params={"q": boss["id"]}, headers=headers
                    )
                    if len(found.json()["sessions"]) == 2:
                        break
                    await asyncio.sleep(0.2)
    finally:
        await process.stop()
