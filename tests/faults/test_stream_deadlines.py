"""`deadline=` and `next(timeout=)` against a stub that keeps a stream busy or silent, or never
answers (a mock only for what no daemon does on demand: a stall at a chosen point), sync and
async: the typed error in time, and a `WaitTimeout` that leaves the stream usable."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, DeadlineExceeded, Timeouts, WaitTimeout
from tests.faults.stub import stub_server

#: An idle read timeout the busy stream never reaches: only the deadline can end it.
TIMEOUTS = Timeouts(connect=2, response=2, read=1.0, pool=2)
HEAD = (
    b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _chunk(event: dict[str, object]) -> bytes:
    line = json.dumps(event).encode() + b"\n"
    return b"%x\r\n%s\r\n" % (len(line), line)


def busy(head: bytes) -> Iterator[bytes]:
    """An event every 0.1 s, for ever."""
    yield HEAD
    for number in range(1000):
        yield _chunk({"Type": "container", "Action": "tick", "time": number})
        time.sleep(0.1)


def one_then_silent(head: bytes) -> Iterator[bytes]:
    """One event, 1.5 s of silence, one more, then the end."""
    yield HEAD + _chunk({"Type": "container", "Action": "first", "time": 1})
    time.sleep(1.5)
    yield _chunk({"Type": "container", "Action": "second", "time": 2}) + b"0\r\n\r\n"


def no_head(head: bytes) -> Iterator[bytes]:
    time.sleep(10)
    yield b""


def test_sync_deadline_ends_a_busy_stream(tmp_path: Path) -> None:
    with stub_server(tmp_path, busy) as host:
        with Client(host, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            seen = []
            started = time.monotonic()
            with pytest.raises(DeadlineExceeded) as raised:
                for event in client.system.events(deadline=1.0):
                    seen.append(event.time)
            elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0
    assert raised.value.deadline == 1.0 and "deadline of 1.0 s" in str(raised.value)
    # Everything that came before the deadline was handed over, in order, nothing twice.
    assert seen == list(range(len(seen))) and len(seen) >= 5


async def test_async_deadline_ends_a_busy_stream(tmp_path: Path) -> None:
    with stub_server(tmp_path, busy) as host:
        async with AsyncClient(host, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            seen = []
            started = time.monotonic()
            with pytest.raises(DeadlineExceeded):
                async for event in client.system.events(deadline=1.0):
                    seen.append(event.time)
            elapsed = time.monotonic() - started
            # The connection went back (closed): the next call does not wait for it.
            events = client.system.events(deadline=0.5)
            assert (await events.next(timeout=2)).time == 0
            await events.aclose()
    assert 1.0 <= elapsed < 2.0
    assert seen == list(range(len(seen))) and len(seen) >= 5


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_deadline_bounds_the_response_head(tmp_path: Path, flavour: str) -> None:
    """A stream whose head never comes: the deadline, shorter than the response timeout."""
    with stub_server(tmp_path, no_head) as host:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            if flavour == "sync":
                with Client(host, version="1.51", timeout=TIMEOUTS, environ={}) as client:
                    client.system.events(deadline=0.5).next()
            else:

                async def main() -> None:
                    async with AsyncClient(
                        host, version="1.51", timeout=TIMEOUTS, environ={}
                    ) as client:
                        await client.system.events(deadline=0.5).next()

                asyncio.run(main())
        assert 0.5 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize("backend", ["builtin", "httpx", "requests"])
def test_sync_next_timeout_leaves_the_stream_usable(tmp_path: Path, backend: str) -> None:
    """On engineapi's own engine and on the plug-in backends (whose body reads a timed-out
    wait leaves running, to be picked up by the next one)."""
    with stub_server(tmp_path, one_then_silent) as host:
        timeouts = Timeouts(connect=2, response=2, read=None, pool=2)
        with Client(host, version="1.51", timeout=timeouts, environ={}, backend=backend) as client:
            with client.system.events() as events:
                assert events.next(timeout=2).action == "first"
                started = time.monotonic()
                with pytest.raises(WaitTimeout, match="still open"):
                    events.next(timeout=0.3)
                assert 0.3 <= time.monotonic() - started < 1.0
                assert events.next(timeout=3).action == "second"
                with pytest.raises(StopIteration):
                    events.next(timeout=1)


@pytest.mark.parametrize("backend", ["builtin", "httpx"])
async def test_async_next_timeout_and_cancel_leave_the_stream_usable(
    tmp_path: Path, backend: str
) -> None:
    with stub_server(tmp_path, one_then_silent) as host:
        timeouts = Timeouts(connect=2, response=2, read=None, pool=2)
        async with AsyncClient(
            host, version="1.51", timeout=timeouts, environ={}, backend=backend
        ) as client:
            async with client.system.events() as events:
                assert (await events.next(timeout=2)).action == "first"
                with pytest.raises(WaitTimeout):
                    await events.next(timeout=0.3)
                # A cancelled read (wait_for cancels it) leaves it usable as well.
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(anext(events), 0.3)
                assert (await events.next(timeout=3)).action == "second"
                with pytest.raises(StopAsyncIteration):
                    await anext(events)


def test_idle_read_timeout_still_ends_the_stream(tmp_path: Path) -> None:
    """`next(timeout=)` longer than the client's idle read timeout: the idle timeout wins and,
    as before, is an error that closes the stream (not a `WaitTimeout`)."""
    from engineapi import TimeoutError as EngineTimeout

    with stub_server(tmp_path, one_then_silent) as host:
        timeouts = Timeouts(connect=2, response=2, read=0.3, pool=2)
        with Client(host, version="1.51", timeout=timeouts, environ={}) as client:
            events = client.system.events()
            assert events.next(timeout=2).action == "first"
            with pytest.raises(EngineTimeout) as raised:
                events.next(timeout=5)
            assert not isinstance(raised.value, WaitTimeout | DeadlineExceeded)
            # The error ended the stream: asked again, it says so again.
            with pytest.raises(EngineTimeout) as again:
                events.next()
            assert again.value is raised.value
