"""Recording and replaying our own scenarios, one cassette per engine and scenario.

``fixtures/<engine>/<scenario>.json``. Offline by default; with ``ENGINEAPI_RECORD=1`` (or
``--engine-record``) each scenario runs against its live engine and rewrites its cassette.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, DaemonError
from engineapi.api._call import Call
from engineapi.replay import ISOLATED_ENVIRON, Session, record_requested
from tests.conftest import OPT_OUT, live_engines
from tests.replay.scenarios import LABEL, PREFIX, SWARM_LOCK, TINY_IMAGE, Scenario

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def record_mode(request: pytest.FixtureRequest) -> bool:
    """True when the scenarios should record (live) rather than replay."""
    return bool(request.config.getoption("--engine-record")) or record_requested()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection (unix or TCP, sync or asyncio) fails the test."""

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"a replayed test tried to connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def live_host(engine_name: str) -> str:
    for engine in live_engines():
        if engine.name == engine_name:
            return engine.host
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: cannot record on {engine_name} without the live engines")
    pytest.fail(f"engine {engine_name!r} is not running: run 'make engines'", pytrace=False)


def clean_up(host: str, *, swarm: bool = False) -> None:
    """Remove what an interrupted recording left behind (this is not recorded)."""
    with Client(host, environ=ISOLATED_ENVIRON) as client:
        if swarm:
            leave_swarm(client)
        for container in client.containers.list(all=True, filters={"label": [LABEL]}):
            client.send(
                Call(
                    "ContainerDelete",
                    method="DELETE",
                    path=f"/containers/{container.id}",
                    query={"force": True},
                    decode=lambda r: r.status,
                )
            )
        for image in client.images.list(filters={"reference": [TINY_IMAGE]}):
            client.send(
                Call(
                    "ImageDelete",
                    method="DELETE",
                    path=f"/images/{image.id}",
                    query={"force": True},
                    decode=lambda r: r.status,
                )
            )
        for image in client.images.list(filters={"reference": [f"{PREFIX}/*"]}):
            for tag in image.repo_tags or ():
                client.images.delete(tag, force=True)
        for network in client.networks.list(filters={"label": [LABEL]}):
            client.networks.delete(network.id)
        for volume in client.volumes.list(filters={"label": [LABEL]}).volumes or ():
            client.volumes.delete(volume.name, force=True)


def leave_swarm(client: Client) -> None:
    """Out of swarm mode, with the task containers and the docker_gwbridge network gone."""
    info = client.system.info()
    if info.swarm and info.swarm.local_node_state not in (None, "", "inactive"):
        client.swarm.leave(force=True)
    for c in client.containers.list(all=True, filters={"label": ["com.docker.swarm.task.id"]}):
        with contextlib.suppress(DaemonError):
            client.containers.delete(c.id, force=True)
    for network in client.networks.list(filters={"name": ["docker_gwbridge"]}):
        with contextlib.suppress(DaemonError):
            client.networks.delete(network.id)


@contextlib.contextmanager
def swarm_lock() -> Iterator[None]:
    """The live swarm tests' lock: one swarm on the engines at a time."""
    SWARM_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(SWARM_LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_session(
    engine_name: str, scenario: Scenario, *, record: bool, directory: Path = FIXTURES
) -> Session:
    path = directory / engine_name / f"{scenario.name}.json"
    options: dict[str, object] = {
        "secrets": scenario.secrets,
        "patterns": scenario.patterns,
        "volatile": scenario.volatile,
    }
    if not record:
        return Session(path, "replay", **options)  # type: ignore[arg-type]
    host = live_host(engine_name)
    clean_up(host, swarm=scenario.swarm)
    return Session(
        path, "record", host=host, engine=engine_name, environ=ISOLATED_ENVIRON, **options
    )  # type: ignore[arg-type]


def run(
    scenario: Scenario,
    make_client: Callable[[], Client],
    make_async_client: Callable[[], AsyncClient],
) -> str:
    """Run `scenario` on a new client; return the API version the client used."""
    if scenario.is_async:

        async def main() -> str:
            client = make_async_client()
            try:
                await scenario.run(client)
                return await client.api_version()
            finally:
                await client.aclose()

        return asyncio.run(main())
    with make_client() as client:
        scenario.run(client)
        return client.api_version()


def run_scenario(session: Session, scenario: Scenario) -> str:
    """Run `scenario` in `session`, end the session; return the API version the client used.

    A swarm scenario records under the swarm lock, and its engine leaves the swarm afterwards
    whatever happened (unrecorded)."""
    if not (session.recording and scenario.swarm):
        version = run(scenario, session.client, session.async_client)
        session.finish()
        return version
    with swarm_lock():
        try:
            version = run(scenario, session.client, session.async_client)
            session.finish()
        finally:
            with Client(session._host, environ=ISOLATED_ENVIRON) as client:
                leave_swarm(client)
    return version
