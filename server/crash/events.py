"""The Crash broadcasts, each encoded once: the same text goes to every socket."""

from collections.abc import Iterable
from typing import Any

from server.crash.records import Bet, RoundState, show
from server.protocol import dumps


def frame(event: str, data: dict[str, Any]) -> str:
    return dumps({"event": event, "data": data})


def state_data(state: RoundState | None, bets: Iterable[Bet], server_time: int) -> dict[str, Any]:
    """`crash.state`: the round, its players and the server's clock (ms)."""
    if state is None:
        return {"round_id": None, "phase": None, "server_time": server_time, "players": []}
    players = [bet.public() for bet in bets if bet.visible]
    return {**state.public(), "server_time": server_time, "players": players}


def tick_frame(round_id: int, elapsed_ms: int, mult: int) -> str:
    return frame(
        "crash.tick", {"round_id": round_id, "multiplier": show(mult), "elapsed_ms": elapsed_ms}
    )


def players_frame(event: str, round_id: int, bets: Iterable[Bet]) -> str:
    """`crash.bet` or `crash.cashout`: the bets that just opened or cashed out."""
    return frame(event, {"round_id": round_id, "players": [bet.public() for bet in bets]})


def crashed_frame(round_id: int, elapsed_ms: int, point: int, round_hash: str, voided: bool) -> str:
    """`crash.crashed`: the point and the round's hash, revealed now."""
    return frame(
        "crash.crashed",
        {
            "round_id": round_id,
            "point": show(point),
            "hash": round_hash,
            "elapsed_ms": elapsed_ms,
            "voided": voided,
        },
    )
