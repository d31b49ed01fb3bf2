"""Hilo: card draws, exact step odds and EV, the game state machine, its stored form."""

import hashlib
import hmac
import itertools
import json
from fractions import Fraction
from math import floor

import pytest
from pydantic import ValidationError

import games.fairness
from games.hilo import (
    MAX_CARDS,
    Card,
    Guess,
    GuessResult,
    HiloGame,
    card_from_float,
    is_correct,
    step_multiplier,
    win_probability,
)
from games.states import GameNotActiveError, GameState, InvalidActionError, floor_decimal

SERVER_SEED = "5d2c0f4e8a1b3c7d9e0f11223344556677889900aabbccddeeff001122334455"
CLIENT_SEED = "hilo-client"

# Stake's published deck order, index 0..51.
RANKS = ["2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K", "A"]
DECK = [suit + rank for rank in RANKS for suit in "♦♥♠♣"]


def stake_cards(nonce: int, count: int) -> list[str]:
    """Cards recomputed from the HMAC bytes: CARDS[floor(float * 52)]."""
    cards: list[str] = []
    cursor = 0
    while len(cards) < count:
        message = f"{CLIENT_SEED}:{nonce}:{cursor}".encode()
        digest = hmac.new(SERVER_SEED.encode(), message, hashlib.sha256).digest()
        for i in range(0, 32, 4):
            value = sum(Fraction(b, 256 ** (j + 1)) for j, b in enumerate(digest[i : i + 4]))
            cards.append(DECK[floor(value * 52)])
        cursor += 1
    return cards[:count]


def rank_of(label: str) -> int:
    return DECK.index(label) // 4


def winning(label: str, next_label: str) -> Guess:
    return Guess.HIGHER_OR_SAME if rank_of(next_label) >= rank_of(label) else Guess.LOWER_OR_SAME


def losing(label: str, next_label: str) -> Guess:
    return Guess.LOWER_OR_SAME if rank_of(next_label) > rank_of(label) else Guess.HIGHER_OR_SAME


def nonce_with_rank_change() -> int:
    """First nonce whose second card differs in rank from the first (so a guess can lose)."""
    return next(n for n in range(100) if len({rank_of(c) for c in stake_cards(n, 2)}) == 2)


def test_deck_order() -> None:
    assert DECK[:5] == ["♦2", "♥2", "♠2", "♣2", "♦3"]
    assert DECK[-1] == "♣A"
    assert [Card(i).label for i in range(52)] == DECK
    assert [Card(i).rank for i in (0, 3, 4, 51)] == [0, 0, 1, 12]
    assert card_from_float(0.0).label == "♦2"
    assert card_from_float(0.999999).label == "♣A"
    assert card_from_float(0.5).label == "♠8"  # index 26


@pytest.mark.parametrize("nonce", range(5))
def test_game_cards_follow_the_floats(nonce: int) -> None:
    expected = stake_cards(nonce, 20)
    game = HiloGame(SERVER_SEED, CLIENT_SEED, nonce)
    assert game.card.label == expected[0]
    for label in expected[1:]:
        step = game.guess(Guess.SKIP)
        assert step.card.label == label
        assert step.result is GuessResult.SKIPPED
    assert [card.label for card in game.cards] == expected
    assert game.multiplier == 1


def test_cards_pinned_vector() -> None:
    # Regression pin, computed with stake_cards() above.
    assert stake_cards(0, 6) == ["♦4", "♦A", "♦5", "♠10", "♣3", "♠Q"]
    game = HiloGame(SERVER_SEED, CLIENT_SEED, 0)
    for _ in range(5):
        game.guess("skip")
    assert [card.label for card in game.cards] == stake_cards(0, 6)


