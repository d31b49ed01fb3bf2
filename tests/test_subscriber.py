"""The hub's pub/sub connection against a real Redis."""

import asyncio
import secrets

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.realtime.subscriber import Subscriber

pytestmark = pytest.mark.single_node(
    "the one-connection Subscriber (ClusterSubscriber: test_cluster.py)"
)


async def test_messages_arrive_in_order_once_subscribed(redis_url: str, redis: Redis) -> None:
    received: list[tuple[str, str]] = []
    subscriber = Subscriber(redis_url, lambda channel, data: received.append((channel, data)))
    first, second = f"t:{secrets.token_hex(4)}", f"t:{secrets.token_hex(4)}"
    await subscriber.connect()
    try:
        await subscriber.subscribe(first, second)
        assert await redis.pubsub_numsub(first, second) == [(first, 1), (second, 1)]
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(300):
                pipe.publish(first if n % 2 else second, f"é{n}")
            await pipe.execute()
        async with asyncio.timeout(5):
            while len(received) < 300:
                await asyncio.sleep(0.01)
        assert received == [(first if n % 2 else second, f"é{n}") for n in range(300)]
        subscriber.unsubscribe(first)
        async with asyncio.timeout(5):
            while await redis.pubsub_numsub(first) != [(first, 0)]:
                await asyncio.sleep(0.01)
    finally:
        subscriber.close()


async def test_a_failing_callback_does_not_end_the_connection(redis_url: str, redis: Redis) -> None:
    received: list[str] = []

    def deliver(channel: str, data: str) -> None:
        if data == "bad":
            raise RuntimeError("delivery failed")
        received.append(data)

    subscriber = Subscriber(redis_url, deliver)
    channel = f"t:{secrets.token_hex(4)}"
    await subscriber.connect()
    try:
        await subscriber.subscribe(channel)
        for data in ("one", "bad", "two"):
            await redis.publish(channel, data)
        async with asyncio.timeout(5):
            while len(received) < 2:
                await asyncio.sleep(0.01)
        assert received == ["one", "two"] and subscriber.connected
    finally:
        subscriber.close()


async def test_lost_returns_when_redis_drops_the_connection(redis_url: str, redis: Redis) -> None:
    subscriber = Subscriber(redis_url, lambda channel, data: None)
    channel = f"t:{secrets.token_hex(4)}"
    await subscriber.connect()
    await subscriber.subscribe(channel)
    killed = await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    assert killed >= 1
    async with asyncio.timeout(5):
        await subscriber.lost()
    assert not subscriber.connected
    with pytest.raises(RedisConnectionError):
        await subscriber.subscribe(channel)
    subscriber.unsubscribe(channel)  # a no-op while disconnected
