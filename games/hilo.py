"""Hilo: guess whether the next card ranks higher-or-same or lower-or-same.

Cards come from the bet's floats as Stake publishes (unlimited decks): card i
of a game is index floor(float_i x 52) of ['♦2', '♥2', '♠2', '♣2', '♦3', ...,
'♣A'], i.e. rank = index // 4 (0 = two ... 12 = ace), suit = index % 4. Card 0
is the start card; every guess or skip draws the next card.

From rank r the chance of "higher_or_same" is (13 - r) / 13 and of
"lower_or_same" (r + 1) / 13 (at a two "lower_or_same" can only mean "same",
at an ace "higher_or_same" likewise). A correct guess multiplies the exact
multiplier by 0.99 / p, so each step returns exactly 99%; "skip" draws the next
card and leaves the multiplier alone. What pays is the exact multiplier
floored to 4 decimals, after at least one correct guess.

A game draws at most MAX_CARDS cards: the move that draws the last one ends
the game as a cashout at the multiplier reached (the stake back if every move
was a skip), as a game reaching the payout limit does. The stored record keeps
the position (cards drawn, exact multiplier), so a move costs the same at any
point of a game: one float, read at its place in the bet's stream.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Self

from pydantic import Field, model_validator

from games.base import JsonValue
from games.fairness import iter_floats
from games.states import GameRecord, GameState, InvalidActionError, SteppedGame

RANKS = ("2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K", "A")
SUITS = ("♦", "♥", "♠", "♣")
RTP = Fraction(99, 100)
DECK_SIZE = len(RANKS) * len(SUITS)
MAX_CARDS = 52
"""Cards one game may draw, the start card included; the last one ends the game."""


@dataclass(frozen=True, slots=True)
class Card:
    """A card by its index 0..51 in Stake's deck order."""

    index: int

    @property
    def rank(self) -> int:
        """0 for a two ... 12 for an ace."""
        return self.index // len(SUITS)

    @property
    def label(self) -> str:
        """Suit then rank, as Stake prints it: '♦2', '♣A'."""
        return SUITS[self.index % len(SUITS)] + RANKS[self.rank]


def card_from_float(value: float) -> Card:
    """The card a float in [0, 1) draws."""
    return Card(int(value * DECK_SIZE))


class Guess(StrEnum):
    """A player's move on the current card."""

    HIGHER_OR_SAME = "higher_or_same"
    LOWER_OR_SAME = "lower_or_same"
    SKIP = "skip"


class GuessResult(StrEnum):
    """How a move turned out."""

    CORRECT = "correct"
    WRONG = "wrong"
    SKIPPED = "skipped"


def is_correct(guess: Guess, rank: int, next_rank: int) -> bool:
    """Whether `guess` made on `rank` is right when `next_rank` comes."""
    if guess is Guess.HIGHER_OR_SAME:
        return next_rank >= rank
    if guess is Guess.LOWER_OR_SAME:
        return next_rank <= rank
    raise ValueError("a skip is neither right nor wrong")


def win_probability(guess: Guess, rank: int) -> Fraction:
    """Exact chance that `guess` made on `rank` is right."""
    return Fraction(sum(is_correct(guess, rank, other) for other in range(len(RANKS))), len(RANKS))


def step_multiplier(guess: Guess, rank: int) -> Fraction:
    """Exact factor a correct `guess` on `rank` applies to the multiplier: 0.99 / p."""
    return RTP / win_probability(guess, rank)


@dataclass(frozen=True, slots=True)
class Step:
    """Result of a move: the card drawn and how the move turned out."""

    card: Card
    result: GuessResult


class HiloMovesRecord(GameRecord):
    """Stored form of a Hilo game before MAX_CARDS: the moves only, replayed on load."""

    guesses: list[Guess]


