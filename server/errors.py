"""Error codes of the HTTP API and the WebSocket protocol."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable, machine-readable error codes (documented in README.md)."""

    BAD_JSON = "BAD_JSON"
    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_OP = "UNKNOWN_OP"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TX_NOT_OPEN = "TX_NOT_OPEN"
    GAME_ACTIVE = "GAME_ACTIVE"
    GAME_NOT_ACTIVE = "GAME_NOT_ACTIVE"
    RATE_LIMITED = "RATE_LIMITED"
    FRAME_TOO_LARGE = "FRAME_TOO_LARGE"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    UNAVAILABLE = "UNAVAILABLE"
    BUSY = "BUSY"
    ROUND_CLOSED = "ROUND_CLOSED"
    ALREADY_BET = "ALREADY_BET"
    NO_BET = "NO_BET"
    LOSS_LIMIT = "LOSS_LIMIT"
    WAGER_LIMIT = "WAGER_LIMIT"
    DEPOSIT_LIMIT = "DEPOSIT_LIMIT"
    COOL_OFF = "COOL_OFF"
    SELF_EXCLUDED = "SELF_EXCLUDED"
    UNKNOWN_ZONE = "UNKNOWN_ZONE"
    ZONE_LOCKED = "ZONE_LOCKED"
    INTERNAL = "INTERNAL"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_JSON: 400,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_OP: 404,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INSUFFICIENT_FUNDS: 409,
    ErrorCode.INVALID_AMOUNT: 400,
    ErrorCode.UNKNOWN_CURRENCY: 400,
    ErrorCode.LIMIT_EXCEEDED: 409,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.USERNAME_TAKEN: 409,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.TX_NOT_OPEN: 409,
    ErrorCode.GAME_ACTIVE: 409,
    ErrorCode.GAME_NOT_ACTIVE: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.FRAME_TOO_LARGE: 413,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.BUSY: 503,
    ErrorCode.ROUND_CLOSED: 409,
    ErrorCode.ALREADY_BET: 409,
    ErrorCode.NO_BET: 409,
    ErrorCode.LOSS_LIMIT: 403,
    ErrorCode.WAGER_LIMIT: 403,
    ErrorCode.DEPOSIT_LIMIT: 403,
    ErrorCode.COOL_OFF: 403,
    ErrorCode.SELF_EXCLUDED: 403,
    ErrorCode.UNKNOWN_ZONE: 400,
    ErrorCode.ZONE_LOCKED: 409,
    ErrorCode.INTERNAL: 500,
}


class CroupierError(Exception):
    """A failure to report to the client with a code, a message and maybe a field and
    data (e.g. `resets_at` of a limit's refusal)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        """The `error` object of a reply."""
        error: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.data is not None:
            error["data"] = self.data
        return error


def script_error(reply: Sequence[Any]) -> CroupierError:
    """The error a Lua script answered: {CODE, message}, or a limit's refusal
    {CODE, message, resets at ms or '' for never}, whose data says `resets_at`."""
    if len(reply) < 3:
        return CroupierError(ErrorCode(reply[0]), reply[1])
    resets_at = int(reply[2]) if reply[2] else None
    return CroupierError(ErrorCode(reply[0]), reply[1], data={"resets_at": resets_at})
