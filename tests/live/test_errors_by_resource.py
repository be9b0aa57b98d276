"""404s typed by resource, and one `ImagePullError` for a failed pull, on every engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from engineapi import (
    AsyncClient,
    Client,
    ContainerNotFound,
    DaemonError,
    ExecNotFound,
    ImageNotFound,
    ImagePullError,
    NetworkNotFound,
    NotFound,
    PluginNotFound,
    SecretNotFound,
    StreamError,
    VolumeNotFound,
)
from tests.conftest import Engine

NOPE = "engineapi-no-such-thing"

CASES: list[tuple[str, Callable[[Client], object], type[NotFound]]] = [
    ("container", lambda c: c.containers.inspect(NOPE), ContainerNotFound),
    ("create, unknown image", lambda c: c.containers.create({"Image": f"{NOPE}:1"}), ImageNotFound),
    ("image", lambda c: c.images.inspect(f"{NOPE}:1"), ImageNotFound),
    ("image delete", lambda c: c.images.delete(f"{NOPE}:1"), ImageNotFound),
    ("network", lambda c: c.networks.inspect(NOPE), NetworkNotFound),
    ("volume", lambda c: c.volumes.inspect(NOPE), VolumeNotFound),
    ("exec", lambda c: c.exec.inspect(NOPE), ExecNotFound),
    ("connect, unknown container", lambda c: c.networks.connect("bridge", NOPE), ContainerNotFound),
]


@pytest.mark.parametrize(("what", "call", "expected"), CASES, ids=[c[0] for c in CASES])
def test_not_found_by_resource(
    engine: Engine, what: str, call: Callable[[Client], object], expected: type[NotFound]
) -> None:
    with Client(engine.host) as client, pytest.raises(expected) as info:
        call(client)
    assert type(info.value) is expected, (what, info.value)
    assert info.value.status == 404


def test_plugins_and_secrets(engine: Engine) -> None:
    with Client(engine.host) as client:
        with pytest.raises(NotFound) as info:
            client.plugins.inspect(NOPE)
        # Podman's compat API has no plugin endpoints: a 404 "Not Found" blames no plugin.
        assert type(info.value) is (NotFound if engine.is_podman else PluginNotFound)
        if engine.is_podman:  # Docker needs a swarm for secrets (503 here)
            with pytest.raises(SecretNotFound):
                client.secrets.inspect(NOPE)


@pytest.mark.parametrize(
    "reference",
    [f"127.0.0.1:15000/{NOPE}:1", f"127.0.0.1:1/{NOPE}:1"],
    ids=["unknown image", "unreachable registry"],
)
def test_failed_pull_is_one_error(engine: Engine, reference: str) -> None:
    with Client(engine.host) as client, pytest.raises(ImagePullError) as info:
        client.images.pull(reference).wait()
    error = info.value
    assert isinstance(error, DaemonError) and isinstance(error, StreamError)
    assert error.reference == reference
    assert reference in str(error) and error.message
    # Docker refuses with an HTTP status; Podman reports it inside the stream.
    assert (error.status == 0) if engine.is_podman else (error.status in (404, 500))


def test_run_pulling_a_missing_image(engine: Engine) -> None:
    with Client(engine.host) as client, pytest.raises(ImagePullError):
        client.containers.run(f"127.0.0.1:15000/{NOPE}:1", ["true"], remove=True)


def test_async(engine: Engine) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(engine.host) as client:
            raised: list[Any] = []
            for coro in (
                client.containers.inspect(NOPE),
                client.images.inspect(f"{NOPE}:1"),
                client.images.pull(f"127.0.0.1:1/{NOPE}:1").wait(),
            ):
                try:
                    await coro
                except DaemonError as exc:
                    raised.append(type(exc))
            return raised

    assert asyncio.run(main()) == [ContainerNotFound, ImageNotFound, ImagePullError]
