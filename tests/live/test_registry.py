"""Pull, push and build against the local registry that requires a login, with the credentials
found the docker CLI's way: ``config.json`` auths, a credential helper (a real executable on
``PATH``), and ``X-Registry-Config`` for a build's ``FROM``.

The registries are started by ``make engines`` and described in
``/run/engineapi/registry.json``; they run on the Docker engines (Podman 4.3 is not pointed at
them). Each test writes its own ``DOCKER_CONFIG``.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from engineapi import Client, DaemonError, StreamError
from tests.conftest import OPT_OUT, Engine

REGISTRY_FILE = Path(os.environ.get("ENGINEAPI_REGISTRY_FILE", "/run/engineapi/registry.json"))


@attrs.frozen
class Registry:
    host: str  # the registry that requires a login, e.g. 127.0.0.1:15001
    username: str
    password: str


@pytest.fixture(scope="module")
def registry() -> Registry:
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: live engine tests skipped on request")
    if not REGISTRY_FILE.exists():
        pytest.fail(f"{REGISTRY_FILE} is missing: run 'make engines'", pytrace=False)
    data = json.loads(REGISTRY_FILE.read_text())
    return Registry(data["auth"], data["username"], data["password"])


@attrs.define
class Config:
    dir: Path
    bin: Path

    def write(self, doc: dict[str, Any]) -> None:
        (self.dir / "config.json").write_text(json.dumps(doc))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """An empty DOCKER_CONFIG of this test's own, and a directory on PATH for helpers."""
    found = Config(tmp_path / "docker-config", tmp_path / "bin")
    found.dir.mkdir()
    found.bin.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(found.dir))
    monkeypatch.setenv("PATH", f"{found.bin}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    return found


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    if engine.is_podman:
        pytest.skip("the test registries are used by the Docker engines")
    with Client(engine.host) as c:
        yield c


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def private_image(client: Client, registry: Registry, engine: Engine, what: str) -> str:
    """busybox, pushed to the registry under a fresh name (explicit credentials), then removed
    locally; its reference."""
    repo = f"{registry.host}/engineapi-test/{what}-{engine.name}-{time.time_ns()}"
    client.images.tag("busybox", repo=repo, tag="1")
    auth = {
        "username": registry.username,
        "password": registry.password,
        "serveraddress": registry.host,
    }
    client.images.push(repo, tag="1", auth=auth).wait()
    client.images.delete(f"{repo}:1")
    return f"{repo}:1"


def test_push_and_pull_with_config_json_auths(
    client: Client, engine: Engine, registry: Registry, config: Config
) -> None:
    repo = f"{registry.host}/engineapi-test/auths-{engine.name}-{time.time_ns()}"
    client.images.tag("busybox", repo=repo, tag="1")
    try:
        with pytest.raises((StreamError, DaemonError)):  # no credentials yet
            client.images.push(repo, tag="1").wait()
        config.write(
            {"auths": {registry.host: {"auth": b64(f"{registry.username}:{registry.password}")}}}
        )
        client.images.push(repo, tag="1").wait()
        client.images.delete(f"{repo}:1")
        client.images.pull(f"{repo}:1").wait()
        assert client.images.inspect(f"{repo}:1").id == client.images.inspect("busybox").id
    finally:
        client.images.delete(f"{repo}:1", force=True)


def test_credentials_come_from_the_clients_own_environ(
    engine: Engine, registry: Registry, config: Config, tmp_path: Path
) -> None:
    """`environ=` decides where credentials are found, not the process environment (whose
    DOCKER_CONFIG, set by the `config` fixture, holds none)."""
    if engine.is_podman:
        pytest.skip("the test registries are used by the Docker engines")
    own = tmp_path / "own-config"
    own.mkdir()
    (own / "config.json").write_text(
        json.dumps(
            {"auths": {registry.host: {"auth": b64(f"{registry.username}:{registry.password}")}}}
        )
    )
    repo = f"{registry.host}/engineapi-test/environ-{engine.name}-{time.time_ns()}"
    with (
        Client(engine.host, environ={"DOCKER_CONFIG": str(own), "PATH": ""}) as with_auths,
        Client(engine.host) as without,
    ):
        without.images.tag("busybox", repo=repo, tag="1")
        try:
            with pytest.raises((StreamError, DaemonError)):
                without.images.push(repo, tag="1").wait()
            with_auths.images.push(repo, tag="1").wait()
            without.images.delete(f"{repo}:1")
            with pytest.raises((StreamError, DaemonError)):
                without.images.pull(f"{repo}:1").wait()
            with_auths.images.pull(f"{repo}:1").wait()
        finally:
            without.images.delete(f"{repo}:1", force=True)


async def test_an_async_client_looks_credentials_up_off_the_loop(
    engine: Engine, registry: Registry, config: Config, tmp_path: Path
) -> None:
    """A credential helper that takes a while does not stall the event loop: other tasks run."""
    if engine.is_podman:
        pytest.skip("the test registries are used by the Docker engines")
    import asyncio

    from engineapi import AsyncClient

    reference = f"{registry.host}/engineapi-test/slow-helper-{engine.name}-{time.time_ns()}:1"
    helper = config.bin / "docker-credential-engineapi-slow"
    helper.write_text(
        f"#!{sys.executable}\nimport sys, time\ntime.sleep(1)\n"
        "print('credentials not found in native keychain')\nsys.exit(1)\n"
    )
    helper.chmod(0o755)
    config.write({"credHelpers": {registry.host: "engineapi-slow"}})
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    async with AsyncClient(engine.host) as client:
        ticker = asyncio.create_task(tick())
        try:
            with pytest.raises((StreamError, DaemonError)):  # anonymous: the registry refuses
                await client.images.pull(reference).wait()
        finally:
            ticker.cancel()
    assert ticks >= 10  # the loop ran throughout the helper's second


HELPER = """#!{python}
import json, sys
action, server = sys.argv[1], sys.stdin.read()
with open({log!r}, "a") as log:
    log.write(json.dumps([action, server]) + "\\n")
if action == "get" and server == {host!r}:
    print(json.dumps({{"ServerURL": server, "Username": {user!r}, "Secret": {secret!r}}}))
else:
    print("credentials not found in native keychain")
    sys.exit(1)
"""


def test_pull_with_a_credential_helper(
    client: Client, engine: Engine, registry: Registry, config: Config
) -> None:
    reference = private_image(client, registry, engine, "helper")
    try:
        with pytest.raises((StreamError, DaemonError)):
            client.images.pull(reference).wait()
        log = config.bin / "calls.log"
        helper = config.bin / "docker-credential-engineapi-test"
        helper.write_text(
            HELPER.format(
                python=sys.executable,
                log=str(log),
                host=registry.host,
                user=registry.username,
                secret=registry.password,
            )
        )
        helper.chmod(0o755)
        config.write({"credHelpers": {registry.host: "engineapi-test"}})
        client.images.pull(reference).wait()
        assert client.images.inspect(reference).id
        assert json.loads(log.read_text().splitlines()[-1]) == ["get", registry.host]
    finally:
        client.images.delete(reference, force=True)


def test_build_from_a_private_image_sends_the_registry_config(
    client: Client, engine: Engine, registry: Registry, config: Config, tmp_path: Path
) -> None:
    base = private_image(client, registry, engine, "base")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nCOPY hello /hello\n")
    (ctx / "hello").write_text("hi\n")
    tag = f"engineapi-test/from-private-{time.time_ns()}:1"
    try:
        with pytest.raises((StreamError, DaemonError)):  # the daemon cannot pull FROM
            client.images.build(ctx, tag=tag).wait()
        config.write(
            {"auths": {registry.host: {"auth": b64(f"{registry.username}:{registry.password}")}}}
        )
        client.images.build(ctx, tag=tag).wait()
        assert client.images.inspect(tag).id
    finally:
        for reference in (tag, base):
            try:
                client.images.delete(reference, force=True)
            except DaemonError:
                pass
