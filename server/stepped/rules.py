"""Adapters giving Mines, HiLo and Quiz one shape for the server's step flow.

Each adapter names its start params and its actions, builds a game from a
bet's seeds or from its stored record, applies actions, and says what the
player may see. The games' own rules live in `games/`.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, Field, StrictInt

from games.base import JsonValue
from games.fairness import floats
from games.hilo import MAX_CARDS, HiloGame, card_from_float
from games.mines import TILES, MinesGame
from games.quiz import DEFAULT_CONFIG, Question, QuizConfig, QuizGame, plan_questions
from games.states import GameState
from server.protocol import Params


class NoStartParams(Params):
    pass


class MinesStart(Params):
    mines: Annotated[StrictInt, Field(ge=1, le=TILES - 1)]


class HiloVerifyParams(Params):
    cards: Annotated[StrictInt, Field(ge=1, le=MAX_CARDS)] = 13


class RevealParams(Params):
    tile: Annotated[StrictInt, Field(ge=0, le=TILES - 1)]


class GuessParams(Params):
    guess: Literal["higher_or_same", "lower_or_same", "skip"]


class AnswerParams(Params):
    choice: Annotated[StrictInt, Field(ge=0, le=3)]


class Seeds(Protocol):
    """What a game needs of its open bet."""

    def __getitem__(self, key: str) -> Any: ...


class StepRules(Protocol):
    """One step-by-step game as the server drives it."""

    name: ClassVar[str]
    start_params: ClassVar[type[Params]]
    actions: ClassVar[Mapping[str, type[Params]]]

    def new(self, bet: Seeds, params: Params, now_ms: int) -> Any:
        """A fresh game for an open bet (its seeds, nonce, amount and start params)."""

    def load(self, record: Mapping[str, JsonValue]) -> Any:
        """A game from its stored record."""

    def act(self, game: Any, action: str, params: Params, now_ms: int) -> dict[str, JsonValue]:
        """Apply a player's action; returns what happened (for the reply)."""

    def cashout(self, game: Any, now_ms: int) -> None:
        """End the game as a win (raises if the rules refuse it)."""

    def expire(self, game: Any, now_ms: int) -> bool:
        """End the game if its time ran out; True if it did."""

    def deadline(self, game: Any) -> int | None:
        """When (ms) the game ends by itself if the player does not act; None if never."""

    def payout_multiplier(self, game: Any) -> Decimal:
        """What the game pays per unit staked if it ends now as it stands (0 once lost)."""

    def view(self, game: Any) -> dict[str, JsonValue]:
        """What the player may see (never the secrets of an active game)."""

    def record(self, game: Any) -> dict[str, JsonValue]:
        """The server-side record to store (may hold secrets)."""

    verify_params: ClassVar[type[Params]]

    def verify(
        self, server_seed: str, client_seed: str, nonce: int, params: BaseModel
    ) -> dict[str, JsonValue]:
        """What the seeds decided, whatever the player did (for anyone to check)."""


def state_of(game: Any) -> GameState:
    """The ACTIVE / CASHED / LOST state every game exposes."""
    state: GameState = game.state
    return state


class MinesRules:
    """Mines: reveal tiles, cash out before a mine."""

    name: ClassVar[str] = "mines"
    start_params: ClassVar[type[Params]] = MinesStart
    actions: ClassVar[Mapping[str, type[Params]]] = {"reveal": RevealParams}

    verify_params: ClassVar[type[Params]] = MinesStart

    def verify(
        self, server_seed: str, client_seed: str, nonce: int, params: BaseModel
    ) -> dict[str, JsonValue]:
        assert isinstance(params, MinesStart)
        game = MinesGame(server_seed, client_seed, nonce, params.mines)
        return {"mines": sorted(game.mines)}

    def new(self, bet: Seeds, params: Params, now_ms: int) -> MinesGame:
        assert isinstance(params, MinesStart)
        return MinesGame(bet["server_seed"], bet["client_seed"], bet["nonce"], params.mines)

    def load(self, record: Mapping[str, JsonValue]) -> MinesGame:
        return MinesGame.from_dict(record)

    def act(
        self, game: MinesGame, action: str, params: Params, now_ms: int
    ) -> dict[str, JsonValue]:
        assert isinstance(params, RevealParams)
        return {"tile": params.tile, "result": game.reveal(params.tile).value}

    def cashout(self, game: MinesGame, now_ms: int) -> None:
        game.cashout()

    def expire(self, game: MinesGame, now_ms: int) -> bool:
        return False

    def deadline(self, game: MinesGame) -> int | None:
        return None

    def payout_multiplier(self, game: MinesGame) -> Decimal:
        return game.payout_multiplier

    def view(self, game: MinesGame) -> dict[str, JsonValue]:
        return game.view()

    def record(self, game: MinesGame) -> dict[str, JsonValue]:
        return game.to_dict()


