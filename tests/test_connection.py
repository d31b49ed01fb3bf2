"""Connection's two paths, written directly or queued, keep every socket's frames in order,
and the direct frames of one event-loop iteration leave in one transport write.

The moments when a frame could overtake another (the transport resumes while
frames are still queued, or while the writer task is in the middle of one)
are too short to hit reliably over a real socket, so both paths are stubbed.
"""

import asyncio

import pytest

from server.metrics import Metrics
from server.realtime import connection as connection_module
from server.realtime.connection import Connection, WriteBatch


class StubTransport:
    """Records the frames written, and each write's frames; `buffered` stands for bytes
    the peer has not taken yet."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.writes: list[list[str]] = []
        self.buffered = 0
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 16_384, 65_536

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def write(self, data: bytes) -> None:
        frames = []
        while data:
            assert data[0] == 0x81 and data[1] < 126  # FIN + text, short payload
            frames.append(data[2 : 2 + data[1]].decode())
            data = data[2 + data[1] :]
        self.out += frames
        self.writes.append(frames)


class StubWebSocket:
    """The queued path: `send_text` waits while `flowing` is clear (uvicorn waits for
    the transport to drain)."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.flowing = asyncio.Event()

    async def send_text(self, text: str) -> None:
        await self.flowing.wait()
        self.out.append(text)

    async def close(self, code: int, reason: str) -> None:
        pass


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_never_overtake_queued_or_sending_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out: list[str] = []
    transport, websocket, metrics = StubTransport(out), StubWebSocket(out), Metrics()
    monkeypatch.setattr(connection_module, "transport_of", lambda _: transport)
    connection = Connection(websocket, 8, metrics, WriteBatch())  # type: ignore[arg-type]
    connection.start()
    connection.send("1")  # written at once
    transport.buffered = 70_000  # over the high-water mark: frames queue
    connection.send("2")
    connection.send("3")
    transport.buffered = 0  # the peer read it all before the writer task ran
    connection.send("4")  # "2" and "3" are still queued: queued behind them
    websocket.flowing.set()
    await settle()
    assert out == ["1", "2", "3", "4"]

    websocket.flowing.clear()
    transport.buffered = 70_000
    connection.send("5")
    await settle()  # the writer took "5" off the queue and waits inside send_text
    transport.buffered = 0
    connection.send("6")  # nothing queued, but "5" is being sent: queued behind it
    websocket.flowing.set()
    await settle()
    connection.send("7")  # all sent: direct again
    await settle()
    assert out == ["1", "2", "3", "4", "5", "6", "7"]
    assert (metrics.ws_frames_direct, metrics.ws_frames_queued) == (2, 5)
    await connection.stop()


async def test_a_closing_transport_gets_nothing_more(monkeypatch: pytest.MonkeyPatch) -> None:
    out: list[str] = []
    transport, websocket, metrics = StubTransport(out), StubWebSocket(out), Metrics()
    monkeypatch.setattr(connection_module, "transport_of", lambda _: transport)
    connection = Connection(websocket, 8, metrics, WriteBatch())  # type: ignore[arg-type]
    connection.start()
    transport.closing = True
    connection.send("lost")
    websocket.flowing.set()
    await settle()
    assert out == [] and (metrics.ws_frames_direct, metrics.ws_frames_queued) == (0, 0)
    await connection.stop()


async def test_the_frames_of_one_iteration_leave_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A frame sent now, and one sent by a task this iteration wakes (a reply whose Redis
    answer came with the event), go in one write; a frame that must queue flushes first."""
    out: list[str] = []
    transport, websocket, metrics = StubTransport(out), StubWebSocket(out), Metrics()
    monkeypatch.setattr(connection_module, "transport_of", lambda _: transport)
    batch = WriteBatch()
    connection = Connection(websocket, 8, metrics, batch)  # type: ignore[arg-type]
    other = Connection(websocket, 8, metrics, batch)  # type: ignore[arg-type]
    connection.start()
    other.start()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def reply() -> None:
        connection.send(await answer)

    task = asyncio.create_task(reply())
    await settle()  # the task waits for its answer
    connection.send("event")  # the event came first
    answer.set_result("reply")  # the task runs in the next iteration
    other.send("event")
    assert out == []
    await settle()
    assert transport.writes == [["event", "reply"], ["event"]]
    assert (metrics.ws_frames_direct, metrics.ws_writes) == (3, 2)
    await task

    connection.send("a")
    transport.buffered = 70_000  # "b" must queue: "a" leaves before it
    connection.send("b")
    assert transport.writes[-1] == ["a"]
    websocket.flowing.set()
    await settle()
    assert out[-2:] == ["a", "b"]
    await connection.stop()
    await other.stop()
