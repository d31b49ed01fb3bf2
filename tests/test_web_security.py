"""Cross-site requests and framing against a real server, and the site under its CSP."""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import ServerProcess
from tests.wsclient import new_guest

STATIC = Path(__file__).resolve().parent.parent / "static"
EVIL = "https://evil.example"

ATTACKS = {
    "foreign Origin": ({"Origin": EVIL, "Content-Type": "application/json"}, 403, "FORBIDDEN"),
    "null Origin": ({"Origin": "null", "Content-Type": "application/json"}, 403, "FORBIDDEN"),
    "foreign Referer": (
        {"Referer": f"{EVIL}/page", "Content-Type": "application/json"},
        403,
        "FORBIDDEN",
    ),
    "text/plain": ({"Content-Type": "text/plain"}, 400, "BAD_REQUEST"),
    "form": ({"Content-Type": "application/x-www-form-urlencoded"}, 400, "BAD_REQUEST"),
    "foreign text/plain": ({"Origin": EVIL, "Content-Type": "text/plain"}, 403, "FORBIDDEN"),
}


@pytest.fixture
async def victim(
    server: ServerProcess, http: httpx.AsyncClient
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser of a signed-in guest: a client holding only the session cookie."""
    token, _ = await new_guest(http, server.base_url)
    async with httpx.AsyncClient(
        base_url=server.base_url, cookies={"croupier_session": token}, timeout=30
    ) as browser:
        yield browser, token


async def play_money(browser: httpx.AsyncClient) -> int:
    response = await browser.get("/api/wallet")
    assert response.status_code == 200
    balance: int = response.json()["balances"]["PLAY"]
    return balance


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_forged_cookie_requests_change_nothing(
    victim: tuple[httpx.AsyncClient, str], attack: str
) -> None:
    browser, _ = victim
    headers, status, code = ATTACKS[attack]
    body = b'{"client_seed": "chosen-by-evil"}' if "json" in headers["Content-Type"] else b"x=1"
    seeds = (await browser.get("/api/fairness/seeds")).json()
    for path in ("/api/wallet/faucet", "/api/fairness/rotate", "/api/auth/logout"):
        response = await browser.post(path, content=body, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"]["code"] == code
        assert "set-cookie" not in response.headers
    assert await play_money(browser) == 100_000  # no faucet
    assert (await browser.get("/api/fairness/seeds")).json() == seeds  # no rotation
    assert (await browser.get("/api/me")).status_code == 200  # still signed in


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_forged_logins_open_no_session(
    server: ServerProcess, http: httpx.AsyncClient, attack: str
) -> None:
    headers, status, code = ATTACKS[attack]
    credentials = b'{"username": "someone", "password": "long enough"}'
    for path in ("/api/auth/login", "/api/auth/register", "/api/auth/guest"):
        response = await http.post(f"{server.base_url}{path}", content=credentials, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"]["code"] == code
        assert "set-cookie" not in response.headers


async def test_the_sites_own_requests_work(
    server: ServerProcess, victim: tuple[httpx.AsyncClient, str]
) -> None:
    """As static/js/http.js sends them: same Origin, JSON bodies, bodyless POSTs untyped."""
    browser, _ = victim
    own = {"Origin": server.base_url}
    faucet = await browser.post("/api/wallet/faucet", headers=own)
    assert faucet.status_code == 200 and faucet.json()["balance"] == 200_000
    rotate = await browser.post("/api/fairness/rotate", json={"client_seed": "mine"}, headers=own)
    assert rotate.status_code == 200, rotate.text
    referer = {"Referer": f"{server.base_url}/#/wallet", "Content-Type": "application/json"}
    assert (await browser.post("/api/fairness/rotate", content=b"{}", headers=referer)).is_success
    assert (await browser.post("/api/auth/logout", headers=own)).status_code == 200
    assert (await browser.get("/api/me")).status_code == 401


async def test_scripts_with_a_bearer_token_need_no_origin(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as script:
        assert (await script.post("/api/wallet/faucet", headers=bearer)).status_code == 200
        typed = {**bearer, "Content-Type": "application/json; charset=utf-8"}
        response = await script.post("/api/fairness/rotate", content=b"{}", headers=typed)
        assert response.status_code == 200
        untyped = await script.post("/api/fairness/rotate", content=b"{}", headers=bearer)
        assert untyped.status_code == 400  # a body is JSON, and says so


async def test_listed_origins_are_allowed(redis_url: str, log_dir: Path) -> None:
    app = "https://app.example"
    server = await ServerProcess(
        log_dir, REDIS_URL=redis_url, CROUPIER_ALLOWED_ORIGINS=f'["{app}"]'
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            for origin, status in ((app, 200), (server.base_url, 200), (EVIL, 403)):
                response = await client.post("/api/auth/guest", headers={"Origin": origin})
                assert response.status_code == status, origin
    finally:
        await server.stop()


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    policy = headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [
        ("GET", "/", {}),
        ("GET", "/js/main.js", {}),
        ("GET", "/css/app.css", {}),
        ("GET", "/api/me", {}),
        ("GET", "/api/games", {}),
        ("GET", "/no/such/page", {}),
        ("POST", "/api/wallet/faucet", {"headers": {"Origin": EVIL}}),
        ("GET", "/healthz", {}),
    ],
)
async def test_every_response_forbids_framing_and_sets_a_csp(
    server: ServerProcess, http: httpx.AsyncClient, method: str, path: str, options: Any
) -> None:
    response = await http.request(method, f"{server.base_url}{path}", **options)
    assert_security_headers(response)


async def test_the_csp_lets_the_site_talk_to_its_own_websocket(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    policy = (await http.get(f"{server.base_url}/")).headers["content-security-policy"]
    connect = next(part for part in policy.split(";") if part.strip().startswith("connect-src"))
    host = f"127.0.0.1:{server.port}"
    assert connect.split()[1:] == ["'self'", f"ws://{host}", f"wss://{host}"]
    img = next(part for part in policy.split(";") if part.strip().startswith("img-src"))
    assert "data:" in img.split()  # the favicon of index.html is a data: URL


def test_the_site_has_nothing_inline_that_the_csp_would_block() -> None:
    html = (STATIC / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # inline event handlers
    for path in STATIC.rglob("*.js"):
        code = path.read_text()
        for blocked in ("eval(", "new Function", 'setAttribute("style"', "javascript:"):
            assert blocked not in code, (path, blocked)
    for path in STATIC.rglob("*.css"):
        assert not re.search(r"url\((?!['\"]?data:)", path.read_text()), path  # all local
