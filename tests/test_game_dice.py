"""Dice: Stake's roll formula, exact multipliers and RTP, strict params."""

import math
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from games.dice import Dice, DiceParams
from games.fairness import floats

SERVER_SEED = "c5e7146c5863d7d647c93ffe7d4ec13fffbb7311108fab0c067d97bcc2b32d55"
CLIENT_SEED = "LuckyClientSeed777"
ROLLS = 10001
# RTP = chance_x100 / 10001 x floor4(99 / chance): at most 0.99 x 10000/10001, and
# rounding the multiplier down costs less than 0.0001 x chance / 100 <= 0.000098.
RTP_BAND = (Fraction(9897, 10000), Fraction(9900, 10001))

GAME = Dice()


def _params(target: Any, condition: str) -> DiceParams:
    return DiceParams.model_validate({"target": target, "condition": condition})


def _multiplier_by_hand(chance: Decimal) -> Decimal:
    return (Decimal(99) / chance).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)


def test_stake_vector_roll() -> None:
    # floor(0.5365416235290468 x 10001) = 5365, computed from the HMAC by hand.
    outcome = GAME.play(_params("50.00", "over"), [0.5365416235290468])
    assert outcome.details == {"roll": "53.65"}
    assert outcome.multiplier == Decimal("1.9800")


@pytest.mark.parametrize("nonce", range(200))
def test_rolls_follow_the_published_formula(nonce: int) -> None:
    params = _params("49.50", "under")
    bet_floats = floats(SERVER_SEED, CLIENT_SEED, nonce, GAME.floats_needed(params))
    roll = Decimal(math.floor(bet_floats[0] * ROLLS)) / 100
    won = roll < Decimal("49.50")
    expected = _multiplier_by_hand(Decimal("49.50")) if won else Decimal(0)
    outcome = GAME.play(params, bet_floats)
    assert outcome.details["roll"] == f"{roll:.2f}"
    assert outcome.multiplier == expected


@pytest.mark.parametrize(
    ("target", "condition", "winning_rolls"),
    [("50", "over", (5001, 10000)), ("50", "under", (0, 4999)), ("99.99", "over", (10000, 10000))],
)
def test_win_boundaries(target: str, condition: str, winning_rolls: tuple[int, int]) -> None:
    params = _params(target, condition)
    first, last = winning_rolls
    for roll in range(ROLLS):
        won = GAME.play(params, [(roll + 0.5) / ROLLS]).multiplier > 0
        assert won == (first <= roll <= last), roll


def test_roll_extremes_are_reachable() -> None:
    params = _params("50", "over")
    assert GAME.play(params, [0.0]).details["roll"] == "0.00"
    assert GAME.play(params, [(2**32 - 1) / 2**32]).details["roll"] == "100.00"


@pytest.mark.parametrize(
    ("target", "condition", "multiplier"),
    [
        ("50", "under", "1.9800"),
        ("0.01", "under", "9900.0000"),
        ("98", "under", "1.0102"),
        ("2", "over", "1.0102"),
        ("33.33", "under", "2.9702"),
        ("66.67", "over", "2.9702"),
    ],
)
def test_multiplier_is_rounded_down_to_four_decimals(
    target: str, condition: str, multiplier: str
) -> None:
    params = _params(target, condition)
    assert GAME.max_multiplier(params) == Decimal(multiplier)
    assert str(GAME.max_multiplier(params)) == multiplier


def test_rtp_is_exact_over_every_target() -> None:
    for target_x100 in range(1, 10000):
        target = Decimal(target_x100) / 100
        for condition, chance in (("under", target), ("over", 100 - target)):
            if not Decimal("0.01") <= chance <= 98:
                continue
            winning_rolls = target_x100 if condition == "under" else 10000 - target_x100
            expected = Fraction(winning_rolls, ROLLS) * Fraction(_multiplier_by_hand(chance))
            assert GAME.rtp(_params(target, condition)) == expected
            assert RTP_BAND[0] <= expected <= RTP_BAND[1]


@pytest.mark.parametrize(("target", "condition"), [("0.01", "under"), ("97.31", "over")])
def test_rtp_matches_enumerating_every_roll(target: str, condition: str) -> None:
    params = _params(target, condition)
    total = sum(Fraction(GAME.play(params, [(r + 0.5) / ROLLS]).multiplier) for r in range(ROLLS))
    assert GAME.rtp(params) == total / ROLLS


@pytest.mark.parametrize("target", [50.5, "50.50", "50.5", Decimal("50.50"), 50])
def test_target_accepts_numbers_and_decimal_strings(target: Any) -> None:
    expected = Decimal(str(target)).quantize(Decimal("0.01"))
    assert _params(target, "over").target == expected


def test_params_parse_from_json() -> None:
    params = DiceParams.model_validate_json('{"target": 50.5, "condition": "over"}')
    assert params.target == Decimal("50.50")
    assert params.model_dump(mode="json") == {"target": "50.50", "condition": "over"}


@pytest.mark.parametrize(
    "raw",
    [
        {"target": "1.99", "condition": "over"},  # chance 98.01
        {"target": "98.01", "condition": "under"},  # chance 98.01
        {"target": "0", "condition": "under"},  # chance 0
        {"target": "100", "condition": "over"},  # chance 0
        {"target": "150", "condition": "under"},
        {"target": "50.555", "condition": "over"},
        {"target": 0.1 + 0.2, "condition": "under"},
        {"target": "-5", "condition": "over"},
        {"target": "5e1", "condition": "over"},
        {"target": "nan", "condition": "over"},
        {"target": True, "condition": "over"},
        {"target": None, "condition": "over"},
        {"target": [50], "condition": "over"},
        {"target": "50", "condition": "above"},
        {"target": "50", "condition": 1},
        {"target": "50"},
        {"target": "50", "condition": "over", "edge": 0},
    ],
)
def test_bad_params_are_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DiceParams.model_validate(raw)


def test_play_needs_exactly_one_float_in_range() -> None:
    params = _params("50", "over")
    for bad in ([], [0.1, 0.2], [1.0], [-0.1]):
        with pytest.raises(ValueError, match="float"):
            GAME.play(params, bad)
