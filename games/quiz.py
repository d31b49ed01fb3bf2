"""Quiz: a streak game of timed multiple-choice questions, and its question bank.

Rules
-----
The player stakes ``amount`` and is asked up to ``max_streak`` questions, four
answers each, ``time_limit_ms`` (default 15 s) per question. A correct answer
given in time raises the streak by one; the total multiplier after ``k``
correct answers is ``multipliers[k - 1]``. A wrong answer, or an answer or a
cashout after the open question's deadline, loses the stake. Reaching ``max_streak`` cashes
out automatically. While a question is open after at least one correct answer,
the player may cash out instead of answering: the open question is forfeited
and the multiplier of the answered streak is paid (there is no cashout before
the first correct answer; the stake is then simply at risk on question 1).

States and errors come from :mod:`games.states`: ``GameState.ACTIVE`` is the
ASKING state (a question is always open while the game is active), then
``CASHED`` or ``LOST``. An action on a settled game raises
``GameNotActiveError``; an action the rules refuse (bad choice, cashout with
no correct answer, early expire) raises ``InvalidActionError``; neither
changes the state.

Time is always passed in (``now_ms``); nothing here reads a clock. A question is
answered in time iff ``now_ms <= deadline_ms``. The server enforces the timer
by calling :meth:`QuizGame.expire` once the deadline has passed; a late answer
or a late cashout settles the game the same way (lost), so the result never
depends on which of the player's message and the server's timer arrives first.

Randomness (provably fair)
--------------------------
A game consumes ``4 * max_streak`` floats of the seed pair (40 by default),
four per question slot ``i = 0, 1, ...``, all drawn when the game starts:

* ``f[4i]`` picks question ``i``: the ids of the bank questions not yet drawn
  in this game, sorted ascending (code-point order), and
  ``index = floor(f[4i] * remaining)``; the chosen id is removed, the others
  keep their order (the Stake Keno/Mines selection).
* ``f[4i+1]``, ``f[4i+2]``, ``f[4i+3]`` shuffle its answers the same way: start
  from the bank order ``[0, 1, 2, 3]`` (0 is the correct answer); display
  position ``p = 0, 1, 2`` takes ``remaining.pop(floor(f[4i+1+p] * (4 - p)))``
  and position 3 takes the last one left.

The draw depends on the bank's contents, so a verifier needs the same bank:
:func:`bank_fingerprint` identifies it, and :meth:`QuizGame.outcome` lists the
asked question ids and answer orders.

Multiplier table (a product decision)
-------------------------------------
For a player who guesses uniformly at random (p = 1/4 per question), the
expected return of stopping after ``k`` correct answers is ``M_k / 4**k``;
since such a player learns nothing while playing, their best strategy is worth
``max_k M_k / 4**k``. :class:`QuizConfig` rejects any table where that is not
below 1, so a random guesser never has the edge. The default table pays at
most 0.475 (k = 1) to a random guesser.

The real edge depends on knowledge, not chance: a player answering each
question correctly with probability ``p`` gets ``p**k * M_k``, which exceeds 1
as soon as ``p > M_k ** (-1 / k)`` (about 52.6 % at k = 1 and 50.1 % at
k = 10 with the default table). A knowledgeable player, or a bot holding this
bank (it ships in an open-source repository), beats the house. The table,
the bank, and the payout limits are therefore product decisions, configurable
through :class:`QuizConfig` and :func:`load_bank`.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from hashlib import sha256
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from games.base import JsonValue, Outcome, payout
from games.states import GameNotActiveError, GameState, InvalidActionError, transition

__all__ = [
    "ANSWERS_PER_QUESTION",
    "DEFAULT_BANK_PATH",
    "DEFAULT_CONFIG",
    "DEFAULT_MULTIPLIERS",
    "DEFAULT_TIME_LIMIT_MS",
    "FLOATS_PER_QUESTION",
    "MIN_BANK_SIZE",
    "BankError",
    "PlannedQuestion",
    "Question",
    "QuizConfig",
    "QuizEvent",
    "QuizGame",
    "QuizResult",
    "bank_fingerprint",
    "load_bank",
    "plan_questions",
    "random_guesser_ev",
    "validate_bank",
]

ANSWERS_PER_QUESTION = 4
FLOATS_PER_QUESTION = 1 + (ANSWERS_PER_QUESTION - 1)  # 1 to pick, 3 to shuffle
MIN_BANK_SIZE = 150
DEFAULT_TIME_LIMIT_MS = 15_000
DEFAULT_BANK_PATH = Path(__file__).with_name("quiz_bank.json")

#: Total multiplier after k = 1..10 correct answers; the last one auto-cashes.
DEFAULT_MULTIPLIERS: tuple[Decimal, ...] = tuple(
    Decimal(m) for m in ("1.9", "3.8", "7.6", "15", "30", "60", "120", "250", "500", "1000")
)

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SERIAL_VERSION = 1
T = TypeVar("T")


class BankError(ValueError):
    """The question bank is missing, unreadable or invalid."""


# --------------------------------------------------------------------------- bank

Slug = Annotated[str, StringConstraints(pattern=_SLUG, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class Question(BaseModel):
    """A bank question; ``answers[0]`` is the correct one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    category: Slug
    question: Text
    answers: tuple[Text, Text, Text, Text]

    @field_validator("answers", mode="before")
    @classmethod
    def _four_answers(cls, answers: object) -> object:
        if isinstance(answers, list | tuple) and len(answers) != ANSWERS_PER_QUESTION:
            raise ValueError(
                f"needs exactly {ANSWERS_PER_QUESTION} answers (correct first), got {len(answers)}"
            )
        return answers

    @field_validator("answers")
    @classmethod
    def _distinct_answers(cls, answers: tuple[str, ...]) -> tuple[str, ...]:
        if len({a.casefold() for a in answers}) != len(answers):
            raise ValueError(f"answers must be distinct, got {list(answers)}")
        return answers

    @property
    def correct(self) -> str:
        """The correct answer's text."""
        return self.answers[0]


