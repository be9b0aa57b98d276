"""The asyncio socket stream's read timeout: one timer per stream, kept armed between reads.

A peer on a unix socket (no daemon can be told to stay silent on cue) answers or stays silent;
each read must time out after its own timeout, whatever the reads before it armed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engineapi.errors import TimeoutError
from engineapi.transports.unix import UnixTransport


async def _peer(path: Path) -> tuple[asyncio.Server, list[asyncio.StreamWriter]]:
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while line := await reader.readline():
            if line.strip() == b"echo":
                writer.write(b"ok\n")

    return await asyncio.start_unix_server(handle, str(path)), writers


async def _timed_out_after(stream: object, timeout: float) -> float:
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        await stream.read(1024, timeout)  # type: ignore[attr-defined]
    return time.monotonic() - start


def test_each_read_gets_its_own_timeout(tmp_path: Path) -> None:
    async def main() -> None:
        server, _ = await _peer(tmp_path / "peer.sock")
        stream = await UnixTransport(str(tmp_path / "peer.sock")).aconnect(5)
        try:
            # Many answered reads with a short timeout: none of them may expire later.
            for _ in range(50):
                await stream.write(b"echo\n", 1)
                assert await stream.read(1024, 0.2) == b"ok\n"
            await asyncio.sleep(0.3)  # the timer fires with no read waiting, and goes
            # Silence after a long-timeout read armed the timer late: a shorter timeout
            # still fires on time, and a longer one after it does not fire early.
            await stream.write(b"echo\n", 1)
            assert await stream.read(1024, 30) == b"ok\n"
            assert 0.1 <= await _timed_out_after(stream, 0.15) < 2
            assert 0.5 <= await _timed_out_after(stream, 0.6) < 3
        finally:
            await stream.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())
