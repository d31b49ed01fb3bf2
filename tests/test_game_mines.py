"""Mines: mine placement, exact multipliers and RTP, the game state machine."""

import hashlib
import hmac
import json
from decimal import Decimal
from fractions import Fraction
from math import floor, prod

import pytest
from pydantic import ValidationError

from games.fairness import floats
from games.mines import TILES, MinesGame, Reveal, mine_positions, multiplier, payout_multiplier
from games.states import GameNotActiveError, GameState, InvalidActionError

SERVER_SEED = "b7e6e0c1b1a2f3d4c5b6a7980123456789abcdef0123456789abcdef01234567"
CLIENT_SEED = "lucky-client"


def stake_floats(server_seed: str, client_seed: str, nonce: int, count: int) -> list[Fraction]:
    """Floats recomputed from the HMAC bytes, as exact fractions."""
    out: list[Fraction] = []
    cursor = 0
    while len(out) < count:
        message = f"{client_seed}:{nonce}:{cursor}".encode()
        digest = hmac.new(server_seed.encode(), message, hashlib.sha256).digest()
        for i in range(0, 32, 4):
            b = digest[i : i + 4]
            out.append(
                sum((Fraction(byte, 256 ** (j + 1)) for j, byte in enumerate(b)), Fraction(0))
            )
        cursor += 1
    return out[:count]


def stake_shuffle(server_seed: str, client_seed: str, nonce: int) -> list[int]:
    """Stake's full shuffle: 24 floats order the 25 tiles; the first `mines` are mines."""
    tiles = list(range(25))
    order = []
    for i, value in enumerate(stake_floats(server_seed, client_seed, nonce, 24)):
        order.append(tiles.pop(floor(value * (25 - i))))
    return order + tiles


def new_game(mine_count: int, nonce: int = 0) -> MinesGame:
    return MinesGame(SERVER_SEED, CLIENT_SEED, nonce, mine_count)


def safe_tiles(game: MinesGame) -> list[int]:
    return [tile for tile in range(TILES) if tile not in game.mines]


@pytest.mark.parametrize("nonce", range(5))
@pytest.mark.parametrize("mine_count", [1, 3, 5, 12, 24])
def test_mines_match_stakes_shuffle(nonce: int, mine_count: int) -> None:
    expected = stake_shuffle(SERVER_SEED, CLIENT_SEED, nonce)[:mine_count]
    drawn = floats(SERVER_SEED, CLIENT_SEED, nonce, mine_count)
    assert mine_positions(drawn, mine_count) == expected
    assert new_game(mine_count, nonce).mines == frozenset(expected)


def test_mines_pinned_vector() -> None:
    # Regression pin, computed with stake_shuffle() above.
    assert stake_shuffle(SERVER_SEED, CLIENT_SEED, 0)[:5] == [15, 12, 7, 17, 4]
    assert mine_positions(floats(SERVER_SEED, CLIENT_SEED, 0, 5), 5) == [15, 12, 7, 17, 4]


def test_mine_positions_validation() -> None:
    for bad in (0, 25):
        with pytest.raises(ValueError, match="mine count"):
            mine_positions([0.5] * 25, bad)
        with pytest.raises(ValueError, match="mine count"):
            new_game(bad)
    with pytest.raises(ValueError, match="floats"):
        mine_positions([0.5, 0.5], 3)
    assert mine_positions([0.999999] * 24, 24) == list(range(24, 0, -1))


def test_multiplier_values() -> None:
    assert multiplier(1, 1) == Fraction(99, 100) * Fraction(25, 24)
    assert payout_multiplier(1, 1) == Decimal("1.0312")
    assert payout_multiplier(3, 1) == Decimal("1.1250")
    assert payout_multiplier(24, 1) == Decimal("24.7500")
    assert payout_multiplier(1, 24) == Decimal("24.7500")
    assert payout_multiplier(12, 13) == Decimal("5148297.0000")
    assert multiplier(5, 0) == Fraction(99, 100)
    with pytest.raises(ValueError, match="impossible"):
        multiplier(5, 21)


def test_exact_rtp_of_every_strategy() -> None:
    """EV of 'reveal k safe tiles then cash out' for every mine count and k."""
    rounded: list[Fraction] = []
    for mines in range(1, 25):
        for k in range(1, 26 - mines):
            survive = prod(Fraction(25 - mines - i, 25 - i) for i in range(k))
            assert survive * multiplier(mines, k) == Fraction(99, 100)
            ev = survive * Fraction(payout_multiplier(mines, k))
            rounded.append(ev)
    assert len(rounded) == sum(25 - m for m in range(1, 25))
    # Band: the 4-decimal floor costs < 0.0001 x P(survive) < 0.0001 (measured min 0.98992).
    assert Fraction(9899, 10000) < min(rounded)
    assert max(rounded) <= Fraction(99, 100)
    assert Fraction(98, 100) <= min(rounded)