class _Bank(RootModel[tuple[Question, ...]]):
    @model_validator(mode="after")
    def _check(self) -> "_Bank":
        questions = self.root
        seen_ids: set[str] = set()
        seen_texts: set[str] = set()
        for q in questions:
            if q.id in seen_ids:
                raise ValueError(f"duplicate question id {q.id!r}")
            text = " ".join(q.question.casefold().split())
            if text in seen_texts:
                raise ValueError(f"duplicate question text {q.question!r} (id {q.id!r})")
            seen_ids.add(q.id)
            seen_texts.add(text)
        if len(questions) < MIN_BANK_SIZE:
            raise ValueError(f"need at least {MIN_BANK_SIZE} questions, got {len(questions)}")
        return self


def _describe(exc: ValidationError, data: object) -> str:
    """One line per problem, naming the question by position and id."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        where = "bank"
        index = loc[0] if loc else None
        if isinstance(index, int):
            loc = loc[1:]
            item = data[index] if isinstance(data, list) and index < len(data) else None
            qid = item.get("id") if isinstance(item, dict) else None
            where = f"question #{index}" + (f" (id {qid!r})" if qid is not None else "")
        field = ".".join(str(part) for part in loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}{' ' + field if field else ''}: {message}")
    return "; ".join(lines)


def validate_bank(data: object) -> tuple[Question, ...]:
    """Validate decoded bank JSON (a list of questions); raise BankError if invalid."""
    if not isinstance(data, list):
        raise BankError(
            f"invalid quiz bank: expected a list of questions, got {type(data).__name__}"
        )
    try:
        return _Bank.model_validate(data).root
    except ValidationError as exc:
        raise BankError(f"invalid quiz bank: {_describe(exc, data)}") from exc


def load_bank(path: Path | str = DEFAULT_BANK_PATH) -> tuple[Question, ...]:
    """Read and validate a question bank file; raise BankError if invalid."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BankError(f"cannot read quiz bank {str(path)!r}: {exc}") from exc
    try:
        return validate_bank(data)
    except BankError as exc:
        raise BankError(f"{path}: {exc}") from exc.__cause__


def bank_fingerprint(bank: Sequence[Question]) -> str:
    """SHA-256 hex of the bank in draw order: identifies the bank a draw used."""
    canonical = [q.model_dump(mode="json") for q in sorted(bank, key=lambda q: q.id)]
    encoded = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return sha256(encoded.encode()).hexdigest()