class HiloRules:
    """HiLo: guess higher-or-same or lower-or-same, cash out any time after a win."""

    name: ClassVar[str] = "hilo"
    start_params: ClassVar[type[Params]] = NoStartParams
    actions: ClassVar[Mapping[str, type[Params]]] = {"guess": GuessParams}

    verify_params: ClassVar[type[Params]] = HiloVerifyParams

    def verify(
        self, server_seed: str, client_seed: str, nonce: int, params: BaseModel
    ) -> dict[str, JsonValue]:
        assert isinstance(params, HiloVerifyParams)
        drawn = floats(server_seed, client_seed, nonce, params.cards)  # one card per float
        return {"cards": [card_from_float(value).label for value in drawn]}

    def new(self, bet: Seeds, params: Params, now_ms: int) -> HiloGame:
        return HiloGame(bet["server_seed"], bet["client_seed"], bet["nonce"])

    def load(self, record: Mapping[str, JsonValue]) -> HiloGame:
        return HiloGame.from_dict(record)

    def act(self, game: HiloGame, action: str, params: Params, now_ms: int) -> dict[str, JsonValue]:
        assert isinstance(params, GuessParams)
        step = game.guess(params.guess)
        result: dict[str, JsonValue] = {
            "guess": params.guess,
            "card": step.card.label,
            "result": step.result.value,
        }
        if game.state is GameState.CASHED:  # only the last card a game may draw cashes out
            result["card_limit"] = True
        return result

    def cashout(self, game: HiloGame, now_ms: int) -> None:
        game.cashout()

    def expire(self, game: HiloGame, now_ms: int) -> bool:
        return False

    def deadline(self, game: HiloGame) -> int | None:
        return None

    def payout_multiplier(self, game: HiloGame) -> Decimal:
        return game.payout_multiplier

    def view(self, game: HiloGame) -> dict[str, JsonValue]:
        return game.view()

    def record(self, game: HiloGame) -> dict[str, JsonValue]:
        return game.to_dict()


class QuizRules:
    """Quiz: a streak of timed questions; cash out between answers."""

    name: ClassVar[str] = "quiz"
    start_params: ClassVar[type[Params]] = NoStartParams
    actions: ClassVar[Mapping[str, type[Params]]] = {"answer": AnswerParams}

    def __init__(self, bank: tuple[Question, ...], config: QuizConfig = DEFAULT_CONFIG) -> None:
        self._bank = bank
        self._config = config

    verify_params: ClassVar[type[Params]] = NoStartParams

    def verify(
        self, server_seed: str, client_seed: str, nonce: int, params: BaseModel
    ) -> dict[str, JsonValue]:
        drawn = floats(server_seed, client_seed, nonce, self._config.floats_needed)
        plan = plan_questions(self._bank, drawn, self._config.max_streak)
        return {
            "questions": [
                {"id": planned.question.id, "answers": list(planned.answers),
                 "correct": planned.correct_index}
                for planned in plan
            ]
        }  # fmt: skip

    def new(self, bet: Seeds, params: Params, now_ms: int) -> QuizGame:
        drawn = floats(
            bet["server_seed"], bet["client_seed"], bet["nonce"], self._config.floats_needed
        )
        return QuizGame.start(
            self._bank, drawn, amount=bet["amount"], now_ms=now_ms, config=self._config
        )

    def load(self, record: Mapping[str, JsonValue]) -> QuizGame:
        return QuizGame.from_dict(record)

    def act(self, game: QuizGame, action: str, params: Params, now_ms: int) -> dict[str, JsonValue]:
        assert isinstance(params, AnswerParams)
        result = game.answer(params.choice, now_ms).to_dict()
        result.pop("next_question", None)  # the view carries the open question
        return result

    def cashout(self, game: QuizGame, now_ms: int) -> None:
        game.cashout(now_ms)

    def expire(self, game: QuizGame, now_ms: int) -> bool:
        if game.state is not GameState.ACTIVE or now_ms <= game.deadline_ms:
            return False
        game.expire(now_ms)
        return True

    def deadline(self, game: QuizGame) -> int | None:
        return game.deadline_ms if game.state is GameState.ACTIVE else None

    def payout_multiplier(self, game: QuizGame) -> Decimal:
        return game.multiplier

    def view(self, game: QuizGame) -> dict[str, JsonValue]:
        return game.view()

    def record(self, game: QuizGame) -> dict[str, JsonValue]:
        return game.to_dict()
