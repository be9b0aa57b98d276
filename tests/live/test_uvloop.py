"""The AsyncClient on uvloop's event loop, where a user installs it, against the live engines.

engineapi's async transport is an asyncio `BufferedProtocol` with a timer per stream and a
`poll` of the socket for idle connections: uvloop implements those differently (its own
transports and socket wrappers), so each piece is exercised on it here — requests, the pool
under concurrency, a hijacked attach with half-close (``containers.run`` with input), a
followed stream cut by cancellation, a response timeout, TLS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engineapi import AsyncClient, TimeoutError, Timeouts
from engineapi.config import TLSConfig
from tests.conftest import Engine

uvloop = pytest.importorskip("uvloop", reason="uvloop is in the dev extra: pip install -e .[dev]")


def _on_uvloop(main: Callable[[], Awaitable[Any]]) -> Any:
    async def checked() -> Any:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        return await main()

    return uvloop.run(checked())


def test_calls_run_and_streams_on_uvloop(engine: Engine) -> None:
    async def main() -> None:
        async with AsyncClient(engine.host, max_connections=8) as client:
            pings = await asyncio.gather(*[client.system.ping() for _ in range(64)])
            assert {p.api_version for p in pings} == {engine.api_version}
            result = await client.containers.run(
                "busybox", ["sh", "-c", "cat; echo err >&2"], input=b"over uvloop\n", remove=True
            )
            assert (result.exit_code, result.stdout, result.stderr) == (
                0,
                b"over uvloop\n",
                b"err\n",
            )
            cid = await client.containers.run_detached("busybox", ["sleep", "30"])
            try:
                # dockerd sends the wait's head at once, its body at the exit: an idle read.
                with pytest.raises(TimeoutError, match="no data from the daemon for 0.5 s"):
                    await client.containers.wait(cid, timeout=Timeouts(5, 5, read=0.5))

                async def follow() -> None:
                    async for _ in client.system.events(filters={"container": [cid]}):
                        pass

                task = asyncio.create_task(follow())
                await asyncio.sleep(0.3)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                ran = await client.exec.run(cid, ["echo", "exec"])
                assert (ran.exit_code, ran.stdout) == (0, b"exec\n")
            finally:
                await client.containers.delete(cid, force=True)
            assert client._pool.idle_connections >= 1  # type: ignore[attr-defined]

    _on_uvloop(main)


def test_tls_on_uvloop(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)

    async def main() -> None:
        async with AsyncClient(tls_engine.tls_host, tls=tls) as client:
            infos = await asyncio.gather(*[client.system.info() for _ in range(5)])
            assert len({i.id for i in infos}) == 1

    _on_uvloop(main)
