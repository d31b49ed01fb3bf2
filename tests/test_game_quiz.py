"""Quiz: question bank, provably fair draw, state machine, multiplier table."""

import hashlib
import hmac
import json
import re
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from games.base import payout
from games.fairness import floats as bet_floats
from games.quiz import (
    DEFAULT_CONFIG,
    DEFAULT_MULTIPLIERS,
    MIN_BANK_SIZE,
    BankError,
    Question,
    QuizConfig,
    QuizEvent,
    QuizGame,
    bank_fingerprint,
    load_bank,
    plan_questions,
    random_guesser_ev,
    validate_bank,
)
from games.states import GameNotActiveError, GameState, InvalidActionError

BANK = load_bank()
RAW_BANK: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "games" / "quiz_bank.json").read_text(encoding="utf-8")
)
SEEDS = ("a-server-seed-for-the-quiz", "player-client-seed", 7)
T0 = 1_700_000_000_000
LIMIT = DEFAULT_CONFIG.time_limit_ms


def new_game(nonce: int = SEEDS[2], config: QuizConfig = DEFAULT_CONFIG) -> QuizGame:
    floats = bet_floats(SEEDS[0], SEEDS[1], nonce, config.floats_needed)
    return QuizGame.start(BANK, floats, amount=10_000, now_ms=T0, config=config)


def wrong_choice(game: QuizGame) -> int:
    return (game.current.correct_index + 1) % 4


# ----------------------------------------------------------------------------- bank


def test_bank_loads_and_is_valid() -> None:
    assert len(BANK) >= MIN_BANK_SIZE
    assert len({q.id for q in BANK}) == len(BANK)
    assert len({q.question.casefold() for q in BANK}) == len(BANK)
    for q in BANK:
        assert len(q.answers) == 4
        assert len({a.casefold() for a in q.answers}) == 4
        assert all(a.strip() for a in q.answers)
    counts = Counter(q.category for q in BANK)
    assert len(counts) >= 6
    assert min(counts.values()) >= 15


def test_bank_ids_do_not_give_the_answer_away() -> None:
    def tokens(text: str) -> str:
        return "-" + "-".join(re.findall(r"[a-z0-9]+", text.casefold())) + "-"

    for q in BANK:
        assert tokens(q.correct) not in tokens(q.id), q.id


def write_bank(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_bank_rejects_duplicate_id(tmp_path: Path) -> None:
    data = [dict(q) for q in RAW_BANK]
    data[5]["id"] = data[0]["id"]
    with pytest.raises(BankError, match=f"duplicate question id '{data[0]['id']}'"):
        load_bank(write_bank(tmp_path, data))


def test_bank_rejects_three_answers(tmp_path: Path) -> None:
    data = [dict(q) for q in RAW_BANK]
    data[3]["answers"] = data[3]["answers"][:3]
    qid = data[3]["id"]
    message = rf"bank\.json: invalid quiz bank: question #3 \(id '{qid}'\) answers: needs exactly 4"
    with pytest.raises(BankError, match=message):
        load_bank(write_bank(tmp_path, data))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d[0]["answers"].__setitem__(2, d[0]["answers"][0]), "answers must be distinct"),
        (lambda d: d[0]["answers"].__setitem__(1, "   "), "at least 1 character"),
        (lambda d: d[1].__setitem__("question", d[0]["question"]), "duplicate question text"),
        (lambda d: d[0].__setitem__("id", "Not A Slug"), "id"),
        (lambda d: d[0].__setitem__("extra", 1), "extra"),
        (lambda d: d.__delitem__(slice(MIN_BANK_SIZE - 1, None)), "at least 150 questions"),
    ],
)
def test_bank_rejects_bad_questions(mutate: Any, message: str) -> None:
    data = [{**q, "answers": list(q["answers"])} for q in RAW_BANK]
    mutate(data)
    with pytest.raises(BankError, match=message):
        validate_bank(data)


