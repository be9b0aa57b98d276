"""Load: a thousand concurrent async calls on a 32-connection pool, and many stream
open/close cycles, against a real engine — no error, the pool never above its limit, nothing
leaked (descriptors counted in /proc/self/fd)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from engineapi import AsyncClient, Client
from engineapi.config import resolve_endpoint
from engineapi.transports import transport_for
from tests.conftest import Engine


class _Counted:
    """A stream that tells its transport when it closes (once)."""

    def __init__(self, stream: Any, owner: CountingTransport) -> None:
        self._stream = stream
        self._owner = owner
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._stream.read(max_bytes, timeout)
        return data

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        await self._stream.write(data, timeout)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner.open -= 1
        await self._stream.aclose()


class CountingTransport:
    """The engine's own transport, counting the connections open at once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.open = 0
        self.most = 0

    async def aconnect(self, timeout: float | None) -> Any:
        stream = await self.inner.aconnect(timeout)
        self.open += 1
        self.most = max(self.most, self.open)
        return _Counted(stream, self)

    def connect(self, timeout: float | None) -> Any:
        return self.inner.connect(timeout)


async def test_a_thousand_concurrent_calls_on_a_32_connection_pool(engine: Engine) -> None:
    counting = CountingTransport(transport_for(resolve_endpoint(engine.host, environ={})))
    async with AsyncClient(
        engine.host,
        transport=counting,
        max_connections=32,
        environ={},  # type: ignore[arg-type]
    ) as client:
        await client.api_version()
        results = await asyncio.gather(
            *[client.system.ping() for _ in range(1000)], return_exceptions=True
        )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert counting.most <= 32, counting.most
    assert counting.open == 0


def test_stream_open_close_cycles_leak_nothing(engine: Engine) -> None:
    with Client(engine.host, environ={}) as client:
        client.api_version()
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(500):
            with client.system.events(filters={"label": ["engineapi.never=1"]}):
                pass
        assert client.system.ping().api_version
        assert len(os.listdir("/proc/self/fd")) <= before + 1  # one idle connection may stay