# --------------------------------------------------------------------------- config


def random_guesser_ev(multipliers: Sequence[Decimal], streak: int) -> Fraction:
    """Exact expected return of cashing out at `streak` when guessing at random."""
    return Fraction(multipliers[streak - 1]) / Fraction(ANSWERS_PER_QUESTION) ** streak


@dataclass(frozen=True, slots=True)
class QuizConfig:
    """Multiplier table and time limit; validated so a random guesser never wins."""

    multipliers: tuple[Decimal, ...] = DEFAULT_MULTIPLIERS
    time_limit_ms: int = DEFAULT_TIME_LIMIT_MS

    def __post_init__(self) -> None:
        table = self.multipliers
        if not table:
            raise ValueError("the multiplier table is empty")
        if not all(isinstance(m, Decimal) and m.is_finite() for m in table):
            raise ValueError("multipliers must be finite Decimals")
        if table[0] <= 1 or any(b <= a for a, b in pairwise(table)):
            raise ValueError("multipliers must be above 1 and strictly increasing")
        for k in range(1, len(table) + 1):
            if random_guesser_ev(table, k) >= 1:
                raise ValueError(
                    f"multiplier {table[k - 1]} at streak {k} gives a random guesser "
                    f"an expected return >= 1 (must be below {ANSWERS_PER_QUESTION**k})"
                )
        if isinstance(self.time_limit_ms, bool) or not isinstance(self.time_limit_ms, int):
            raise ValueError("time_limit_ms must be an int")
        if self.time_limit_ms <= 0:
            raise ValueError("time_limit_ms must be positive")

    @property
    def max_streak(self) -> int:
        """Questions in a full game; answering the last one auto-cashes."""
        return len(self.multipliers)

    @property
    def floats_needed(self) -> int:
        """Floats of the seed pair one game consumes."""
        return FLOATS_PER_QUESTION * self.max_streak

    @property
    def max_multiplier(self) -> Decimal:
        """The largest multiplier a game can pay (for payout limits)."""
        return self.multipliers[-1]

    def multiplier(self, streak: int) -> Decimal:
        """Total multiplier after `streak` correct answers (0 for streak 0)."""
        if not 0 <= streak <= self.max_streak:
            raise ValueError(f"streak {streak} outside 0..{self.max_streak}")
        return self.multipliers[streak - 1] if streak else Decimal(0)


DEFAULT_CONFIG = QuizConfig()


# --------------------------------------------------------------------------- draw


@dataclass(frozen=True, slots=True)
class PlannedQuestion:
    """A drawn question and its answer order: ``order[p]`` is the bank index shown at p."""

    question: Question
    order: tuple[int, ...]

    def __post_init__(self) -> None:
        if sorted(self.order) != list(range(ANSWERS_PER_QUESTION)):
            raise ValueError(f"answer order {self.order} is not a permutation of 0..3")

    @property
    def answers(self) -> tuple[str, ...]:
        """Answer texts in display order."""
        return tuple(self.question.answers[i] for i in self.order)

    @property
    def correct_index(self) -> int:
        """Display position of the correct answer (server side only)."""
        return self.order.index(0)


def _pick(remaining: list[T], f: float) -> T:
    """Remove and return remaining[floor(f * len(remaining))]."""
    if not 0.0 <= f < 1.0:
        raise ValueError(f"float {f!r} outside [0, 1)")
    # f is k / 2**32, so f * n is exact in a double for any n < 2**21.
    return remaining.pop(math.floor(f * len(remaining)))


def plan_questions(
    bank: Sequence[Question], floats: Sequence[float], count: int
) -> tuple[PlannedQuestion, ...]:
    """Draw `count` distinct questions and their answer orders from the seed floats."""
    if count > len(bank):
        raise ValueError(f"cannot draw {count} questions from a bank of {len(bank)}")
    if len(floats) != FLOATS_PER_QUESTION * count:
        raise ValueError(f"expected {FLOATS_PER_QUESTION * count} floats, got {len(floats)}")
    by_id = {q.id: q for q in bank}
    if len(by_id) != len(bank):
        raise ValueError("bank question ids are not unique")
    ids = sorted(by_id)
    plan = []
    for i in range(count):
        chunk = floats[FLOATS_PER_QUESTION * i : FLOATS_PER_QUESTION * (i + 1)]
        question = by_id[_pick(ids, chunk[0])]
        positions = list(range(ANSWERS_PER_QUESTION))
        order = [_pick(positions, f) for f in chunk[1:]] + positions
        plan.append(PlannedQuestion(question, tuple(order)))
    return tuple(plan)