def test_reveal_safe_then_cashout() -> None:
    game = new_game(3)
    first, second = safe_tiles(game)[:2]
    assert game.reveal(first) is Reveal.SAFE
    assert game.reveal(second) is Reveal.SAFE
    assert game.multiplier == multiplier(3, 2)
    assert game.cashout() == payout_multiplier(3, 2)
    assert game.state is GameState.CASHED
    with pytest.raises(GameNotActiveError):
        game.reveal(safe_tiles(game)[2])
    with pytest.raises(GameNotActiveError):
        game.cashout()


def test_reveal_mine_loses() -> None:
    game = new_game(3)
    game.reveal(safe_tiles(game)[0])
    mine = min(game.mines)
    assert game.reveal(mine) is Reveal.MINE
    assert game.state is GameState.LOST
    assert game.hit_mine == mine
    assert game.payout_multiplier == 0
    with pytest.raises(GameNotActiveError):
        game.cashout()
    with pytest.raises(GameNotActiveError):
        game.reveal(safe_tiles(game)[1])


def test_invalid_reveals_and_early_cashout() -> None:
    game = new_game(5)
    with pytest.raises(InvalidActionError, match="nothing"):
        game.cashout()
    for tile in (-1, 25):
        with pytest.raises(InvalidActionError, match="tile must be"):
            game.reveal(tile)
    tile = safe_tiles(game)[0]
    game.reveal(tile)
    with pytest.raises(InvalidActionError, match="already"):
        game.reveal(tile)
    assert game.state is GameState.ACTIVE
    assert game.revealed == [tile]


def test_last_safe_tile_cashes_out() -> None:
    game = new_game(24)
    (only,) = safe_tiles(game)
    assert game.reveal(only) is Reveal.SAFE
    assert game.state is GameState.CASHED
    assert game.payout_multiplier == Decimal("24.7500")
    with pytest.raises(GameNotActiveError):
        game.cashout()


def test_view_hides_mines_until_the_end() -> None:
    game = new_game(4)
    game.reveal(safe_tiles(game)[0])
    view = game.view()
    assert view["mines"] is None
    assert view["multiplier"] == str(payout_multiplier(4, 1))
    assert SERVER_SEED not in json.dumps(view)
    game.cashout()
    assert game.view()["mines"] == sorted(game.mines)


def round_trip(game: MinesGame) -> MinesGame:
    return MinesGame.from_dict(json.loads(json.dumps(game.to_dict())))


def test_serialization_round_trip() -> None:
    active = new_game(6, nonce=3)
    for tile in safe_tiles(active)[:4]:
        active.reveal(tile)
    lost = new_game(6, nonce=3)
    lost.reveal(safe_tiles(lost)[0])
    lost.reveal(max(lost.mines))
    cashed = new_game(6, nonce=3)
    cashed.reveal(safe_tiles(cashed)[5])
    cashed.cashout()
    auto = new_game(24, nonce=1)
    auto.reveal(safe_tiles(auto)[0])
    for game in (active, lost, cashed, auto):
        copy = round_trip(game)
        assert copy.to_dict() == game.to_dict()
        assert (copy.state, copy.revealed, copy.hit_mine) == (
            game.state,
            game.revealed,
            game.hit_mine,
        )
        assert copy.payout_multiplier == game.payout_multiplier
    follow = round_trip(active)
    follow.reveal(safe_tiles(follow)[4])
    assert follow.multiplier == multiplier(6, 5)


def test_corrupt_records_are_refused() -> None:
    game = new_game(6)
    game.reveal(safe_tiles(game)[0])
    record = game.to_dict()
    with pytest.raises(ValueError, match="record says lost"):
        MinesGame.from_dict({**record, "state": "lost"})
    with pytest.raises(ValidationError):
        MinesGame.from_dict({**record, "mines": [1, 2, 3]})
    with pytest.raises(ValidationError):
        MinesGame.from_dict({**record, "mine_count": 25})
    with pytest.raises(InvalidActionError):
        MinesGame.from_dict({**record, "reveals": [*record["reveals"], 99]})
