"""The first start over data of the version with two-step bets upgrades it once."""

import json
import secrets
from pathlib import Path

import httpx
import pytest

from server.audit import audit_user
from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.upgrade import DONE_KEY, INDEXES_DONE_KEY
from server.wallet import UserKeys, Wallet, WalletScripts
from tests.servers import ServerProcess, private_redis
from tests.wsclient import ReplyError, WsClient, new_guest

DICE_PARAMS = '{"target":"50.50","condition":"over"}'


async def test_pending_bets_are_voided_and_games_in_progress_hold_their_seed_pair(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        runner = script_runner(url)
        try:
            first = await ServerProcess(log_dir, REDIS_URL=url).start()
            token, user = await new_guest(http, first.base_url)
            client = await WsClient.open(first.ws_url, token)
            await client.request(
                "mines.start", amount=100, currency="PLAY", mines=3, key=secrets.token_hex(4)
            )
            await client.close()
            await first.stop()

            # What the earlier version left: a debited instant bet still pending (its
            # process died), and a game in progress it did not list anywhere.
            keys = UserKeys(user["id"])
            wallet = Wallet(redis, WalletScripts.register(runner), 86_400)
            debit = await wallet.debit(user["id"], 500, "PLAY", key="bet:legacy", game="dice")
            assert debit.tx is not None
            bet_id = debit.tx["id"]
            await redis.hset(keys.bets + ":pending", str(bet_id), json.dumps({"id": bet_id}))
            await redis.set(
                keys.idempotency("bet:orphan"),
                f'bet|PLAY|500|dice|{DICE_PARAMS}\n{{"id":{bet_id}}}',
            )
            await redis.delete(keys.open_on_seeds, keys.games_due, DONE_KEY)

            second = await ServerProcess(log_dir, REDIS_URL=url).start()
            try:
                client = await WsClient.open(second.ws_url, token)
                with pytest.raises(ReplyError) as refused:
                    await client.request("seeds.rotate")
                assert refused.value.code == "GAME_ACTIVE"
                # A retry of a bet placed before the upgrade never bets again.
                with pytest.raises(ReplyError):
                    await client.request(
                        "bet", game="dice", amount=500, currency="PLAY", key="orphan",
                        params={"target": "50.50", "condition": "over"},
                    )  # fmt: skip
                await client.close()
            finally:
                await second.stop()

            assert await redis.exists(keys.bets + ":pending") == 0
            assert await redis.get(DONE_KEY) == "1"
            ledger = [json.loads(entry) for entry in (await redis.hgetall(keys.ledger)).values()]
            refunds = [e for e in ledger if e["type"] == "refund"]
            assert [e["amount"] for e in refunds] == [500]
            audit = await audit_user(redis, user["id"])
            assert audit.ok, audit.problems
            assert audit.stored == {"PLAY": 100_000 - 100}, "the Mines stake is still in play"
        finally:
            await runner.aclose()
            await redis.aclose()


async def test_history_indexes_of_earlier_versions_go_and_idempotency_records_stay(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        try:
            first = await ServerProcess(log_dir, REDIS_URL=url).start()
            token, user = await new_guest(http, first.base_url)
            client = await WsClient.open(first.ws_url, token)
            # A client may choose a key that ends like a legacy index's name.
            bet = {"game": "dice", "amount": 100, "currency": "PLAY", "key": "x:bets:idx"}
            params = {"target": "50.50", "condition": "over"}
            placed = await client.request("bet", **bet, params=params)
            await client.close()
            await first.stop()

            # What the earlier version kept: per-user history indexes.
            keys = UserKeys(user["id"])
            ledger_index, bets_index = keys.tag + ":ledger:idx", keys.tag + ":bets:idx"
            await redis.zadd(ledger_index, {"dice:000000000000002": 0})
            await redis.zadd(bets_index, {"dice:000000000000002": 0, "*:000000000000002": 0})
            await redis.delete(INDEXES_DONE_KEY)

            second = await ServerProcess(log_dir, REDIS_URL=url).start()
            try:
                client = await WsClient.open(second.ws_url, token)
                replayed = await client.request("bet", **bet, params=params)
                await client.close()
            finally:
                await second.stop()
            assert await redis.exists(ledger_index, bets_index) == 0
            assert await redis.get(INDEXES_DONE_KEY) == "1"
            assert replayed == placed, "the retry of the bet returned its first reply"
            assert int(await redis.hget(keys.wallet, "version")) == placed["id"] + (
                1 if placed["payout"] else 0
            )
        finally:
            await redis.aclose()