# --------------------------------------------------------------------------- game

_MOVES: Mapping[GameState, frozenset[GameState]] = {
    GameState.ACTIVE: frozenset({GameState.ACTIVE, GameState.CASHED, GameState.LOST}),
    GameState.CASHED: frozenset(),
    GameState.LOST: frozenset(),
}


class QuizEvent(StrEnum):
    """What an action did (and, for the last one, how the game ended)."""

    CORRECT = "correct"
    WRONG = "wrong"
    LATE = "late"
    TIMEOUT = "timeout"
    CASHOUT = "cashout"


_ENDING_STATE: Mapping[QuizEvent, GameState] = {
    QuizEvent.CORRECT: GameState.CASHED,  # the answer that reached the max streak
    QuizEvent.CASHOUT: GameState.CASHED,
    QuizEvent.WRONG: GameState.LOST,
    QuizEvent.LATE: GameState.LOST,
    QuizEvent.TIMEOUT: GameState.LOST,
}


@dataclass(frozen=True, slots=True)
class QuizResult:
    """The result of `answer`, `cashout` or `expire`, safe to send to the player.

    ``multiplier`` is what the streak is worth after the action (0 once lost);
    ``payout`` is what to credit now (non-zero only when the game just cashed).
    ``reveal`` is the display position of the correct answer of the question
    the action closed; ``next_question`` is the public view of the question a
    correct answer opened, if any.
    """

    event: QuizEvent
    state: GameState
    streak: int
    multiplier: Decimal
    payout: int
    choice: int | None
    reveal: int
    correct_answer: str
    next_question: dict[str, JsonValue] | None = None

    def to_dict(self) -> dict[str, JsonValue]:
        """JSON-safe form."""
        return {
            "event": self.event.value,
            "state": self.state.value,
            "streak": self.streak,
            "multiplier": str(self.multiplier),
            "payout": self.payout,
            "choice": self.choice,
            "reveal": self.reveal,
            "correct_answer": self.correct_answer,
            "next_question": self.next_question,
        }


