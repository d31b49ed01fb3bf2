"""Plinko: Stake's path formula, public tables, exact binomial RTP, strict params."""

import itertools
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from games.fairness import floats
from games.plinko import Plinko, PlinkoParams

SERVER_SEED = "c5e7146c5863d7d647c93ffe7d4ec13fffbb7311108fab0c067d97bcc2b32d55"
CLIENT_SEED = "LuckyClientSeed777"
RISKS = ("low", "medium", "high")
ALL_PARAMS = [(rows, risk) for rows in range(8, 17) for risk in RISKS]
RTP_BAND = (Fraction("0.985"), Fraction("0.995"))
LEFT, RIGHT = 0.25, 0.75

GAME = Plinko()


def _params(rows: Any, risk: Any) -> PlinkoParams:
    return PlinkoParams.model_validate({"rows": rows, "risk": risk})


def _slot_multiplier(params: PlinkoParams, slot: int) -> Decimal:
    """Multiplier of `slot`, found by dropping a ball there: `slot` rights, then lefts."""
    path = [RIGHT] * slot + [LEFT] * (params.rows - slot)
    return GAME.play(params, path).multiplier


def test_stake_vector_path() -> None:
    # floor(float x 2) for Stake's nonce-2 floats, computed from the HMAC by hand.
    params = _params(16, "medium")
    bet_floats = floats(SERVER_SEED, CLIENT_SEED, 2, 16)
    outcome = GAME.play(params, bet_floats)
    path = [int(bit) for bit in "1000101100110001"]
    assert outcome.details == {"path": path, "slot": 7}
    assert outcome.multiplier == Decimal("0.5")


@pytest.mark.parametrize("nonce", range(100))
def test_paths_follow_the_published_formula(nonce: int) -> None:
    params = _params(12, "high")
    bet_floats = floats(SERVER_SEED, CLIENT_SEED, nonce, GAME.floats_needed(params))
    path = [math.floor(value * 2) for value in bet_floats]
    assert GAME.play(params, bet_floats).details == {"path": path, "slot": sum(path)}


def test_every_path_lands_on_its_count_of_rights() -> None:
    params = _params(8, "low")
    for path in itertools.product((0, 1), repeat=8):
        outcome = GAME.play(params, [RIGHT if bit else LEFT for bit in path])
        assert outcome.details == {"path": list(path), "slot": sum(path)}


@pytest.mark.parametrize(
    ("rows", "risk", "edge_to_centre"),
    [
        (16, "low", "16,9,2,1.4,1.4,1.2,1.1,1,0.5"),
        (16, "medium", "110,41,10,5,3,1.5,1,0.5,0.3"),
        (16, "high", "1000,130,26,9,4,2,0.2,0.2,0.2"),
        (8, "low", "5.6,2.1,1.1,1,0.5"),
        (8, "medium", "13,3,1.3,0.7,0.4"),
        (8, "high", "29,4,1.5,0.3,0.2"),
    ],
)
def test_published_tables(rows: int, risk: str, edge_to_centre: str) -> None:
    params = _params(rows, risk)
    expected = [Decimal(m) for m in edge_to_centre.split(",")]
    assert [_slot_multiplier(params, slot) for slot in range(rows // 2 + 1)] == expected


@pytest.mark.parametrize(("rows", "risk"), ALL_PARAMS)
def test_tables_are_symmetric_with_the_top_at_the_edges(rows: int, risk: str) -> None:
    params = _params(rows, risk)
    table = [_slot_multiplier(params, slot) for slot in range(rows + 1)]
    assert table == table[::-1]
    assert GAME.max_multiplier(params) == table[0] == max(table)


@pytest.mark.parametrize(("rows", "risk"), ALL_PARAMS)
def test_rtp_is_exact_binomial_and_near_99_percent(rows: int, risk: str) -> None:
    params = _params(rows, risk)
    expected = sum(
        Fraction(math.comb(rows, slot), 2**rows) * Fraction(_slot_multiplier(params, slot))
        for slot in range(rows + 1)
    )
    assert GAME.rtp(params) == expected
    assert RTP_BAND[0] <= expected <= RTP_BAND[1]


@pytest.mark.parametrize(
    "raw",
    [
        {"rows": 7, "risk": "low"},
        {"rows": 17, "risk": "low"},
        {"rows": "8", "risk": "low"},
        {"rows": 8.0, "risk": "low"},
        {"rows": True, "risk": "low"},
        {"rows": 8, "risk": "extreme"},
        {"rows": 8, "risk": "LOW"},
        {"rows": 8},
        {"rows": 8, "risk": "low", "seed": "x"},
    ],
)
def test_bad_params_are_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PlinkoParams.model_validate(raw)


def test_play_needs_one_float_per_row() -> None:
    params = _params(9, "low")
    assert GAME.floats_needed(params) == 9
    with pytest.raises(ValueError, match="float"):
        GAME.play(params, [LEFT] * 8)
