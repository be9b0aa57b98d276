"""``proxies`` and ``detachKeys`` of the docker CLI's ``config.json``, on every live engine.

Each test writes a ``config.json`` into a temporary ``DOCKER_CONFIG`` given to the client as
``environ=``: the proxy variables must reach a container's environment and a build's
arguments (this daemon's entry, else ``default``; what the caller sets wins), and the detach
keys must really detach an attached TTY (attach and exec) while the process keeps running.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engineapi import AsyncClient, Client
from tests.conftest import Engine

PROXIES = {
    "httpProxy": "http://proxy.invalid:3128",
    "httpsProxy": "http://proxy.invalid:3129",
    "noProxy": "localhost,.internal",
}


def client_with(engine: Engine, tmp_path: Path, config: dict[str, Any]) -> Client:
    directory = tmp_path / "docker-config"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    return Client(engine.host, environ={"DOCKER_CONFIG": str(directory)})


def env_lines(output: bytes) -> set[str]:
    return {line for line in output.decode().splitlines() if "proxy" in line.lower()}


def test_run_gets_the_proxy_variables(engine: Engine, tmp_path: Path) -> None:
    config = {"proxies": {"default": PROXIES}}
    with client_with(engine, tmp_path, config) as client:
        result = client.containers.run(
            "busybox", ["env"], env={"HTTP_PROXY": "http://mine:1"}, remove=True
        )
    assert result.exit_code == 0
    assert env_lines(result.stdout) == {
        "HTTP_PROXY=http://mine:1",  # the caller's wins; http_proxy is another name
        "http_proxy=http://proxy.invalid:3128",
        "HTTPS_PROXY=http://proxy.invalid:3129",
        "https_proxy=http://proxy.invalid:3129",
        "NO_PROXY=localhost,.internal",
        "no_proxy=localhost,.internal",
    }


def test_this_daemons_entry_wins_over_default(engine: Engine, tmp_path: Path) -> None:
    config = {"proxies": {"default": PROXIES, engine.host: {"allProxy": "socks5://near:1080"}}}
    with client_with(engine, tmp_path, config) as client:
        cid = client.containers.run_detached("busybox", ["env"])
        try:
            client.containers.wait(cid)
            output = client.containers.logs(cid).read()
        finally:
            client.containers.delete(cid, force=True)
    assert env_lines(output) == {"ALL_PROXY=socks5://near:1080", "all_proxy=socks5://near:1080"}


def test_build_gets_the_proxy_variables_as_build_args(engine: Engine, tmp_path: Path) -> None:
    tag = f"engineapi-test/proxy-args-{time.time_ns()}:1"
    dockerfile = 'FROM busybox\nRUN echo "$HTTP_PROXY $http_proxy $NO_PROXY" > /seen\n'
    with client_with(engine, tmp_path, {"proxies": {"default": PROXIES}}) as client:
        try:
            client.images.build(
                dockerfile_content=dockerfile, tag=tag, build_args={"NO_PROXY": "mine"}
            ).wait()
            result = client.containers.run(tag, ["cat", "/seen"], remove=True)
        finally:
            client.images.delete(tag, force=True)
    assert result.stdout == b"http://proxy.invalid:3128 http://proxy.invalid:3128 mine\n"


@pytest.fixture
def detach_client(engine: Engine, tmp_path: Path) -> Iterator[Client]:
    with client_with(engine, tmp_path, {"detachKeys": "ctrl-x,y"}) as client:
        yield client


def read_until(stream: Any, marker: bytes | None) -> bytes:
    """Output until `marker` is seen, or with `marker` None until the stream ends."""
    seen = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        frame = stream.read_frame(timeout=20)
        if frame is None:
            assert marker is None, seen
            return seen
        seen += frame[1]
        if marker is not None and marker in seen:
            return seen
    raise AssertionError(f"no {marker!r} in {seen!r}")


def tty_container(client: Client) -> str:
    cid = client.containers.create(
        {"Image": "busybox", "Cmd": ["cat"], "Tty": True, "OpenStdin": True}
    ).id
    assert cid
    client.containers.start(cid)
    return cid


PODMAN_IGNORES_DETACH_KEYS = (
    "Podman 4.3's compat attach and exec ignore detach keys (the given ones and its default "
    "ctrl-p,ctrl-q alike reach the process as input): nothing detaches there"
)


def test_the_detach_keys_detach_an_attach(engine: Engine, detach_client: Client) -> None:
    if engine.is_podman:
        pytest.skip(PODMAN_IGNORES_DETACH_KEYS)
    client = detach_client
    cid = tty_container(client)
    try:
        # Keys given by the caller win: ctrl-x,y is then plain input.
        with client.containers.attach(cid, stdin=True, detach_keys="ctrl-p,ctrl-q") as attached:
            attached.write(b"\x18y first\n")
            read_until(attached, b"first")
        with client.containers.attach(cid, stdin=True) as attached:
            attached.write(b"second\n")
            read_until(attached, b"second")
            attached.write(b"\x18y")  # config.json's keys: the daemon ends the attach
            read_until(attached, None)
        assert client.containers.inspect(cid).state.running  # detached, not stopped
    finally:
        client.containers.delete(cid, force=True)


def exec_keys(engine: Engine, value: str | None) -> bytes | None:
    """An exec's DetachKeys as inspected: Docker shows the parsed key bytes (base64), Podman
    the text it was given."""
    if value is None or engine.is_podman:
        return None if value is None else value.encode()
    return base64.b64decode(value)


def test_the_detach_keys_detach_an_exec(engine: Engine, detach_client: Client) -> None:
    client = detach_client
    cid = tty_container(client)
    config = {"Cmd": ["cat"], "Tty": True, "AttachStdin": True, "AttachStdout": True}
    try:
        mine = client.exec.create(cid, {**config, "DetachKeys": "ctrl-p,ctrl-q"}).id
        from_file = client.exec.create(cid, config).id
        assert mine and from_file
        keys = {"mine": b"\x10\x11", "from-file": b"\x18y"}
        if engine.is_podman:
            keys = {"mine": b"ctrl-p,ctrl-q", "from-file": b"ctrl-x,y"}
        assert exec_keys(engine, client.exec.inspect(mine).detach_keys) == keys["mine"]
        assert exec_keys(engine, client.exec.inspect(from_file).detach_keys) == keys["from-file"]
        if engine.is_podman:
            pytest.skip(PODMAN_IGNORES_DETACH_KEYS + " (the exec records them: checked)")
        with client.exec.start(mine, tty=True) as started:
            started.write(b"\x18y first\n")  # plain input there
            read_until(started, b"first")
        with client.exec.start(from_file, tty=True) as started:
            started.write(b"in exec\n")
            read_until(started, b"in exec")
            started.write(b"\x18y")  # config.json's keys: the daemon ends the stream
            read_until(started, None)
    finally:
        client.containers.delete(cid, force=True)


def test_the_async_client_applies_them_too(engine: Engine, tmp_path: Path) -> None:
    """The same settings through an `AsyncClient` (the file read in a worker thread), with a
    build from a Dockerfile file object read there too."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"proxies": {"default": PROXIES}}))
    tag = f"engineapi-test/proxy-async-{time.time_ns()}:1"
    dockerfile = io.BytesIO(b'FROM busybox\nRUN echo "$https_proxy" > /seen\n')

    async def main() -> tuple[bytes, bytes]:
        environ = {"DOCKER_CONFIG": str(directory)}
        async with AsyncClient(engine.host, environ=environ) as client:
            try:
                await client.images.build(dockerfile_content=dockerfile, tag=tag).wait()
                built = await client.containers.run(tag, ["cat", "/seen"], remove=True)
                ran = await client.containers.run("busybox", ["env"], remove=True)
            finally:
                await client.images.delete(tag, force=True)
        return built.stdout, ran.stdout

    built, ran = asyncio.run(main())
    assert built == b"http://proxy.invalid:3129\n"
    assert "no_proxy=localhost,.internal" in env_lines(ran)
