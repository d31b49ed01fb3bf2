"""The wallet scripts against a real Redis: exactness, idempotency, ledger."""

import asyncio
import json
import secrets

import pytest
from redis.asyncio import Redis

from server.audit import audit_user
from server.config import MAX_AMOUNT
from server.errors import CroupierError, ErrorCode
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys, Wallet, WalletScripts


@pytest.fixture(scope="module")
def scripts(runner: ScriptRunner) -> WalletScripts:
    return WalletScripts.register(runner)


@pytest.fixture(scope="module")
def wallet(redis: Redis, scripts: WalletScripts) -> Wallet:
    return Wallet(redis, scripts, idempotency_ttl_s=86_400)


def new_user() -> str:
    return secrets.token_hex(8)


async def funded(wallet: Wallet, amount: int, currency: str = "PLAY") -> str:
    user = new_user()
    await wallet.credit(user, amount, currency, key="fund", kind="deposit")
    return user


async def expect_error(code: ErrorCode, awaitable: object) -> CroupierError:
    with pytest.raises(CroupierError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code is code, caught.value.message
    return caught.value


async def test_exact_balance_bet_leaves_zero(wallet: Wallet) -> None:
    user = await funded(wallet, 500)
    movement = await wallet.debit(user, 500, "PLAY", key="b1", game="dice", ref="r1")
    assert movement.balance == 0
    assert movement.tx is not None and movement.tx["status"] == "open"
    assert (await wallet.balances(user)).balances == {"PLAY": 0}


async def test_debit_above_balance_is_refused_and_changes_nothing(wallet: Wallet) -> None:
    user = await funded(wallet, 500)
    await expect_error(ErrorCode.INSUFFICIENT_FUNDS, wallet.debit(user, 501, "PLAY", key="b1"))
    snapshot = await wallet.balances(user)
    assert snapshot.balances == {"PLAY": 500} and snapshot.version == 1
    # The refused key was not consumed: the same key works once funds exist.
    await wallet.credit(user, 1, "PLAY", key="top-up", kind="deposit")
    assert (await wallet.debit(user, 501, "PLAY", key="b1")).balance == 0


async def test_debit_of_an_empty_currency_is_refused(wallet: Wallet) -> None:
    user = await funded(wallet, 500)
    await expect_error(ErrorCode.INSUFFICIENT_FUNDS, wallet.debit(user, 1, "BTC", key="b1"))


@pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT + 1, 1.5, True, "10"])
async def test_bad_amounts_are_refused(wallet: Wallet, amount: object) -> None:
    user = await funded(wallet, 500)
    await expect_error(ErrorCode.INVALID_AMOUNT, wallet.debit(user, amount, "PLAY", key="k"))  # type: ignore[arg-type]
    await expect_error(
        ErrorCode.INVALID_AMOUNT,
        wallet.credit(user, amount, "PLAY", key="k", kind="deposit"),  # type: ignore[arg-type]
    )
    assert (await wallet.balances(user)).version == 1


async def test_lua_refuses_non_canonical_amounts(redis: Redis, scripts: WalletScripts) -> None:
    """The scripts check amounts themselves, whatever the caller sends."""
    user = new_user()
    keys = UserKeys(user)
    for raw in ["-5", "0", "1e3", "01", "9007199254740992", "12.5", ""]:
        status, _ = await scripts.credit(
            keys=[
                keys.wallet,
                keys.ledger,
                keys.idempotency(f"k{raw}"),
                keys.journal,
            ],
            args=[user, "PLAY", raw, "deposit", "", "", "60", keys.events],
        )
        assert status == "INVALID_AMOUNT", raw
    assert await redis.exists(keys.wallet, keys.ledger) == 0


async def test_large_amounts_keep_every_digit(wallet: Wallet, redis: Redis) -> None:
    user = new_user()
    big = MAX_AMOUNT - 7
    movement = await wallet.credit(user, big, "BTC", key="big", kind="deposit")
    assert movement.balance == big
    await expect_error(
        ErrorCode.LIMIT_EXCEEDED, wallet.credit(user, 8, "BTC", key="over", kind="deposit")
    )
    await wallet.credit(user, 7, "BTC", key="to-max", kind="deposit")
    raw = await redis.hget(UserKeys(user).ledger, "2")
    assert f'"balance_after":{MAX_AMOUNT}' in raw and "e+" not in raw
    assert (await wallet.balances(user)).balances["BTC"] == MAX_AMOUNT


