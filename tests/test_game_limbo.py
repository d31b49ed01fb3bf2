"""Limbo: Stake's crash-point formula evaluated exactly, exact RTP, targets and caps."""

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from games.fairness import floats
from games.instant import build_instant_games
from games.limbo import Limbo, LimboParams

SERVER_SEED = "c5e7146c5863d7d647c93ffe7d4ec13fffbb7311108fab0c067d97bcc2b32d55"
CLIENT_SEED = "LuckyClientSeed777"
FLOATS = 2**32
RTP_BAND = (Fraction("0.985"), Fraction("0.9901"))

GAME = Limbo()


def _params(target: Any) -> LimboParams:
    return LimboParams.model_validate({"target": target})


def _result_by_hand(value: float) -> Decimal:
    """Stake: max(floor(1e8 / (float * 1e8) * 0.99 * 100) / 100, 1), in exact arithmetic."""
    crash_x100 = math.floor(Fraction(1) / Fraction(value) * Fraction(99, 100) * 100)
    return Decimal(max(crash_x100, 100)) / 100


def _wins(params: LimboParams, k: int) -> bool:
    return GAME.play(params, [k / FLOATS]).multiplier > 0


def test_stake_vector_result() -> None:
    # 0.99 / 0.5365416235290468 = 1.845..., computed from the HMAC by hand.
    outcome = GAME.play(_params("1.84"), [0.5365416235290468])
    assert outcome.details == {"result": "1.84"}
    assert outcome.multiplier == Decimal("1.84")
    assert GAME.play(_params("1.85"), [0.5365416235290468]).multiplier == 0


@pytest.mark.parametrize("nonce", range(300))
def test_results_follow_the_published_formula(nonce: int) -> None:
    params = _params("2")
    bet_floats = floats(SERVER_SEED, CLIENT_SEED, nonce, GAME.floats_needed(params))
    result = _result_by_hand(bet_floats[0])
    outcome = GAME.play(params, bet_floats)
    assert outcome.details["result"] == f"{result:.2f}"
    assert outcome.multiplier == (Decimal("2.00") if result >= 2 else 0)
    # Stake evaluates the same formula in doubles; it agrees on these floats.
    value = bet_floats[0]
    assert max(math.floor(1e8 / (value * 1e8) * 0.99 * 100), 100) == int(result * 100)


def test_zero_float_gives_the_maximum() -> None:
    outcome = GAME.play(_params("1000000"), [0.0])
    assert outcome.details == {"result": "1000000.00"}
    assert outcome.multiplier == Decimal("1000000")


def test_results_are_clamped_to_one_and_the_cap() -> None:
    assert GAME.play(_params("1.01"), [0.999]).details == {"result": "1.00"}
    assert GAME.play(_params("1.01"), [1 / FLOATS]).details == {"result": "1000000.00"}


@pytest.mark.parametrize(
    "target", ["1.01", "1.5", "2", "2.47", "3.33", "10", "99.99", "100", "1000", "10000"]
)
def test_rtp_is_exact_and_near_99_percent(target: str) -> None:
    params = _params(target)
    wins = _winning_floats(params)
    expected = Fraction(wins, FLOATS) * Fraction(Decimal(target))
    assert GAME.rtp(params) == expected
    assert RTP_BAND[0] <= expected <= RTP_BAND[1]


@pytest.mark.parametrize("target", ["1.01", "7.77", "10000", "999769.01", "1000000"])
def test_rtp_lies_just_above_99_percent(target: str) -> None:
    # k = 0 always wins, so RTP is in (0.99, 0.99 + target / 2**32].
    rtp = GAME.rtp(_params(target))
    assert Fraction(99, 100) < rtp <= Fraction(99, 100) + Fraction(Decimal(target)) / FLOATS


def _winning_floats(params: LimboParams) -> int:
    """Count of winning k / 2**32 by bisection (the result falls as k grows)."""
    low, high = 0, FLOATS  # k = low wins, k = high (out of range) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if _wins(params, middle) else (low, middle)
    return high


@pytest.mark.parametrize("target", [1.01, "2.5", Decimal("1000000"), 77])
def test_target_accepts_numbers_and_decimal_strings(target: Any) -> None:
    assert _params(target).target == Decimal(str(target)).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    "raw",
    [
        {"target": "1"},
        {"target": "1.00"},
        {"target": "0.5"},
        {"target": "1000000.01"},
        {"target": "2.005"},
        {"target": True},
        {"target": None},
        {"target": {"x": 2}},
        {},
        {"target": "2", "max_target": "5"},
    ],
)
def test_bad_params_are_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LimboParams.model_validate(raw)


def test_configured_cap_bounds_targets_and_results() -> None:
    game = build_instant_games(limbo_max_target=Decimal("5000"))["limbo"]
    params = game.params_model.model_validate({"target": "5000"})
    with pytest.raises(ValidationError):
        game.params_model.model_validate({"target": "5000.01"})
    assert game.play(params, [0.0]).details == {"result": "5000.00"}
    assert game.max_multiplier(params) == Decimal("5000")
    # The default model is untouched by another game's cap.
    assert _params("1000000").target == Decimal("1000000")


@pytest.mark.parametrize("cap", [Decimal("1"), Decimal("1.005")])
def test_bad_cap_is_refused(cap: Decimal) -> None:
    with pytest.raises(ValueError, match="max_target"):
        Limbo.capped(cap)
