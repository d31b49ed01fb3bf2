"""A small protocol client over a real WebSocket (the `websockets` library)."""

import asyncio
import contextlib
import itertools
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class ReplyError(Exception):
    """An `ok: false` reply."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['code']}: {error['message']}")
        self.code: str = error["code"]
        self.error = error


class WsClient:
    """Sends requests with ids, matches replies, and queues server events."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.balances: dict[str, tuple[int, int]] = {}
        """currency -> (version, balance) of the newest balance event seen."""
        self.balance_versions: list[int] = []
        self._ids = itertools.count(1)
        self._waiting: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._orphans: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str | None = None, **kwargs: Any) -> "WsClient":
        client = cls(await connect(url, max_size=2**22, **kwargs))
        if token is not None:
            await client.request("auth", token=token)
        return client

    @property
    def reading(self) -> "asyncio.Task[None]":
        """The reader task: done once the connection is gone."""
        return self._reader

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._read_messages()

    async def _read_messages(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            if "event" in message:
                if message["event"] == "balance":
                    data = message["data"]
                    self.balance_versions.append(data["version"])
                    seen = self.balances.get(data["currency"], (-1, 0))
                    if data["version"] > seen[0]:
                        self.balances[data["currency"]] = (data["version"], data["balance"])
                await self.events.put(message)
            elif message.get("re") in self._waiting:
                self._waiting.pop(message["re"]).set_result(message)
            else:
                await self._orphans.put(message)

    async def send_raw(self, text: str | bytes) -> None:
        await self.connection.send(text)

    async def next_orphan(self, timeout: float = 5) -> dict[str, Any]:
        """The next reply that matched no waiting request (e.g. to a raw frame)."""
        return await asyncio.wait_for(self._orphans.get(), timeout)

    async def call(self, op: str, **params: Any) -> dict[str, Any]:
        """Send a request and return the whole reply message."""
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        await self.connection.send(json.dumps({"op": op, "id": request_id, **params}))
        return await asyncio.wait_for(future, 30)

    async def request(self, op: str, **params: Any) -> dict[str, Any]:
        """Send a request; return `data`, raise ReplyError on an error reply."""
        reply = await self.call(op, **params)
        if not reply["ok"]:
            raise ReplyError(reply["error"])
        data: dict[str, Any] = reply["data"]
        return data

    async def wait_balance_version(self, currency: str, version: int, timeout: float = 10) -> int:
        """Wait until a balance event of at least `version` arrived; return the balance."""
        async with asyncio.timeout(timeout):
            while self.balances.get(currency, (-1, 0))[0] < version:
                await self.events.get()
        return self.balances[currency][1]

    async def next_event(self, name: str, timeout: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if event["event"] == name:
                    return event

    async def close(self) -> None:
        await self.connection.close()
        self._reader.cancel()


async def new_guest(http: httpx.AsyncClient, base_url: str) -> tuple[str, dict[str, Any]]:
    """A fresh guest account: (token, user)."""
    response = await http.post(f"{base_url}/api/auth/guest")
    response.raise_for_status()
    body = response.json()
    return body["token"], body["user"]
