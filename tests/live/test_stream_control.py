"""Waiting on a live stream with a bound: `next(timeout=)` and a cancelled read leave the stream
usable (nothing lost, nothing twice); `deadline=` ends a stream that keeps talking. Sync and
async, on every engine."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from engineapi import AsyncClient, Client, DeadlineExceeded, WaitTimeout
from engineapi.config import TLSConfig
from tests.conftest import Engine

#: Prints 1, 2, 3, … one line every 20 ms: the order shows a frame lost or read twice.
COUNTER = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.02; done"]


@pytest.fixture
def counter(engine: Engine) -> Iterator[str]:
    cid = engine.docker("run", "-d", "--label", "engineapi.test=1", "busybox", *COUNTER)
    cid = cid.strip()
    try:
        yield cid
    finally:
        engine.docker("rm", "-f", cid, check=False)


def _numbers(data: bytes) -> list[int]:
    return [int(line) for line in data.split()]


def _contiguous(numbers: list[int]) -> None:
    assert numbers, "no output came"
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_sync_next_timeout_on_events(engine: Engine) -> None:
    name = f"engineapi-next-{uuid.uuid4().hex[:12]}"
    with Client(engine.host) as client:
        with client.system.events(filters={"container": [name]}) as events:
            with pytest.raises(WaitTimeout):
                events.next(timeout=0.3)
            engine.docker("create", "--name", name, "busybox", "true")
            try:
                assert events.next(timeout=30).action == "create"
                with pytest.raises(WaitTimeout):
                    events.next(timeout=0.3)
            finally:
                engine.docker("rm", name)
            actions = []
            while not {"destroy", "remove"} & set(actions):  # Podman: only "remove"
                actions.append(events.next(timeout=30).action)
            assert "create" not in actions


async def test_async_wait_for_does_not_end_events(engine: Engine) -> None:
    """The issue's case: ``asyncio.wait_for(anext(events), …)`` timing out (a cancelled read)
    used to close the stream; the next item now comes as if nothing happened."""
    name = f"engineapi-next-{uuid.uuid4().hex[:12]}"
    async with AsyncClient(engine.host) as client:
        async with client.system.events(filters={"container": [name]}) as events:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(events), 0.3)
            with pytest.raises(WaitTimeout):
                await events.next(timeout=0.3)
            engine.docker("create", "--name", name, "busybox", "true")
            try:
                assert (await events.next(timeout=30)).action == "create"
            finally:
                engine.docker("rm", name)
            actions = []
            while not {"destroy", "remove"} & set(actions):
                actions.append((await asyncio.wait_for(anext(events), 30)).action)
            assert "create" not in actions


def timed_reads(client: Client, cid: str) -> None:
    """Frames of `cid` (a `COUNTER`) read with a timeout much shorter than the output's pace,
    many timing out, then the deadline: nothing lost or read twice."""
    data, expired = b"", 0
    with client.containers.logs(cid, follow=True, deadline=2) as logs:
        try:
            while True:
                try:
                    data += logs.next(timeout=0.005)[1]
                except WaitTimeout:
                    expired += 1
        except DeadlineExceeded:
            pass
    assert expired > 0
    _contiguous(_numbers(data[: data.rfind(b"\n")]))


async def cancelled_reads(client: AsyncClient, cid: str) -> None:
    """`timed_reads` with reads cancelled by `asyncio.wait_for` instead."""
    data, cancelled = b"", 0
    async with client.containers.logs(cid, follow=True, deadline=2) as logs:
        while True:
            try:
                data += (await asyncio.wait_for(logs.next(), 0.005))[1]
            except DeadlineExceeded:  # a TimeoutError too: first
                break
            except TimeoutError:
                cancelled += 1
    assert cancelled > 0
    _contiguous(_numbers(data[: data.rfind(b"\n")]))


def test_sync_next_timeout_on_logs_loses_nothing(engine: Engine, counter: str) -> None:
    with Client(engine.host) as client:
        timed_reads(client, counter)


async def test_async_cancelled_reads_on_logs_lose_nothing(engine: Engine, counter: str) -> None:
    async with AsyncClient(engine.host) as client:
        await cancelled_reads(client, counter)


def _tls(engine: Engine) -> TLSConfig:
    assert engine.tls_cert_path
    return TLSConfig.from_cert_path(engine.tls_cert_path, verify=True)


def test_timed_and_cancelled_reads_over_tls(tls_engine: Engine) -> None:
    cid = tls_engine.docker("run", "-d", "--label", "engineapi.test=1", "busybox", *COUNTER)
    cid = cid.strip()
    try:
        assert tls_engine.tls_host
        with Client(tls_engine.tls_host, tls=_tls(tls_engine)) as client:
            timed_reads(client, cid)

        async def main() -> None:
            assert tls_engine.tls_host
            async with AsyncClient(tls_engine.tls_host, tls=_tls(tls_engine)) as client:
                await cancelled_reads(client, cid)

        asyncio.run(main())
    finally:
        tls_engine.docker("rm", "-f", cid, check=False)


def test_timed_and_cancelled_reads_over_tcp(tcp_engine: Engine) -> None:
    cid = tcp_engine.docker("run", "-d", "--label", "engineapi.test=1", "busybox", *COUNTER)
    cid = cid.strip()
    try:
        assert tcp_engine.tcp
        with Client(tcp_engine.tcp, tls=False) as client:
            timed_reads(client, cid)

        async def main() -> None:
            assert tcp_engine.tcp
            async with AsyncClient(tcp_engine.tcp, tls=False) as client:
                await cancelled_reads(client, cid)

        asyncio.run(main())
    finally:
        tcp_engine.docker("rm", "-f", cid, check=False)


def test_sync_deadline_ends_a_followed_log(engine: Engine, counter: str) -> None:
    with Client(engine.host) as client:
        data = b""
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as raised:
            for _, piece in client.containers.logs(counter, follow=True, deadline=1.5):
                data += piece
        elapsed = time.monotonic() - started
        assert raised.value.deadline == 1.5
        # The connection was closed, not left busy: a one-connection client goes on.
        assert client.system.ping().api_version
    assert 1.5 <= elapsed < 4
    _contiguous(_numbers(data[: data.rfind(b"\n")]))


async def test_async_deadline_ends_a_followed_log(engine: Engine, counter: str) -> None:
    async with AsyncClient(engine.host, max_connections=1) as client:
        data = b""
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            async for _, piece in client.containers.logs(counter, follow=True, deadline=1.5):
                data += piece
        elapsed = time.monotonic() - started
        async with asyncio.timeout(10):
            assert (await client.system.ping()).api_version
    assert 1.5 <= elapsed < 4
    _contiguous(_numbers(data[: data.rfind(b"\n")]))


async def test_async_deadline_on_a_quiet_events_stream(engine: Engine) -> None:
    """No item at all: the deadline ends the wait all the same (no idle read timeout set)."""
    async with AsyncClient(engine.host) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            async for _ in client.system.events(
                filters={"container": ["engineapi-never"]}, deadline=1.0
            ):
                pass
    assert 1.0 <= time.monotonic() - started < 3
