"""The boundary picks an error code by the kind of error, not by the field's name."""

import asyncio
from typing import Any

import httpx
import pytest

from server.bets.service import BetRequest
from server.errors import CroupierError, ErrorCode
from server.ops import NoParams
from server.protocol import parse_params
from tests.servers import ServerProcess
from tests.wsclient import WsClient, new_guest

CONTEXT = {"currencies": {"PLAY": 2}}
BET = {"game": "dice", "amount": 100, "currency": "PLAY", "key": "k"}


@pytest.mark.parametrize(
    ("model", "data", "code", "field"),
    [
        (NoParams, {"amount": 5}, ErrorCode.BAD_REQUEST, "amount"),
        (NoParams, {"payout": 5}, ErrorCode.BAD_REQUEST, "payout"),
        (BetRequest, {**BET, "amount": 0}, ErrorCode.INVALID_AMOUNT, "amount"),
        (BetRequest, {**BET, "amount": "5"}, ErrorCode.INVALID_AMOUNT, "amount"),
        (BetRequest, {k: v for k, v in BET.items() if k != "amount"}, ErrorCode.BAD_REQUEST,
         "amount"),
        (BetRequest, {**BET, "currency": "XYZ"}, ErrorCode.UNKNOWN_CURRENCY, "currency"),
    ],
)  # fmt: skip
def test_error_code_follows_the_kind_of_error(
    model: Any, data: dict[str, Any], code: ErrorCode, field: str
) -> None:
    with pytest.raises(CroupierError) as refused:
        parse_params(model, data, CONTEXT)
    assert (refused.value.code, refused.value.field) == (code, field)


async def test_an_unexpected_amount_field_is_a_bad_request_on_the_wire(
    server: ServerProcess,
) -> None:
    client = await WsClient.open(server.ws_url)
    try:
        reply = await client.call("ping", payout=5)
        assert reply["error"]["code"] == "BAD_REQUEST", reply
        assert "Extra inputs are not permitted" in reply["error"]["message"]
    finally:
        await client.close()


async def test_signing_in_sends_a_balance_for_every_configured_currency(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    """A new guest has PLAY only; the site still needs a BTC balance (0) to show."""
    token, _ = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        async with asyncio.timeout(5):
            while set(client.balances) != {"PLAY", "BTC"}:
                await client.events.get()
        assert client.balances["BTC"][1] == 0 and client.balances["PLAY"][1] == 100_000
    finally:
        await client.close()