class QuizGame:
    """One quiz game: ACTIVE (a question is open, i.e. ASKING) -> CASHED | LOST.

    Build a new game with :meth:`start`, a stored one with :meth:`from_dict`.
    """

    def __init__(
        self,
        *,
        config: QuizConfig,
        amount: int,
        plan: Sequence[PlannedQuestion],
        deadline_ms: int,
    ) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("amount must be a positive int (minor units)")
        if len(plan) != config.max_streak:
            raise ValueError(f"{len(plan)} planned questions for max streak {config.max_streak}")
        if len({p.question.id for p in plan}) != len(plan):
            raise ValueError("a question is planned twice")
        self.config = config
        self.amount = amount
        self.plan = tuple(plan)
        self.state = GameState.ACTIVE
        self.streak = 0
        self.deadline_ms = deadline_ms
        self.choices: list[int] = []  # answered display positions, in order
        self.ended_by: QuizEvent | None = None

    @classmethod
    def start(
        cls,
        bank: Sequence[Question],
        floats: Sequence[float],
        *,
        amount: int,
        now_ms: int,
        config: QuizConfig = DEFAULT_CONFIG,
    ) -> Self:
        """Open question 1 at `now_ms`; needs exactly `config.floats_needed` floats."""
        plan = plan_questions(bank, floats, config.max_streak)
        return cls(
            config=config, amount=amount, plan=plan, deadline_ms=now_ms + config.time_limit_ms
        )

    # ----------------------------------------------------------------- views

    @property
    def current(self) -> PlannedQuestion:
        """The open question, or the one open when the game ended (the last at max streak)."""
        return self.plan[min(self.streak, len(self.plan) - 1)]

    @property
    def multiplier(self) -> Decimal:
        """Multiplier of the answered streak (what a cashout pays), 0 once lost."""
        if self.state is GameState.LOST:
            return Decimal(0)
        return self.config.multiplier(self.streak)

    @property
    def can_cashout(self) -> bool:
        """Cashing out needs an open question and at least one correct answer."""
        return self.state is GameState.ACTIVE and self.streak >= 1

    def public_view(self) -> dict[str, JsonValue]:
        """The open question as the player may see it: never the correct position."""
        self._require_active()
        q = self.current
        return {
            "number": self.streak + 1,
            "of": self.config.max_streak,
            "category": q.question.category,
            "question": q.question.question,
            "answers": list(q.answers),
            "deadline_ms": self.deadline_ms,
            "time_limit_ms": self.config.time_limit_ms,
            "multiplier": str(self.config.multiplier(self.streak)),
            "next_multiplier": str(self.config.multiplier(self.streak + 1)),
            "can_cashout": self.can_cashout,
        }

    def view(self) -> dict[str, JsonValue]:
        """What the player may see in any state: the open question while active."""
        active = self.state is GameState.ACTIVE
        return {
            "state": self.state.value,
            "streak": self.streak,
            "max_streak": self.config.max_streak,
            "multiplier": str(self.multiplier),
            "ended_by": self.ended_by.value if self.ended_by else None,
            "question": self.public_view() if active else None,
            "reveal": None if active else self.current.correct_index,
        }

    def outcome(self) -> Outcome:
        """The settled game's multiplier and the details a verifier needs."""
        if self.state is GameState.ACTIVE:
            raise InvalidActionError("the game is still in progress")
        asked = self.plan[: min(self.streak + 1, len(self.plan))]  # incl. the one that ended it
        questions: list[JsonValue] = [
            {
                "id": p.question.id,
                "order": list(p.order),
                "reveal": p.correct_index,
                "choice": self.choices[i] if i < len(self.choices) else None,
            }
            for i, p in enumerate(asked)
        ]
        return Outcome(
            multiplier=self.multiplier,
            details={
                "streak": self.streak,
                "ended_by": self.ended_by.value if self.ended_by else None,
                "questions": questions,
            },
        )

    # ----------------------------------------------------------------- actions

    def answer(self, choice: int, now_ms: int) -> QuizResult:
        """Answer the open question with display position `choice` (0..3).

        Wrong, or after the deadline (even if right): lost. Right and in time:
        the next question opens with deadline `now_ms + time_limit_ms`, or at
        the max streak the game cashes out.
        """
        self._require_active()
        if isinstance(choice, bool) or not isinstance(choice, int):
            raise InvalidActionError("choice must be an int")
        if not 0 <= choice < ANSWERS_PER_QUESTION:
            raise InvalidActionError(f"choice must be 0..{ANSWERS_PER_QUESTION - 1}, got {choice}")
        closed = self.current
        self.choices.append(choice)
        if now_ms > self.deadline_ms:
            return self._finish(QuizEvent.LATE, closed, choice)
        if choice != closed.correct_index:
            return self._finish(QuizEvent.WRONG, closed, choice)
        self.streak += 1
        if self.streak == self.config.max_streak:
            return self._finish(QuizEvent.CORRECT, closed, choice)
        self.state = transition(_MOVES, self.state, GameState.ACTIVE)
        self.deadline_ms = now_ms + self.config.time_limit_ms
        return self._result(QuizEvent.CORRECT, closed, choice, self.public_view())

    def cashout(self, now_ms: int) -> QuizResult:
        """Forfeit the open question and take the answered streak's multiplier.

        Needs at least one correct answer. After the deadline the game is lost
        by timeout instead, exactly as :meth:`expire` would settle it.
        """
        self._require_active()
        if not self.can_cashout:
            raise InvalidActionError("cashing out needs at least one correct answer")
        event = QuizEvent.TIMEOUT if now_ms > self.deadline_ms else QuizEvent.CASHOUT
        return self._finish(event, self.current, None)

    def expire(self, now_ms: int) -> QuizResult:
        """Settle as lost once the open question's deadline has passed."""
        self._require_active()
        if now_ms <= self.deadline_ms:
            raise InvalidActionError(f"the question is open until {self.deadline_ms}")
        return self._finish(QuizEvent.TIMEOUT, self.current, None)

    # ----------------------------------------------------------------- helpers

    def _require_active(self) -> None:
        if self.state is not GameState.ACTIVE:
            raise GameNotActiveError(f"game is {self.state.value}")

    def _finish(self, event: QuizEvent, closed: PlannedQuestion, choice: int | None) -> QuizResult:
        self.state = transition(_MOVES, self.state, _ENDING_STATE[event])
        self.ended_by = event
        return self._result(event, closed, choice)

    def _result(
        self,
        event: QuizEvent,
        closed: PlannedQuestion,
        choice: int | None,
        next_question: dict[str, JsonValue] | None = None,
    ) -> QuizResult:
        cashed = self.state is GameState.CASHED
        return QuizResult(
            event=event,
            state=self.state,
            streak=self.streak,
            multiplier=self.multiplier,
            payout=payout(self.amount, self.multiplier) if cashed else 0,
            choice=choice,
            reveal=closed.correct_index,
            correct_answer=closed.question.correct,
            next_question=next_question,
        )

    # ----------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, JsonValue]:
        """JSON-safe server-side state (holds the correct answers: never send it)."""
        return _Snapshot(
            version=_SERIAL_VERSION,
            amount=self.amount,
            multipliers=list(self.config.multipliers),
            time_limit_ms=self.config.time_limit_ms,
            state=self.state,
            streak=self.streak,
            deadline_ms=self.deadline_ms,
            choices=list(self.choices),
            ended_by=self.ended_by,
            plan=[_PlanItem(question=p.question, order=p.order) for p in self.plan],
        ).model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, JsonValue]) -> Self:
        """Rebuild a game from :meth:`to_dict` output; ValueError if inconsistent.

        The questions are stored whole, so a stored game survives bank edits.
        """
        snap = _Snapshot.model_validate(data)
        config = QuizConfig(tuple(snap.multipliers), snap.time_limit_ms)
        plan = tuple(PlannedQuestion(p.question, p.order) for p in snap.plan)
        game = cls(config=config, amount=snap.amount, plan=plan, deadline_ms=snap.deadline_ms)
        game.state, game.streak, game.ended_by = snap.state, snap.streak, snap.ended_by
        game.choices = list(snap.choices)
        game._check_consistency()
        return game

    def _check_consistency(self) -> None:
        def bad(why: str) -> ValueError:
            return ValueError(f"inconsistent quiz state: {why}")

        if self.streak > self.config.max_streak:
            raise bad(f"streak {self.streak} above max streak {self.config.max_streak}")
        answered_last = self.ended_by in (QuizEvent.WRONG, QuizEvent.LATE)
        if len(self.choices) != self.streak + answered_last:
            raise bad(f"{len(self.choices)} answers for streak {self.streak}")
        if any(
            c != p.correct_index
            for c, p in zip(self.choices[: self.streak], self.plan[: self.streak], strict=True)
        ):
            raise bad("an answer counted in the streak is not correct")
        if self.ended_by is QuizEvent.WRONG and self.choices[-1] == self.current.correct_index:
            raise bad("a wrong answer that is correct")
        expected = GameState.ACTIVE if self.ended_by is None else _ENDING_STATE[self.ended_by]
        if self.state is not expected:
            raise bad(f"state {self.state.value} with ended_by {self.ended_by}")
        if (self.streak == self.config.max_streak) != (self.ended_by is QuizEvent.CORRECT):
            raise bad(f"streak {self.streak} with ended_by {self.ended_by}")
        if self.ended_by is QuizEvent.CASHOUT and self.streak == 0:
            raise bad("cashed out with no correct answer")


class _PlanItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question: Question
    order: tuple[int, int, int, int]


class _Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    amount: Annotated[int, Field(gt=0, strict=True)]
    multipliers: list[Decimal]
    time_limit_ms: int
    state: GameState
    streak: Annotated[int, Field(ge=0)]
    deadline_ms: int
    choices: list[Annotated[int, Field(ge=0, lt=ANSWERS_PER_QUESTION)]]
    ended_by: QuizEvent | None
    plan: list[_PlanItem]