def test_bank_rejects_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="cannot read quiz bank"):
        load_bank(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(BankError, match="cannot read quiz bank"):
        load_bank(bad)


def test_bank_fingerprint_ignores_file_order() -> None:
    assert bank_fingerprint(BANK) == bank_fingerprint(tuple(reversed(BANK)))
    edited = (BANK[0].model_copy(update={"question": BANK[0].question + "?"}), *BANK[1:])
    assert bank_fingerprint(edited) != bank_fingerprint(BANK)


# ----------------------------------------------------------------------------- draw


def hand_floats(server_seed: str, client_seed: str, nonce: int, count: int) -> list[float]:
    """The Stake float formula, written out independently of games.fairness."""
    out: list[float] = []
    round_ = 0
    while len(out) < count:
        msg = f"{client_seed}:{nonce}:{round_}".encode()
        digest = hmac.new(server_seed.encode(), msg, hashlib.sha256).digest()
        for i in range(0, 32, 4):
            b0, b1, b2, b3 = digest[i : i + 4]
            out.append(b0 / 256 + b1 / 256**2 + b2 / 256**3 + b3 / 256**4)
        round_ += 1
    return out[:count]


def hand_draw(ids: list[str], fl: list[float], count: int) -> tuple[list[str], list[list[int]]]:
    """Question i: floats[4i] over the remaining sorted ids; answers: floats[4i+1..4i+3]."""
    remaining = sorted(ids)
    chosen, orders = [], []
    for i in range(count):
        f = fl[4 * i : 4 * i + 4]
        chosen.append(remaining.pop(int(f[0] * len(remaining))))
        left = [0, 1, 2, 3]
        orders.append([left.pop(int(f[1] * 4)), left.pop(int(f[2] * 3)), left.pop(int(f[3] * 2))])
        orders[-1].append(left[0])
    return chosen, orders


def test_draw_matches_the_formula_by_hand() -> None:
    fl = hand_floats(*SEEDS, 40)
    assert fl == bet_floats(*SEEDS, 40)
    ids, orders = hand_draw([q.id for q in BANK], fl, 10)

    plan = plan_questions(BANK, fl, 10)
    assert [p.question.id for p in plan] == ids
    assert [list(p.order) for p in plan] == orders

    game = new_game()
    assert [p.question.id for p in game.plan] == ids
    by_id = {q.id: q for q in BANK}
    for i in range(10):
        view = game.public_view()
        question = by_id[ids[i]]
        assert view["question"] == question.question
        assert view["answers"] == [question.answers[j] for j in orders[i]]
        result = game.answer(orders[i].index(0), T0 + i)
        assert result.correct_answer == question.answers[0]
    assert game.state is GameState.CASHED


def test_draw_pinned_vector() -> None:
    """A fixed synthetic bank pins the draw (changes to the algorithm break this)."""
    bank = [
        Question(id=f"q{n:03d}", category="test", question=f"Q{n}?", answers=("a", "b", "c", "d"))
        for n in range(160)
    ]
    fl = [0.0, 0.0, 0.0, 0.0, 0.999, 0.999, 0.999, 0.999, 0.5, 0.5, 0.5, 0.5]
    plan = plan_questions(bank, fl, 3)
    # 0.0 -> first of 160; 0.999 -> last of 159 remaining; 0.5 -> index 79 of 158 left.
    assert [p.question.id for p in plan] == ["q000", "q159", "q080"]
    # 0,0,0 -> identity; .999 -> pops 3,2,1 leaving 0; .5 -> pops 2 of [0..3], 1 of [0,1,3], 3.
    assert [p.order for p in plan] == [(0, 1, 2, 3), (3, 2, 1, 0), (2, 1, 3, 0)]
    assert [p.correct_index for p in plan] == [0, 3, 3]


def test_draw_never_repeats_and_moves_the_answer() -> None:
    positions: Counter[int] = Counter()
    for nonce in range(300):
        plan = plan_questions(BANK, bet_floats("s", "c", nonce, 40), 10)
        assert len({p.question.id for p in plan}) == 10
        positions.update(p.correct_index for p in plan)
    assert set(positions) == {0, 1, 2, 3}
    assert min(positions.values()) > 600  # 3000 draws, 750 expected per position


def test_draw_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="expected 40 floats"):
        plan_questions(BANK, [0.5] * 39, 10)
    with pytest.raises(ValueError, match="outside"):
        plan_questions(BANK, [1.0] * 40, 10)
    with pytest.raises(ValueError, match="cannot draw"):
        plan_questions(BANK[:3], [0.5] * 16, 4)


# ----------------------------------------------------------------------------- game


