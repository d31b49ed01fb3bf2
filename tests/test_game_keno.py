"""Keno: Stake's draw formula, public tables, exact hypergeometric RTP, strict params."""

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from games.fairness import floats
from games.keno import Keno, KenoParams

SERVER_SEED = "c5e7146c5863d7d647c93ffe7d4ec13fffbb7311108fab0c067d97bcc2b32d55"
CLIENT_SEED = "LuckyClientSeed777"
RISKS = ("classic", "low", "medium", "high")
ALL_PARAMS = [(risk, picks) for risk in RISKS for picks in range(1, 11)]
RTP_BAND = (Fraction("0.985"), Fraction("0.995"))
FIRST_TEN = [0.0] * 10  # index 0 of the remaining squares each time: draws 1, 2, ..., 10

GAME = Keno()


def _params(picks: Any, risk: Any) -> KenoParams:
    return KenoParams.model_validate({"picks": picks, "risk": risk})


def _draw_by_hand(bet_floats: list[float]) -> list[int]:
    remaining = list(range(1, 41))
    drawn = []
    for i, value in enumerate(bet_floats):
        drawn.append(remaining[math.floor(value * (40 - i))])
        remaining.remove(drawn[-1])
    return drawn


def _multiplier_for_hits(risk: str, picks: int, hits: int) -> Decimal:
    """Multiplier of `hits` out of `picks`, found by playing a ticket against squares 1..10."""
    ticket = list(range(1, hits + 1)) + list(range(41 - (picks - hits), 41))
    outcome = GAME.play(_params(ticket, risk), FIRST_TEN)
    assert len(outcome.details["hits"]) == hits
    return outcome.multiplier


def test_stake_vector_draw() -> None:
    # Stake's nonce-2 floats, drawn by hand from the HMAC.
    bet_floats = floats(SERVER_SEED, CLIENT_SEED, 2, 10)
    outcome = GAME.play(_params([2, 10, 11, 40], "classic"), bet_floats)
    assert outcome.details == {
        "drawn": [22, 2, 14, 16, 37, 11, 33, 32, 20, 10],
        "hits": [2, 11, 10],
    }
    assert outcome.multiplier == Decimal("5")


@pytest.mark.parametrize("nonce", range(200))
def test_draws_follow_the_published_formula(nonce: int) -> None:
    params = _params(list(range(1, 41, 4)), "medium")
    bet_floats = floats(SERVER_SEED, CLIENT_SEED, nonce, GAME.floats_needed(params))
    drawn = _draw_by_hand(bet_floats)
    outcome = GAME.play(params, bet_floats)
    assert outcome.details["drawn"] == drawn
    assert outcome.details["hits"] == [square for square in drawn if square % 4 == 1]
    assert len(set(drawn)) == 10
    assert all(1 <= square <= 40 for square in drawn)


def test_last_squares_are_reachable() -> None:
    top = (2**32 - 1) / 2**32
    outcome = GAME.play(_params([40, 31], "low"), [top] * 10)
    assert outcome.details["drawn"] == list(range(40, 30, -1))


@pytest.mark.parametrize(
    ("risk", "picks", "by_hits"),
    [
        ("classic", 1, "0,3.96"),
        ("low", 10, "0,0,1.1,1.2,1.3,1.8,3.5,13,50,250,1000"),
        ("medium", 6, "0,0,0,3,9,180,710"),
        ("high", 3, "0,0,0,81.5"),
    ],
)
def test_published_tables(risk: str, picks: int, by_hits: str) -> None:
    table = [_multiplier_for_hits(risk, picks, hits) for hits in range(picks + 1)]
    assert table == [Decimal(m) for m in by_hits.split(",")]


@pytest.mark.parametrize(("risk", "picks"), ALL_PARAMS)
def test_rtp_is_exact_hypergeometric_and_near_99_percent(risk: str, picks: int) -> None:
    tickets = math.comb(40, 10)
    expected = sum(
        Fraction(math.comb(picks, hits) * math.comb(40 - picks, 10 - hits), tickets)
        * Fraction(_multiplier_for_hits(risk, picks, hits))
        for hits in range(picks + 1)
    )
    params = _params(list(range(1, picks + 1)), risk)
    assert GAME.rtp(params) == expected
    assert RTP_BAND[0] <= expected <= RTP_BAND[1]
    top = max(_multiplier_for_hits(risk, picks, hits) for hits in range(picks + 1))
    assert GAME.max_multiplier(params) == top


@pytest.mark.parametrize(
    "raw",
    [
        {"picks": [], "risk": "classic"},
        {"picks": list(range(1, 12)), "risk": "classic"},
        {"picks": [5, 5], "risk": "classic"},
        {"picks": [0], "risk": "classic"},
        {"picks": [41], "risk": "classic"},
        {"picks": ["5"], "risk": "classic"},
        {"picks": [True], "risk": "classic"},
        {"picks": [5.0], "risk": "classic"},
        {"picks": 5, "risk": "classic"},
        {"picks": [5], "risk": "extreme"},
        {"picks": [5]},
        {"picks": [5], "risk": "classic", "auto": True},
    ],
)
def test_bad_params_are_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        KenoParams.model_validate(raw)


def test_play_needs_ten_floats() -> None:
    with pytest.raises(ValueError, match="float"):
        GAME.play(_params([1], "classic"), [0.5] * 9)
