"""System, container and image listing on every live engine, sync and async."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import timedelta

import pytest

from engineapi import AsyncClient, Client
from engineapi.models import (
    ContainerSummary,
    EventMessage,
    ImageSummary,
    SystemDataUsageResponse,
    SystemInfo,
    SystemVersion,
)
from tests.conftest import Engine


def test_negotiates_the_engines_api_version(engine: Engine) -> None:
    with Client(engine.host) as client:
        assert client.api_version() == engine.api_version
        ping = client.last_ping
        assert ping is not None and ping.api_version == engine.api_version


def test_ping_reports_the_daemon(engine: Engine) -> None:
    with Client(engine.host) as client:
        ping = client.system.ping()
        head = client.system.ping_head()
    assert ping.api_version == head.api_version == engine.api_version
    server = ping.server or ""
    assert server.startswith("Libpod/" if engine.is_podman else "Docker/")
    if not engine.is_podman:
        assert ping.os_type == "linux"


def test_version_and_info_match_the_cli(engine: Engine) -> None:
    cli_version = json.loads(engine.docker("version", "--format", "{{json .Server}}"))
    cli_info = json.loads(engine.docker("info", "--format", "{{json .}}"))
    with Client(engine.host) as client:
        version = client.system.version()
        info = client.system.info()
    assert isinstance(version, SystemVersion)
    assert version.version == cli_version["Version"]
    assert version.api_version == cli_version["ApiVersion"]
    assert isinstance(info, SystemInfo)
    assert info.name == cli_info["Name"]
    assert info.images == cli_info["Images"]
    if not engine.is_podman:  # Podman makes up a new ID on every /info
        assert info.id == cli_info["ID"]


def test_containers_list_sees_a_running_container(engine: Engine, busybox_container: str) -> None:
    with Client(engine.host) as client:
        running = client.containers.list(filters={"label": ["engineapi.test=1"]})
        everything = client.containers.list(all=True)
        limited = client.containers.list(all=True, limit=1)
    ids = [c.id for c in running]
    assert busybox_container in ids
    ours = next(c for c in running if c.id == busybox_container)
    assert isinstance(ours, ContainerSummary)
    assert ours.state == "running"
    assert ours.labels is not None and ours.labels["engineapi.test"] == "1"
    assert ours.names and ours.names[0].startswith("/")
    # Docker shows the name as given, Podman the full reference docker.io/library/busybox:latest.
    assert "busybox" in (ours.image or "")
    assert busybox_container in [c.id for c in everything]
    assert len(limited) == 1


def test_containers_list_filters_exclude(engine: Engine, busybox_container: str) -> None:
    with Client(engine.host) as client:
        none = client.containers.list(filters={"label": ["engineapi.test=nope"]})
    assert none == []


def test_images_list_has_busybox(engine: Engine) -> None:
    cli_ids = set(engine.docker("images", "-q", "--no-trunc").split())
    with Client(engine.host) as client:
        images = client.images.list()
    assert all(isinstance(i, ImageSummary) for i in images)
    assert {i.id for i in images} == cli_ids
    tags = [t for i in images for t in (i.repo_tags or [])]
    assert any(t.endswith("busybox:latest") for t in tags)


def test_data_usage(engine: Engine) -> None:
    with Client(engine.host) as client:
        usage = client.system.data_usage()
    assert isinstance(usage, SystemDataUsageResponse)
    assert usage.to_wire()  # something came back and survives a round trip


def test_events_between_since_and_until(engine: Engine) -> None:
    start = time.time() - 1
    name = f"engineapi-events-{int(time.time() * 1000)}"
    engine.docker("run", "--rm", "--name", name, "busybox", "true")
    until = time.time() + 1
    with Client(engine.host) as client:
        events = list(
            client.system.events(
                since=start, until=until, filters={"type": ["container"], "container": [name]}
            )
        )
    assert events, "no events for a container that just ran"
    assert all(isinstance(e, EventMessage) for e in events)
    actions = [e.action for e in events]
    assert "start" in actions and "die" in actions
    assert all(e.type == "container" for e in events)


async def test_async_client_on_every_engine(engine: Engine, busybox_container: str) -> None:
    async with AsyncClient(engine.host) as client:
        assert await client.api_version() == engine.api_version
        version, info, containers, images = await asyncio.gather(
            client.system.version(),
            client.system.info(),
            client.containers.list(),
            client.images.list(),
        )
    assert version.api_version
    assert info.id
    assert busybox_container in [c.id for c in containers]
    assert images


async def test_async_events_stream_follows_live(engine: Engine) -> None:
    name = f"engineapi-aev-{int(time.time() * 1000)}"
    async with AsyncClient(engine.host) as client:
        stream = client.system.events(filters={"container": [name]})
        async with stream:
            proc = await asyncio.create_subprocess_exec(
                "docker",
                "-H",
                engine.host,
                "run",
                "--rm",
                "--name",
                name,
                "busybox",
                "true",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            seen: list[str] = []
            async with asyncio.timeout(60):
                async for event in stream:
                    seen.append(str(event.action))
                    if event.action == "die":
                        break
            await proc.wait()
    assert "start" in seen and seen[-1] == "die"


def test_events_since_timedelta(engine: Engine) -> None:
    engine.docker("run", "--rm", "busybox", "true")
    with Client(engine.host) as client:
        # until a second ahead: Podman returns nothing when until is not in the future.
        until = time.time() + 1
        events = list(client.system.events(since=timedelta(minutes=5), until=until))
    assert any(e.type == "container" for e in events)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_concurrent_first_calls_negotiate_once(engine: Engine, flavour: str) -> None:
    from engineapi.transports import transport_for

    client_cls = Client if flavour == "sync" else AsyncClient
    probe = client_cls(engine.host)
    counting = CountingTransport(transport_for(probe.endpoint))
    if flavour == "sync":
        from concurrent.futures import ThreadPoolExecutor

        with Client(engine.host, transport=counting) as client, ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: client.system.info(), range(16)))
    else:

        async def run() -> list[object]:
            async with AsyncClient(engine.host, transport=counting) as client:
                return list(await asyncio.gather(*[client.system.info() for _ in range(16)]))

        results = asyncio.run(run())
    assert len(results) == 16
    assert counting.pings == 1


class CountingTransport:
    """A real transport that counts the /_ping requests written through it."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.address = inner.address  # type: ignore[attr-defined]
        self.pings = 0

    def _count(self, data: bytes) -> None:
        if b" /_ping HTTP/1.1" in data:
            self.pings += 1

    def connect(self, timeout: float | None) -> object:
        stream = self.inner.connect(timeout)  # type: ignore[attr-defined]
        original = stream.write

        def write(data: bytes, t: float | None) -> None:
            self._count(data)
            original(data, t)

        return _Proxy(stream, write)

    async def aconnect(self, timeout: float | None) -> object:
        stream = await self.inner.aconnect(timeout)  # type: ignore[attr-defined]
        original = stream.write

        async def write(data: bytes, t: float | None) -> None:
            self._count(data)
            await original(data, t)

        return _Proxy(stream, write)


class _Proxy:
    def __init__(self, stream: object, write: object) -> None:
        self._stream = stream
        self.write = write

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def test_repeated_pings_are_read_as_fresh_ones(engine: Engine) -> None:
    """A daemon repeats its ping head byte for byte within a second (only Date changes): the
    HTTP engine remembers such a head and the ping its result. Repeated pings must read what
    a fresh client reads, and (the point of it) a repeat comes back without being parsed."""
    with Client(engine.host) as client:
        pings = [client.system.ping() for _ in range(20)]
    with Client(engine.host) as fresh:
        first = fresh.system.ping()
    assert all(ping == first for ping in pings)
    assert first.api_version == engine.api_version
    assert any(a is b for a, b in itertools.pairwise(pings)), "no head was remembered"
