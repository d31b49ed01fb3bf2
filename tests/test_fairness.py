"""The Stake-compatible float generator, exact payouts, and package-wide rules for games/."""

import ast
import hashlib
import hmac
from decimal import Decimal
from pathlib import Path

from games.base import payout
from games.fairness import floats, hash_server_seed, round_digest
from games.instant import INSTANT_GAMES

# Stake's published verification example.
SERVER_SEED = "c5e7146c5863d7d647c93ffe7d4ec13fffbb7311108fab0c067d97bcc2b32d55"
CLIENT_SEED = "LuckyClientSeed777"
NONCE = 2

GAMES_DIR = Path(__file__).resolve().parents[1] / "games"
IO_MODULES = {
    "asyncio",
    "redis",
    "socket",
    "selectors",
    "ssl",
    "http",
    "urllib",
    "starlette",
    "uvicorn",
    "websockets",
    "server",
}


def _floats_by_hand(digest: bytes) -> list[float]:
    """Stake's formula: b0/256 + b1/256**2 + b2/256**3 + b3/256**4 per 4 bytes."""
    return [
        sum(byte / 256 ** (i + 1) for i, byte in enumerate(digest[offset : offset + 4]))
        for offset in range(0, 32, 4)
    ]


def test_round_zero_digest_matches_stake() -> None:
    digest = round_digest(SERVER_SEED, CLIENT_SEED, NONCE, 0)
    assert digest.hex().startswith("895acab6088f1bdf")


def test_first_float_matches_stake() -> None:
    assert floats(SERVER_SEED, CLIENT_SEED, NONCE, 1) == [0.5365416235290468]


def test_floats_nine_to_sixteen_come_from_round_one() -> None:
    message = f"{CLIENT_SEED}:{NONCE}:1".encode()
    digest = hmac.new(SERVER_SEED.encode(), message, hashlib.sha256).digest()
    assert floats(SERVER_SEED, CLIENT_SEED, NONCE, 16)[8:] == _floats_by_hand(digest)


def test_first_eight_floats_come_from_round_zero() -> None:
    message = f"{CLIENT_SEED}:{NONCE}:0".encode()
    digest = hmac.new(SERVER_SEED.encode(), message, hashlib.sha256).digest()
    assert floats(SERVER_SEED, CLIENT_SEED, NONCE, 8) == _floats_by_hand(digest)


def test_server_seed_commitment_is_sha256_hex() -> None:
    expected = hashlib.sha256(SERVER_SEED.encode()).hexdigest()
    assert hash_server_seed(SERVER_SEED) == expected


def test_payout_is_exact_floor_at_large_amounts() -> None:
    amount = 2**53 - 1
    assert payout(amount, Decimal("1.0001")) == amount * 10001 // 10000
    assert payout(amount, Decimal("9900.0000")) == amount * 9900
    assert payout(amount, Decimal("0.2")) == amount // 5


def test_payout_rounds_down_and_pays_nothing_on_a_loss() -> None:
    assert payout(7, Decimal("0.2")) == 1
    assert payout(99, Decimal("1.0101")) == 99
    assert payout(10**6, Decimal(0)) == 0


def _imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_games_package_imports_no_io() -> None:
    sources = sorted(GAMES_DIR.glob("*.py"))
    assert sources
    for path in sources:
        forbidden = _imported_roots(path.read_text()) & IO_MODULES
        assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_instant_registry_names_its_games() -> None:
    assert set(INSTANT_GAMES) == {"dice", "limbo", "plinko", "keno"}
    for name, game in INSTANT_GAMES.items():
        assert game.name == name