def test_correct_streak_then_cashout() -> None:
    game = new_game()
    assert game.view()["state"] == "active"
    assert game.deadline_ms == T0 + LIMIT
    now = T0
    for k in range(1, 4):
        now += 1_000 * k
        closed = game.current
        result = game.answer(closed.correct_index, now)
        assert result.event is QuizEvent.CORRECT
        assert result.state is GameState.ACTIVE
        assert result.streak == game.streak == k
        assert result.multiplier == DEFAULT_MULTIPLIERS[k - 1]
        assert result.payout == 0
        assert result.reveal == closed.correct_index
        assert game.deadline_ms == now + LIMIT
        assert result.next_question == game.public_view()
    result = game.cashout(now + 10)
    assert result.event is QuizEvent.CASHOUT
    assert game.state is GameState.CASHED
    assert result.multiplier == Decimal("7.6")
    assert result.payout == payout(10_000, Decimal("7.6")) == 76_000
    assert result.reveal == game.plan[3].correct_index  # the forfeited question
    assert game.outcome().multiplier == Decimal("7.6")
    with pytest.raises(GameNotActiveError):
        game.answer(0, now + 20)
    with pytest.raises(GameNotActiveError):
        game.cashout(now + 20)


def test_wrong_answer_loses() -> None:
    game = new_game()
    game.answer(game.current.correct_index, T0 + 100)
    closed = game.current
    result = game.answer(wrong_choice(game), T0 + 200)
    assert result.event is QuizEvent.WRONG
    assert game.state is result.state is GameState.LOST
    assert result.multiplier == 0
    assert result.payout == 0
    assert result.reveal == closed.correct_index
    assert result.correct_answer == closed.question.correct
    assert game.outcome().multiplier == 0
    assert game.outcome().details["ended_by"] == "wrong"


def test_late_answer_loses_even_if_right() -> None:
    game = new_game()
    assert game.answer(game.current.correct_index, T0 + LIMIT).event is QuizEvent.CORRECT
    deadline = game.deadline_ms
    result = game.answer(game.current.correct_index, deadline + 1)
    assert result.event is QuizEvent.LATE
    assert game.state is GameState.LOST
    assert result.payout == 0


def test_answer_when_not_asking_is_refused() -> None:
    game = new_game()
    game.answer(wrong_choice(game), T0)
    for action in (lambda: game.answer(0, T0), game.public_view):
        with pytest.raises(GameNotActiveError):
            action()
    with pytest.raises(GameNotActiveError):
        game.expire(T0 + 10 * LIMIT)
    assert game.state is GameState.LOST


@pytest.mark.parametrize("choice", [-1, 4, True, "1"])
def test_invalid_choice_is_refused_without_effect(choice: Any) -> None:
    game = new_game()
    before = game.to_dict()
    with pytest.raises(InvalidActionError):
        game.answer(choice, T0)
    assert game.to_dict() == before


def test_cashout_needs_a_correct_answer() -> None:
    game = new_game()
    with pytest.raises(InvalidActionError, match="at least one correct answer"):
        game.cashout(T0 + 1)
    assert game.state is GameState.ACTIVE
    assert game.public_view()["can_cashout"] is False


def test_cashout_after_the_deadline_is_a_timeout() -> None:
    game = new_game()
    game.answer(game.current.correct_index, T0)
    result = game.cashout(game.deadline_ms + 1)
    assert result.event is QuizEvent.TIMEOUT
    assert game.state is GameState.LOST
    assert result.payout == 0


def test_expire() -> None:
    game = new_game()
    with pytest.raises(InvalidActionError):
        game.expire(game.deadline_ms)
    result = game.expire(game.deadline_ms + 1)
    assert result.event is QuizEvent.TIMEOUT
    assert game.state is GameState.LOST
    assert result.reveal == game.plan[0].correct_index


def test_max_streak_auto_cashes() -> None:
    game = new_game()
    for i in range(10):
        result = game.answer(game.current.correct_index, T0 + i)
    assert result.event is QuizEvent.CORRECT
    assert result.state is game.state is GameState.CASHED
    assert result.streak == 10
    assert result.multiplier == Decimal(1000)
    assert result.payout == 10_000_000
    assert result.next_question is None
    details = game.outcome().details
    assert details["ended_by"] == "correct"
    assert len(details["questions"]) == 10
    with pytest.raises(GameNotActiveError):
        game.cashout(T0 + 20)


