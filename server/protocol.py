"""The boundary: request envelopes, shared field types, validation errors.

Every request, over HTTP or WebSocket, is validated by a pydantic model with
`extra="forbid"` before anything else happens. Validation errors become a
specific error code chosen by the kind of error: a present amount that is not
a valid amount is INVALID_AMOUNT, an unknown currency is UNKNOWN_CURRENCY,
everything else (a missing or unexpected field included) BAD_REQUEST with the
failing field.
"""

import json
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from server.config import MAX_AMOUNT
from server.errors import CroupierError, ErrorCode

AMOUNT_FIELDS = frozenset({"amount", "payout"})
SHAPE_ERRORS = frozenset({"missing", "extra_forbidden"})
"""Errors about the request's shape, not about a field's value: BAD_REQUEST whatever the field."""


def _known_currency(value: str, info: ValidationInfo) -> str:
    currencies = (info.context or {}).get("currencies", ())
    if value not in currencies:
        raise PydanticCustomError(
            "unknown_currency", "unknown currency {currency}", {"currency": value}
        )
    return value


Amount = Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)]
"""An amount in minor units: a JSON integer in [1, 2**53-1]; no floats, strings or bools."""
Currency = Annotated[StrictStr, Field(max_length=12), AfterValidator(_known_currency)]
"""A configured currency code (validation needs `context={"currencies": ...}`)."""
IdempotencyKey = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")]
"""A client-chosen key naming one money operation; a retry reuses it."""
GameName = Annotated[StrictStr, Field(pattern=r"^[a-z0-9_\-]{1,32}$")]
RequestId = (
    Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)] | Annotated[StrictStr, Field(max_length=64)]
)
_REQUEST_ID: TypeAdapter[int | str] = TypeAdapter(RequestId)


class Params(BaseModel):
    """Base of every request model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def validation_error(error: ValidationError) -> CroupierError:
    """The client-facing error for the first problem pydantic found."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "unknown_currency":
        return CroupierError(ErrorCode.UNKNOWN_CURRENCY, first["msg"], field)
    if first["type"] == "unknown_zone":
        return CroupierError(ErrorCode.UNKNOWN_ZONE, first["msg"], field)
    if first["type"] not in SHAPE_ERRORS and first["loc"] and first["loc"][0] in AMOUNT_FIELDS:
        return CroupierError(
            ErrorCode.INVALID_AMOUNT,
            f"{field} must be an integer number of minor units in [1, {MAX_AMOUNT}]",
            field,
        )
    message = first["msg"] if field is None else f"{field}: {first['msg']}"
    return CroupierError(ErrorCode.BAD_REQUEST, message, field)


P = TypeVar("P", bound=Params)


def parse_params(model: type[P], data: Any, context: dict[str, Any]) -> P:
    """Validate request params, raising a CroupierError on the first problem."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise validation_error(error) from None


def parse_json_object(raw: str | bytes) -> dict[str, Any]:
    """A JSON object from text: BAD_JSON if it is not JSON, BAD_REQUEST if not an object."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = _loads_beyond_orjson(raw)
    if not isinstance(data, dict):
        raise CroupierError(ErrorCode.BAD_REQUEST, "a request is a JSON object")
    return data


def _loads_beyond_orjson(raw: str | bytes) -> Any:
    # orjson refuses integers beyond 64 bits, which are valid JSON: such a
    # message is parsed again here so that it gets the specific error later
    # (INVALID_AMOUNT for a huge amount) rather than BAD_JSON.
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise CroupierError(ErrorCode.BAD_JSON, "the message is not valid JSON") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def take_request_id(request: dict[str, Any]) -> int | str | None:
    """Remove and check a request's `id`: an integer or a string of at most 64 characters."""
    request_id = request.pop("id", None)
    if request_id is None:
        return None
    try:
        return _REQUEST_ID.validate_python(request_id)
    except ValidationError:
        raise CroupierError(
            ErrorCode.BAD_REQUEST, "id: an integer or a string of at most 64 characters", "id"
        ) from None


def dumps(value: Any) -> str:
    """Compact JSON text of a reply or an event."""
    return orjson.dumps(value).decode()
