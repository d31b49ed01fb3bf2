"""WebSocket ops of the step-by-step games, generated per game:

`<game>.start {amount, currency, key, ...start params}`, one op per action
(`mines.reveal {tile}`, `hilo.guess {guess}`, `quiz.answer {choice}`),
`<game>.cashout` and `<game>.active` (resume the game in progress).
"""

from typing import Any, cast

from pydantic import create_model

from server.ops import Handler, NoParams, register
from server.protocol import Amount, Currency, IdempotencyKey, Params
from server.realtime.connection import Connection
from server.services import Services
from server.stepped.rules import HiloRules, MinesRules, QuizRules, StepRules


class StartRequest(Params):
    amount: Amount
    currency: Currency
    key: IdempotencyKey


def user_id_of(connection: Connection) -> str:
    assert connection.user_id is not None  # these ops need auth
    return connection.user_id


def start_handler(rules: type[StepRules]) -> Handler:
    async def start(services: Services, connection: Connection, params: Any) -> dict[str, Any]:
        game_fields = set(rules.start_params.model_fields)
        game_params = rules.start_params.model_validate(params.model_dump(include=game_fields))
        account = connection.account
        assert account is not None  # these ops need auth
        return await services.stepped.start(
            account.id,
            account.name,
            rules.name,
            amount=params.amount,
            currency=params.currency,
            key=params.key,
            params=game_params,
        )

    return start


def action_handler(rules: type[StepRules], action: str | None) -> Handler:
    async def act(services: Services, connection: Connection, params: Any) -> dict[str, Any]:
        return await services.stepped.act(user_id_of(connection), rules.name, action, params)

    return act


def active_handler(rules: type[StepRules]) -> Handler:
    async def active(services: Services, connection: Connection, params: Any) -> dict[str, Any]:
        return await services.stepped.active(user_id_of(connection), rules.name)

    return active


def register_game(rules: type[StepRules]) -> None:
    """Register the ops of one step-by-step game."""
    request = cast(
        type[Params],
        create_model(
            f"{rules.name.title()}StartRequest", __base__=(StartRequest, rules.start_params)
        ),
    )
    register(f"{rules.name}.start", request)(start_handler(rules))
    for action, params in rules.actions.items():
        register(f"{rules.name}.{action}", params)(action_handler(rules, action))
    register(f"{rules.name}.cashout", NoParams)(action_handler(rules, None))
    register(f"{rules.name}.active", NoParams)(active_handler(rules))


for game_rules in (MinesRules, HiloRules, QuizRules):
    register_game(game_rules)