async def test_replayed_key_returns_first_result_and_applies_once(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    first = await wallet.debit(user, 300, "PLAY", key="same", game="dice", ref="r")
    again = await wallet.debit(user, 300, "PLAY", key="same", game="dice", ref="r")
    assert not first.replayed and again.replayed
    assert again.tx == first.tx and again.balance == 700
    assert (await wallet.balances(user)).balances == {"PLAY": 700}


async def test_key_reused_with_other_arguments_is_a_conflict(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    await wallet.debit(user, 300, "PLAY", key="same")
    await expect_error(ErrorCode.IDEMPOTENCY_CONFLICT, wallet.debit(user, 301, "PLAY", key="same"))
    await expect_error(
        ErrorCode.IDEMPOTENCY_CONFLICT,
        wallet.credit(user, 300, "PLAY", key="same", kind="deposit"),
    )
    assert (await wallet.balances(user)).balances == {"PLAY": 700}


async def test_keys_are_per_user(wallet: Wallet) -> None:
    alice, bob = await funded(wallet, 100), await funded(wallet, 100)
    await wallet.debit(alice, 10, "PLAY", key="shared")
    assert not (await wallet.debit(bob, 10, "PLAY", key="shared")).replayed


async def test_idempotency_keys_expire_no_sooner_than_a_day(wallet: Wallet, redis: Redis) -> None:
    user = await funded(wallet, 100)
    await wallet.debit(user, 10, "PLAY", key="ttl")
    assert await redis.ttl(UserKeys(user).idempotency("ttl")) >= 86_400 - 5


async def test_settle_pays_once_and_marks_the_bet(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    bet = await wallet.debit(user, 100, "PLAY", key="bet", game="dice", ref="round-1")
    assert bet.tx is not None
    settled = await wallet.settle(user, bet.tx["id"], 250, key="settle-1")
    assert settled.balance == 1_150 and settled.bet is not None
    assert settled.bet["status"] == "settled"
    assert settled.tx is not None and settled.tx["type"] == "win"
    assert settled.tx["ref"] == "round-1" and settled.tx["game"] == "dice"
    assert (await wallet.settle(user, bet.tx["id"], 250, key="settle-1")).replayed
    await expect_error(ErrorCode.TX_NOT_OPEN, wallet.settle(user, bet.tx["id"], 250, key="x"))
    await expect_error(ErrorCode.TX_NOT_OPEN, wallet.rollback(user, bet.tx["id"], key="rb"))
    assert (await wallet.balances(user)).balances == {"PLAY": 1_150}


async def test_losing_settle_writes_no_entry(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    bet = await wallet.debit(user, 100, "PLAY", key="bet", game="dice")
    assert bet.tx is not None
    lost = await wallet.settle(user, bet.tx["id"], 0, key="settle")
    assert lost.tx is None and lost.balance == 900 and lost.version == bet.version


async def test_rollback_refunds_once(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    bet = await wallet.debit(user, 400, "PLAY", key="bet", game="crash", ref="round-9")
    assert bet.tx is not None
    results = await asyncio.gather(
        *(wallet.rollback(user, bet.tx["id"], key=f"rb-{i}") for i in range(10)),
        return_exceptions=True,
    )
    refunds = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, CroupierError)]
    assert len(refunds) == 1 and len(refused) == 9
    assert all(error.code is ErrorCode.TX_NOT_OPEN for error in refused)
    assert refunds[0].tx is not None and refunds[0].tx["type"] == "rollback"
    assert refunds[0].bet is not None and refunds[0].bet["status"] == "rolled_back"
    assert (await wallet.balances(user)).balances == {"PLAY": 1_000}
    await expect_error(ErrorCode.TX_NOT_OPEN, wallet.settle(user, bet.tx["id"], 800, key="s"))
    assert (await wallet.rollback(user, bet.tx["id"], key=refunds_key(results))).replayed


def refunds_key(results: list[object]) -> str:
    return next(f"rb-{i}" for i, r in enumerate(results) if not isinstance(r, BaseException))


async def test_rollback_refuses_non_bets(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    await expect_error(ErrorCode.TX_NOT_OPEN, wallet.rollback(user, 1, key="rb"))
    await expect_error(ErrorCode.TX_NOT_OPEN, wallet.rollback(user, 99, key="rb2"))


async def test_parallel_debits_never_overdraw(wallet: Wallet, redis: Redis) -> None:
    """400 debits of 7 race for a balance of 1,000: exactly 142 succeed."""
    user = await funded(wallet, 1_000)
    results = await asyncio.gather(
        *(wallet.debit(user, 7, "PLAY", key=f"d{i}", game="dice") for i in range(400)),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, CroupierError)]
    assert len(ok) == 1_000 // 7 and len(refused) == 400 - 1_000 // 7
    assert {e.code for e in refused} == {ErrorCode.INSUFFICIENT_FUNDS}
    assert (await wallet.balances(user)).balances == {"PLAY": 1_000 % 7}
    audit = await audit_user(redis, user)
    assert audit.ok, audit.problems
    assert audit.replayed == {"PLAY": 6} and len(audit.open_bets) == 142


async def test_mixed_parallel_operations_replay_to_the_balance(
    wallet: Wallet, redis: Redis
) -> None:
    user = await funded(wallet, 10_000)

    async def bet_and_settle(i: int) -> None:
        try:
            bet = await wallet.debit(user, 100 + i, "PLAY", key=f"bet{i}", game="dice")
        except CroupierError:
            return
        assert bet.tx is not None
        if i % 3 == 0:
            await wallet.rollback(user, bet.tx["id"], key=f"rb{i}")
        else:
            await wallet.settle(user, bet.tx["id"], (i % 5) * 60, key=f"s{i}")

    await asyncio.gather(*(bet_and_settle(i) for i in range(300)))
    audit = await audit_user(redis, user)
    assert audit.ok, audit.problems
    assert audit.open_bets == []
    assert audit.stored == audit.replayed


async def test_cancelled_call_has_unknown_outcome_and_retry_applies_once(
    wallet: Wallet, redis: Redis, redis_url: str
) -> None:
    """The client gives up while Redis is paused; the retry with the same key is exact."""
    user = await funded(wallet, 1_000)
    admin = Redis.from_url(redis_url, decode_responses=True)
    try:
        await admin.execute_command("CLIENT", "PAUSE", "300", "WRITE")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(wallet.debit(user, 250, "PLAY", key="flaky"), 0.05)
        await asyncio.sleep(0.4)  # the pause ends; the sent script may have run
        retried = await wallet.debit(user, 250, "PLAY", key="flaky")
    finally:
        await admin.aclose()
    assert retried.balance == 750
    assert (await wallet.balances(user)).balances == {"PLAY": 750}
    assert (await audit_user(redis, user)).ok


async def test_transactions_are_paginated_and_filtered(wallet: Wallet) -> None:
    user = await funded(wallet, 10_000)
    for i in range(12):
        game = "dice" if i % 2 else "limbo"
        await wallet.debit(user, 10, "PLAY", key=f"b{i}", game=game, ref=f"r{i}")
    newest = await wallet.transactions(user, limit=5)
    assert [entry["id"] for entry in newest] == [13, 12, 11, 10, 9]
    older = await wallet.transactions(user, limit=5, before=9)
    assert [entry["id"] for entry in older] == [8, 7, 6, 5, 4]
    assert [entry["id"] for entry in await wallet.transactions(user, before=2)] == [1]
    dice = await wallet.transactions(user, limit=4, game="dice")
    assert [entry["id"] for entry in dice] == [13, 11, 9, 7]
    more = await wallet.transactions(user, limit=4, game="dice", before=7)
    assert [entry["id"] for entry in more] == [5, 3]
    entry = newest[0]
    assert set(entry) == {
        "id", "user", "type", "amount", "currency", "game", "ref", "status",
        "balance_after", "created_at",
    }  # fmt: skip
    assert entry["user"] == user and entry["amount"] == -10 and entry["balance_after"] == 9_880


async def test_every_change_publishes_its_balance_event(wallet: Wallet, redis: Redis) -> None:
    user = new_user()
    pubsub = redis.pubsub()
    await pubsub.subscribe(UserKeys(user).events)
    await pubsub.get_message(timeout=1)  # subscribe confirmation
    await wallet.credit(user, 500, "PLAY", key="a", kind="deposit", ref="signup")
    await wallet.debit(user, 200, "PLAY", key="b", game="dice", ref="r1")
    events = []
    while len(events) < 2:
        message = await pubsub.get_message(timeout=1)
        if message and message["type"] == "message":
            events.append(json.loads(message["data"]))
    await pubsub.aclose()
    assert events == [
        {
            "event": "balance",
            "data": {
                "currency": "PLAY", "balance": 500, "version": 1, "entries": 1,
                "reason": {"type": "deposit", "game": None, "ref": "signup"},
            },
        },
        {
            "event": "balance",
            "data": {
                "currency": "PLAY", "balance": 300, "version": 2, "entries": 1,
                "reason": {"type": "bet", "game": "dice", "ref": "r1"},
            },
        },
    ]  # fmt: skip


async def test_a_voided_round_is_refunded_as_a_refund(wallet: Wallet) -> None:
    user = await funded(wallet, 1_000)
    bet = await wallet.debit(user, 300, "PLAY", key="bet", game="crash", ref="crash:7")
    assert bet.tx is not None
    refund = await wallet.rollback(user, bet.tx["id"], key="void", kind="refund")
    assert refund.tx is not None and refund.tx["type"] == "refund" and refund.tx["amount"] == 300
    assert refund.bet is not None and refund.bet["status"] == "rolled_back"
    await expect_error(
        ErrorCode.IDEMPOTENCY_CONFLICT, wallet.rollback(user, bet.tx["id"], key="void")
    )
