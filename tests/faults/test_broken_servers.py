"""A server that stalls, trickles, closes mid-head, mid-chunk or mid-frame, or sends garbage
(no real daemon does; a stub on a unix socket does): a typed error within the timeouts, sync
and async, and no descriptor or thread left behind."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engineapi import (
    AsyncClient,
    Client,
    ConnectionLost,
    EngineAPIError,
    RemoteProtocolError,
    TimeoutError,
    Timeouts,
)
from engineapi.streams.stdcopy import encode_frame
from tests.faults.stub import stub_server

TIMEOUTS = Timeouts(connect=2, response=1.0, read=1.0, pool=2)


def _head(extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\n" + extra


def stall(head: bytes) -> Iterator[bytes]:
    time.sleep(5)
    yield b""


def trickle(head: bytes) -> Iterator[bytes]:
    """The head, one byte every 0.1 s: a new timeout per byte would never fire."""
    for byte in _head(b"Content-Length: 2\r\n\r\nOK"):
        time.sleep(0.1)
        yield bytes([byte])


def close_mid_head(head: bytes) -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\nContent-Le"


def close_mid_chunk(head: bytes) -> Iterator[bytes]:
    yield _head(b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    yield b'20\r\n{"Type":"contai'


def close_mid_frame(head: bytes) -> Iterator[bytes]:
    yield _head(b"Content-Type: application/vnd.docker.multiplexed-stream\r\n")
    yield b"Transfer-Encoding: chunked\r\n\r\n"
    frame = encode_frame(1, b"hello world")
    yield b"%x\r\n%s\r\n0\r\n\r\n" % (len(frame) - 4, frame[:-4])


def garbage(head: bytes) -> Iterator[bytes]:
    yield b"\x16\x03\x01\x02\x00 this is not HTTP at all\r\n\r\n"


CASES: dict[str, tuple[Callable[[bytes], Iterator[bytes]], str, type[EngineAPIError]]] = {
    "stall": (stall, "info", TimeoutError),
    "trickle": (trickle, "info", TimeoutError),
    "close mid-head": (close_mid_head, "info", ConnectionLost),
    "close mid-chunk": (close_mid_chunk, "events", ConnectionLost),
    "close mid-frame": (close_mid_frame, "logs", RemoteProtocolError),
    "garbage": (garbage, "info", RemoteProtocolError),
}


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _sync_call(client: Client, what: str) -> None:
    if what == "info":
        client.system.info()
    elif what == "events":
        list(client.system.events())
    else:
        client.containers.logs("c", follow=True).read()


@pytest.mark.parametrize("case", list(CASES))
def test_sync(tmp_path: Path, case: str) -> None:
    answer, what, error = CASES[case]
    threads = threading.active_count()
    with stub_server(tmp_path, answer) as host:
        before = _descriptors()
        with Client(host, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            started = time.monotonic()
            with pytest.raises((error, ConnectionLost)):
                _sync_call(client, what)
            assert time.monotonic() - started < 3
        assert _descriptors() <= before
    deadline = time.monotonic() + 5
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads


@pytest.mark.parametrize("case", list(CASES))
def test_async(tmp_path: Path, case: str) -> None:
    answer, what, error = CASES[case]

    async def main() -> None:
        async with AsyncClient(host, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            started = time.monotonic()
            with pytest.raises((error, ConnectionLost)):
                if what == "info":
                    await client.system.info()
                elif what == "events":
                    async for _ in client.system.events():
                        pass
                else:
                    await client.containers.logs("c", follow=True).read()
            assert time.monotonic() - started < 3

    with stub_server(tmp_path, answer) as host:
        before = _descriptors()
        asyncio.run(main())
        assert _descriptors() <= before