def test_custom_table_via_constructor() -> None:
    config = QuizConfig(multipliers=(Decimal("1.5"), Decimal(3)), time_limit_ms=5_000)
    game = new_game(config=config)
    assert len(game.plan) == 2
    assert game.deadline_ms == T0 + 5_000
    game.answer(game.current.correct_index, T0 + 5_000)
    assert game.answer(game.current.correct_index, T0 + 6_000).payout == 30_000
    assert game.state is GameState.CASHED


def test_public_view_never_holds_the_correct_index() -> None:
    for nonce in range(50):
        game = new_game(nonce)
        while game.state is GameState.ACTIVE:
            view = game.public_view()
            assert set(view) == {
                "number",
                "of",
                "category",
                "question",
                "answers",
                "deadline_ms",
                "time_limit_ms",
                "multiplier",
                "next_multiplier",
                "can_cashout",
            }
            text = json.dumps(view)
            assert game.current.question.id not in text
            assert sorted(view["answers"]) == sorted(game.current.question.answers)
            assert game.view()["reveal"] is None
            game.answer(game.current.correct_index, T0)
        assert game.view()["reveal"] == game.current.correct_index


def test_outcome_needs_a_settled_game() -> None:
    with pytest.raises(InvalidActionError):
        new_game().outcome()


# ----------------------------------------------------------------------------- storage


def roundtrip(game: QuizGame) -> QuizGame:
    data = json.loads(json.dumps(game.to_dict()))
    restored = QuizGame.from_dict(data)
    assert restored.to_dict() == game.to_dict()
    return restored


def test_serialization_round_trip_in_every_state() -> None:
    game = new_game()
    roundtrip(game)
    game.answer(game.current.correct_index, T0 + 1)
    restored = roundtrip(game)
    assert restored.public_view() == game.public_view()
    # The restored game plays on exactly like the original.
    assert restored.answer(wrong_choice(restored), T0 + 2) == game.answer(
        wrong_choice(game), T0 + 2
    )
    assert roundtrip(game).state is GameState.LOST

    cashed = new_game(3)
    cashed.answer(cashed.current.correct_index, T0)
    cashed.cashout(T0 + 1)
    assert roundtrip(cashed).outcome() == cashed.outcome()

    full = new_game(4)
    for _ in range(10):
        full.answer(full.current.correct_index, T0)
    assert roundtrip(full).state is GameState.CASHED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.__setitem__("streak", 3),
        lambda d: d.__setitem__("state", "cashed"),
        lambda d: d.__setitem__("choices", [(d["choices"][0] + 1) % 4]),
        lambda d: d["plan"].pop(),
        lambda d: d.__setitem__("multipliers", ["5", "10"]),
        lambda d: d.__setitem__("version", 2),
    ],
)
def test_inconsistent_state_is_rejected(tamper: Any) -> None:
    game = new_game()
    game.answer(game.current.correct_index, T0)
    data = json.loads(json.dumps(game.to_dict()))
    tamper(data)
    with pytest.raises(ValueError):
        QuizGame.from_dict(data)


# ----------------------------------------------------------------------------- table


def test_default_table() -> None:
    assert [str(m) for m in DEFAULT_MULTIPLIERS] == [
        "1.9", "3.8", "7.6", "15", "30", "60", "120", "250", "500", "1000",
    ]  # fmt: skip
    assert DEFAULT_CONFIG.max_streak == 10
    assert DEFAULT_CONFIG.floats_needed == 40
    assert DEFAULT_CONFIG.max_multiplier == 1000


def test_random_guesser_never_has_the_edge() -> None:
    evs = [random_guesser_ev(DEFAULT_MULTIPLIERS, k) for k in range(1, 11)]
    for k, ev in enumerate(evs, start=1):
        assert ev == Fraction(DEFAULT_MULTIPLIERS[k - 1]) * Fraction(1, 4) ** k
        assert ev < 1
    assert max(evs) == Fraction(19, 40)  # 0.475, at streak 1


@pytest.mark.parametrize(
    "table",
    [
        (),
        (Decimal(4),),  # a random guesser breaks even at streak 1
        (Decimal(2), Decimal(16)),  # ... at streak 2
        (Decimal(2), Decimal(2)),  # not increasing
        (Decimal(1),),  # not above 1
        (1.9,),  # floats are inexact
    ],
)
def test_config_rejects_bad_tables(table: Any) -> None:
    with pytest.raises(ValueError):
        QuizConfig(multipliers=table)


def test_config_rejects_bad_time_limit() -> None:
    with pytest.raises(ValueError):
        QuizConfig(time_limit_ms=0)
