"""Error answers no daemon sends but a broken one or a proxy might: huge, deeply nested."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, ServerError
from tests.faults.stub import stub_server

HUGE = 200 * 1024 * 1024


def huge_error(head: bytes) -> Iterator[bytes]:
    yield (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % HUGE
    )
    yield b'{"message": "'
    chunk = b"x" * (1024 * 1024)
    for _ in range(HUGE // len(chunk)):
        yield chunk


def test_a_huge_error_body_is_cut_not_kept(tmp_path: Path) -> None:
    """200 MiB of error: the exception keeps 64 KiB and says it was cut; memory stays flat and
    the connection is dropped, not drained."""
    with stub_server(tmp_path, huge_error) as host:
        with Client(host, version="1.51", environ={}) as client:
            tracemalloc.start()
            started = time.monotonic()
            with pytest.raises(ServerError) as info:
                client.system.info()
            took = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    assert took < 5
    assert peak < 8 * 1024 * 1024, peak
    message = str(info.value)
    assert "cut after 64 KiB" in message and len(message) < 80 * 1024


async def test_async_a_huge_error_body_is_cut(tmp_path: Path) -> None:
    with stub_server(tmp_path, huge_error) as host:
        async with AsyncClient(host, version="1.51", environ={}) as client:
            with pytest.raises(ServerError, match="cut after 64 KiB"):
                await client.system.info()


def test_a_deeply_nested_error_body_is_a_server_error(tmp_path: Path) -> None:
    bomb = b"[" * 200_000 + b"]" * 200_000

    def answer(head: bytes) -> Iterator[bytes]:
        yield b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % len(bomb)
        yield bomb

    with stub_server(tmp_path, answer) as host, Client(host, version="1.51", environ={}) as c:
        with pytest.raises(ServerError):
            c.system.info()
