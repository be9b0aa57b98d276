"""`timeout=` on every method: one call's own timeouts, over the client's and a scope's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, TimeoutError, Timeouts
from engineapi._sync._namespaces import Containers
from tests.conftest import Engine
from tests.faults.stub import stub_server


def stall(head: bytes) -> Iterator[bytes]:
    time.sleep(5)
    yield b""


def test_a_stalled_server_is_cut_by_the_calls_own_timeout(tmp_path: Path) -> None:
    with stub_server(tmp_path, stall) as host, Client(host, version="1.41") as client:
        assert client.timeouts.response == 120
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            client.system.info(timeout=0.4)
        assert 0.3 < time.monotonic() - start < 3
        start = time.monotonic()
        with client.timeouts(response=30), pytest.raises(TimeoutError):
            client.system.info(timeout=Timeouts(response=0.3))  # the call's own wins
        assert time.monotonic() - start < 3


async def test_async_stalled_server(tmp_path: Path) -> None:
    with stub_server(tmp_path, stall) as host:
        async with AsyncClient(host, version="1.41") as client:
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                await client.system.info(timeout=0.4)
            assert time.monotonic() - start < 3


def test_follow_logs_with_a_read_timeout(engine: Engine, busybox_container: str) -> None:
    with Client(engine.host) as client:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            for _ in client.containers.logs(
                # Podman sends the head with the first line: bound that wait too.
                busybox_container,
                follow=True,
                timeout=Timeouts(response=2, read=0.5),
            ):
                pass
        assert 0.4 < time.monotonic() - start < 10
        assert client.timeouts.read is None  # the client's own are untouched


async def test_async_events_with_a_read_timeout(engine: Engine) -> None:
    async with AsyncClient(engine.host) as client:
        with pytest.raises(TimeoutError):
            async for _ in client.system.events(
                filters={"container": ["engineapi-never"]}, timeout=Timeouts(read=0.3)
            ):
                pass
        assert (await client.system.ping()).api_version


def test_a_flow_sends_each_step_with_the_timeout(engine: Engine) -> None:
    seen: list[object] = []
    with Client(engine.host, event_hooks={"request": [seen.append]}) as client:
        result = client.containers.run("busybox", ["echo", "hi"], remove=True, timeout=60)
        assert result.exit_code == 0 and result.stdout == b"hi\n"
        stop = Containers.stop
        assert "request_timeout" in stop.__code__.co_varnames  # stop's own timeout= is grace


def test_a_wait_longer_than_the_calls_response_timeout(engine: Engine) -> None:
    with Client(engine.host) as client:
        cid = client.containers.create({"Image": "busybox", "Cmd": ["sleep", "3"]}).id
        try:
            client.containers.start(cid)
            # The daemon sends the head at once and the body when the container stops.
            with pytest.raises(TimeoutError):
                client.containers.wait(cid, timeout=Timeouts(read=0.5))
            assert client.containers.wait(cid).status_code == 0  # no read timeout: waits
        finally:
            client.containers.delete(cid, force=True)


async def test_async_run_with_a_timeout(engine: Engine) -> None:
    async with AsyncClient(engine.host) as client:
        result = await asyncio.wait_for(
            client.containers.run("busybox", ["true"], remove=True, timeout=60), 90
        )
        assert result.exit_code == 0
