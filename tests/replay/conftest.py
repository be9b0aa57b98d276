"""Recording and replaying our own scenarios, one cassette per engine and scenario.

``fixtures/<engine>/<scenario>.json``. Offline by default; with ``ENGINEAPI_RECORD=1`` (or
``--engine-record``) each scenario runs against its live engine and rewrites its cassette.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client
from engineapi.api._call import Call
from engineapi.replay import Session, record_requested
from tests.conftest import OPT_OUT, live_engines
from tests.replay.scenarios import LABEL, TINY_IMAGE, Scenario

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


def clean_up(host: str) -> None:
    """Remove what an interrupted recording left behind (this is not recorded)."""
    with Client(host, environ={}) as client:
        for container in client.containers.list(all=True, filters={"label": [LABEL]}):
            client._send(
                Call(
                    "ContainerDelete",
                    "DELETE",
                    f"/containers/{container.id}",
                    query={"force": True},
                    decode=lambda r: r.status,
                )
            )
        for image in client.images.list(filters={"reference": [TINY_IMAGE]}):
            client._send(
                Call(
                    "ImageDelete",
                    "DELETE",
                    f"/images/{image.id}",
                    query={"force": True},
                    decode=lambda r: r.status,
                )
            )


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
    clean_up(host)
    return Session(path, "record", host=host, engine=engine_name, environ={}, **options)  # type: ignore[arg-type]


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
    """Run `scenario` in `session`, end the session; return the API version the client used."""
    version = run(scenario, session.client, session.async_client)
    session.finish()
    return version