@pytest.mark.parametrize("rank", range(13))
def test_probabilities_per_rank(rank: int) -> None:
    p_hi = win_probability(Guess.HIGHER_OR_SAME, rank)
    p_lo = win_probability(Guess.LOWER_OR_SAME, rank)
    assert p_hi == Fraction(13 - rank, 13)
    assert p_lo == Fraction(rank + 1, 13)
    assert p_hi + p_lo - Fraction(1, 13) == 1
    # Same odds counted over the 52 equally likely cards.
    assert p_hi == Fraction(sum(c // 4 >= rank for c in range(52)), 52)
    assert p_lo == Fraction(sum(c // 4 <= rank for c in range(52)), 52)


def test_edge_ranks() -> None:
    assert win_probability(Guess.LOWER_OR_SAME, 0) == Fraction(1, 13)  # a two: only 'same'
    assert win_probability(Guess.HIGHER_OR_SAME, 12) == Fraction(1, 13)  # an ace: only 'same'
    assert step_multiplier(Guess.LOWER_OR_SAME, 0) == Fraction(1287, 100)
    assert step_multiplier(Guess.HIGHER_OR_SAME, 0) == Fraction(99, 100)
    with pytest.raises(ValueError, match="skip"):
        win_probability(Guess.SKIP, 5)
    with pytest.raises(ValueError, match="skip"):
        is_correct(Guess.SKIP, 5, 6)


def test_ev_of_every_step() -> None:
    rounded: list[Fraction] = []
    for rank in range(13):
        for guess in (Guess.HIGHER_OR_SAME, Guess.LOWER_OR_SAME):
            p = win_probability(guess, rank)
            assert p * step_multiplier(guess, rank) == Fraction(99, 100)
            rounded.append(p * Fraction(floor_decimal(step_multiplier(guess, rank), 4)))
    # Band: the 4-decimal floor costs < 0.0001 x p <= 0.0001 (measured min 0.98996).
    assert Fraction(98, 100) <= Fraction(9899, 10000) <= min(rounded)
    assert max(rounded) <= Fraction(99, 100)


def test_correct_guesses_compound_then_cashout() -> None:
    labels = stake_cards(1, 4)
    game = HiloGame(SERVER_SEED, CLIENT_SEED, 1)
    expected = Fraction(1)
    for label, next_label in itertools.pairwise(labels):
        guess = winning(label, next_label)
        step = game.guess(guess)
        assert (step.card.label, step.result) == (next_label, GuessResult.CORRECT)
        expected *= step_multiplier(guess, rank_of(label))
    assert game.multiplier == expected
    assert game.correct_guesses == 3
    assert game.cashout() == floor_decimal(expected, 4)
    assert game.state is GameState.CASHED
    with pytest.raises(GameNotActiveError):
        game.guess(Guess.SKIP)
    with pytest.raises(GameNotActiveError):
        game.cashout()


def test_wrong_guess_loses() -> None:
    nonce = nonce_with_rank_change()
    first, second = stake_cards(nonce, 2)
    game = HiloGame(SERVER_SEED, CLIENT_SEED, nonce)
    step = game.guess(losing(first, second))
    assert (step.card.label, step.result) == (second, GuessResult.WRONG)
    assert game.state is GameState.LOST
    assert game.payout_multiplier == 0
    with pytest.raises(GameNotActiveError):
        game.guess(Guess.HIGHER_OR_SAME)
    with pytest.raises(GameNotActiveError):
        game.cashout()


def test_cashout_needs_a_correct_guess() -> None:
    game = HiloGame(SERVER_SEED, CLIENT_SEED, 2)
    with pytest.raises(InvalidActionError, match="nothing"):
        game.cashout()
    game.guess(Guess.SKIP)
    game.guess("skip")
    with pytest.raises(InvalidActionError, match="nothing"):
        game.cashout()
    with pytest.raises(InvalidActionError, match="unknown guess"):
        game.guess("higher")
    assert game.state is GameState.ACTIVE
    assert len(game.cards) == 3


def round_trip(game: HiloGame) -> HiloGame:
    return HiloGame.from_dict(json.loads(json.dumps(game.to_dict())))


def test_serialization_round_trip() -> None:
    labels = stake_cards(1, 4)
    active = HiloGame(SERVER_SEED, CLIENT_SEED, 1)
    active.guess(Guess.SKIP)
    active.guess(winning(labels[1], labels[2]))
    cashed = round_trip(active)
    cashed.cashout()
    nonce = nonce_with_rank_change()
    lost = HiloGame(SERVER_SEED, CLIENT_SEED, nonce)
    lost.guess(losing(*stake_cards(nonce, 2)))
    for game in (active, cashed, lost):
        copy = round_trip(game)
        assert copy.to_dict() == game.to_dict()
        assert (copy.state, copy.cards, copy.multiplier) == (
            game.state,
            game.cards,
            game.multiplier,
        )
        assert copy.payout_multiplier == game.payout_multiplier
    follow = round_trip(active)
    step = follow.guess(winning(labels[2], labels[3]))
    assert step.card.label == labels[3]
    assert follow.correct_guesses == 2


def test_view_and_corrupt_records() -> None:
    game = HiloGame(SERVER_SEED, CLIENT_SEED, 0)
    game.guess(Guess.SKIP)
    view = game.view()
    assert view["cards"] == stake_cards(0, 2)
    assert view["multiplier"] == "1.0000"
    assert SERVER_SEED not in json.dumps(view)
    record = game.to_dict()
    for corrupt in (
        {"guesses": ["higher"]},
        {"nonce": -1},
        {"cards": record["cards"][:1]},  # one card per guess plus the start card
        {"cards": [0, 52]},
        {"multiplier": "0"},
        {"multiplier": "many"},
        {"extra": 1},
    ):
        with pytest.raises(ValidationError):
            HiloGame.from_dict({**record, **corrupt})


def skipped(nonce: int, moves: int) -> HiloGame:
    game = HiloGame(SERVER_SEED, CLIENT_SEED, nonce)
    for _ in range(moves):
        game.guess(Guess.SKIP)
    return game


def test_a_move_costs_one_round_at_any_point_of_a_game(monkeypatch: pytest.MonkeyPatch) -> None:
    # The attack: one guest sending skips as fast as the rate limit allows made
    # every move replay (and every reply list) the whole game, slowing everyone.
    # Loading a stored game and moving once now computes at most one HMAC round
    # (the one holding the next card), at any length of game.
    expected = stake_cards(4, MAX_CARDS)
    rounds: list[int] = []
    real_digest = games.fairness.round_digest

    def counting_digest(server_seed: str, client_seed: str, nonce: int, round_: int) -> bytes:
        rounds.append(round_)
        return real_digest(server_seed, client_seed, nonce, round_)

    for moves in range(MAX_CARDS - 1):
        record = json.loads(json.dumps(skipped(4, moves).to_dict()))
        rounds.clear()
        monkeypatch.setattr(games.fairness, "round_digest", counting_digest)
        step = HiloGame.from_dict(record).guess(Guess.SKIP)
        monkeypatch.undo()
        assert rounds == [(moves + 1) // 8], moves  # float moves + 1 lies in that round
        assert step.card.label == expected[moves + 1]


def test_the_last_card_ends_the_game_as_a_cashout() -> None:
    # Only skips: the game ends at MAX_CARDS and pays the stake back (multiplier 1).
    game = skipped(5, MAX_CARDS - 2)
    assert game.state is GameState.ACTIVE and not game.can_cashout
    step = game.guess(Guess.SKIP)
    assert step.result is GuessResult.SKIPPED and len(game.cards) == MAX_CARDS
    assert game.state is GameState.CASHED and game.payout_multiplier == 1
    assert [card.label for card in game.cards] == stake_cards(5, MAX_CARDS)
    with pytest.raises(GameNotActiveError):
        game.guess(Guess.SKIP)
    assert round_trip(game).to_dict() == game.to_dict()

    # A right guess on the last card: cashed at the multiplier it reached.
    labels = stake_cards(1, MAX_CARDS)
    game = skipped(1, MAX_CARDS - 2)
    guess = winning(labels[-2], labels[-1])
    assert game.guess(guess).result is GuessResult.CORRECT
    assert game.state is GameState.CASHED
    assert game.multiplier == step_multiplier(guess, rank_of(labels[-2]))


def moves_only(game: HiloGame) -> dict[str, object]:
    """The record as versions before MAX_CARDS stored it: seeds, state and moves."""
    record = game.to_dict()
    return {key: record[key] for key in ("server_seed", "client_seed", "nonce", "state", "guesses")}


def test_records_of_the_moves_only_format_still_load() -> None:
    # A game in progress while the server is upgraded keeps its cards and multiplier.
    labels = stake_cards(1, 4)
    game = HiloGame(SERVER_SEED, CLIENT_SEED, 1)
    game.guess(Guess.SKIP)
    game.guess(winning(labels[1], labels[2]))
    old = HiloGame.from_dict(moves_only(game))
    assert old.to_dict() == game.to_dict()
    assert old.guess(winning(labels[2], labels[3])).card.label == labels[3]
    assert old.correct_guesses == 2

    # One stored past MAX_CARDS loads as it was; its next move ends it.
    long_game = moves_only(skipped(2, MAX_CARDS - 2))
    long_game["guesses"] = ["skip"] * (MAX_CARDS + 10)
    loaded = HiloGame.from_dict(long_game)
    assert loaded.state is GameState.ACTIVE and len(loaded.cards) == MAX_CARDS + 11
    loaded.guess(Guess.SKIP)
    assert loaded.state is GameState.CASHED
    assert [card.label for card in loaded.cards] == stake_cards(2, MAX_CARDS + 12)

    record = moves_only(skipped(0, 1))
    with pytest.raises(InvalidActionError, match="nothing"):
        HiloGame.from_dict({**record, "state": "cashed"})
    with pytest.raises(ValueError, match="record says lost"):
        HiloGame.from_dict({**record, "state": "lost"})
    with pytest.raises(ValidationError):
        HiloGame.from_dict({**record, "guesses": ["higher"]})