class HiloRecord(GameRecord):
    """Stored form of a Hilo game: the seeds, the moves and the position they reached.

    Unlike the other games' records this one keeps the results too (every card
    drawn, the exact multiplier): loading it replays nothing, and the next card
    is float len(cards) of the bet.
    """

    guesses: list[Guess]
    cards: list[Annotated[int, Field(ge=0, lt=DECK_SIZE)]]
    multiplier: Fraction

    @model_validator(mode="after")
    def _check_position(self) -> Self:
        if len(self.cards) != len(self.guesses) + 1:
            raise ValueError("a record holds one card more than its guesses")
        if self.multiplier <= 0:
            raise ValueError("the multiplier must be positive")
        return self


class HiloGame(SteppedGame):
    """One game of Hilo; card i comes from float i of the bet."""

    def __init__(
        self, server_seed: str, client_seed: str, nonce: int, *, resume: HiloRecord | None = None
    ) -> None:
        """A new game (draws its start card), or with `resume` the stored one (draws nothing)."""
        super().__init__(server_seed, client_seed, nonce)
        if resume is None:
            self.cards: list[Card] = [card_from_float(self._next_float())]
            self.guesses: list[Guess] = []
            self._multiplier = Fraction(1)
        else:
            self.cards = [Card(index) for index in resume.cards]
            self.guesses = list(resume.guesses)
            self._multiplier = resume.multiplier
            self.state = resume.state
            self._floats = iter_floats(server_seed, client_seed, nonce, start=len(self.cards))

    @property
    def card(self) -> Card:
        """The card the next guess is made on."""
        return self.cards[-1]

    @property
    def multiplier(self) -> Fraction:
        """Exact product of the step multipliers of the correct guesses."""
        return self._multiplier

    @property
    def correct_guesses(self) -> int:
        """Right guesses so far: every guess but the last one of a lost game."""
        guesses = sum(guess is not Guess.SKIP for guess in self.guesses)
        return guesses - (self.state is GameState.LOST)

    @property
    def can_cashout(self) -> bool:
        """A cashout needs at least one correct guess."""
        return self.correct_guesses > 0

    def guess(self, move: Guess | str) -> Step:
        """Make a move ('higher_or_same', 'lower_or_same', 'skip') on the current card.

        The move that draws the MAX_CARDS-th card ends the game as a cashout.
        """
        step = self._move(move)
        if self.state is GameState.ACTIVE and len(self.cards) >= MAX_CARDS:
            self._finish(GameState.CASHED)
        return step

    def _move(self, move: Guess | str) -> Step:
        self._require_active()
        try:
            guess = Guess(move)
        except ValueError:
            raise InvalidActionError(f"unknown guess {move!r}") from None
        rank = self.card.rank
        card = card_from_float(self._next_float())
        self.cards.append(card)
        self.guesses.append(guess)
        if guess is Guess.SKIP:
            return Step(card, GuessResult.SKIPPED)
        if not is_correct(guess, rank, card.rank):
            self._finish(GameState.LOST)
            return Step(card, GuessResult.WRONG)
        self._multiplier *= step_multiplier(guess, rank)
        return Step(card, GuessResult.CORRECT)

    def view(self) -> dict[str, JsonValue]:
        """What the player may see (every card drawn so far is public)."""
        return {
            "state": self.state.value,
            "cards": [card.label for card in self.cards],
            "guesses": [guess.value for guess in self.guesses],
            "multiplier": str(self.payout_multiplier),
        }

    def to_dict(self) -> dict[str, JsonValue]:
        """JSON-safe server-side record (contains the server seed: never send it to a client)."""
        record = HiloRecord(
            **self._record_fields(),
            guesses=self.guesses,
            cards=[card.index for card in self.cards],
            multiplier=self._multiplier,
        )
        return record.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, JsonValue]) -> Self:
        """Rebuild a game from `to_dict` output, or replay a moves-only record of old."""
        if "cards" not in data:
            return cls._replay(HiloMovesRecord.model_validate(data))
        record = HiloRecord.model_validate(data)
        return cls(record.server_seed, record.client_seed, record.nonce, resume=record)

    @classmethod
    def _replay(cls, record: HiloMovesRecord) -> Self:
        """A game stored before MAX_CARDS, replayed as it was played (past MAX_CARDS too)."""
        game = cls(record.server_seed, record.client_seed, record.nonce)
        for guess in record.guesses:
            game._move(guess)
        game._settle_replay(record.state)
        return game
