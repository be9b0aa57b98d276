"""``proxies`` and ``detachKeys`` of ``config.json``, against the real docker CLI.

The CLI and an engineapi `Client` are pointed at the same recording daemon (that of
``test_build_context_vs_cli``, answering a container inspect besides), with the same temporary
``DOCKER_CONFIG``, and must send the same thing:

- ``docker create``/``docker run -d`` and ``containers.create``/``run_detached``: the create
  body's ``Env`` (as a set: the CLI builds it from a Go map);
- ``docker build`` and ``images.build``: the ``buildargs`` query parameter;
- ``docker attach`` and ``containers.attach``: the ``detachKeys`` query parameter;
- ``docker exec`` and ``exec.create``: ``DetachKeys`` in the create body.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engineapi import Client, EngineAPIError
from tests.conformance.test_build_context_vs_cli import (
    DOCKERFILE,
    FakeDaemon,
    Recorded,
    _FakeServer,
    _Handler,
    clean_env,
    docker_cli,
    write,
)

CONTAINER = {"Id": "c" * 64, "State": {"Running": True, "Status": "running"}, "Config": {}}


class _InspectingHandler(_Handler):
    """Also answers ``GET /containers/{id}/json`` (``docker exec``/``attach`` ask first)."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/json") and "/containers/" in path and not path.endswith("s/json"):
            self.server.recorded.append(Recorded("GET", path, {}, dict(self.headers.items()), b""))
            self._answer(200, json.dumps(CONTAINER).encode())
        else:
            self._handle()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeDaemon]:
    docker = docker_cli()
    socket_path = tmp_path_factory.mktemp("daemon") / "docker.sock"
    server = _FakeServer(str(socket_path), _InspectingHandler)
    server.recorded = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeDaemon(socket_path, server, docker)
    finally:
        server.shutdown()
        server.server_close()


ALL = {
    "httpProxy": "http://proxy:3128",
    "httpsProxy": "https://proxy:3129",
    "noProxy": "localhost,.internal",
    "ftpProxy": "ftp://proxy:21",
    "allProxy": "socks5://proxy:1080",
}

#: name → config.json (HOST stands for the recording daemon's address).
CONFIGS: dict[str, Any] = {
    "none": {},
    "default": {"proxies": {"default": ALL}},
    "this-host": {
        "proxies": {"default": ALL, "HOST": {"httpProxy": "http://host-proxy:1"}},
        "detachKeys": "ctrl-x,y",
    },
    "other-host": {
        "proxies": {"tcp://elsewhere:2375": {"httpProxy": "http://x:1"}, "default": ALL}
    },
    "empty-values": {"proxies": {"default": {"httpProxy": "", "noProxy": "n"}}},
    "field-case": {"PROXIES": {"default": {"HTTPPROXY": "http://upper:1"}}, "DetachKeys": "ctrl-a"},
    "detach-keys": {"detachKeys": "ctrl-p,ctrl-q"},
    "malformed": "{not json",
    # A field of the wrong type: skipped, the rest read (the CLI warns and goes on too).
    "wrong-type": {
        "proxies": {"default": {"httpProxy": 5, "noProxy": "n"}},
        "detachKeys": "ctrl-a",
    },
}


def setup(tmp_path: Path, daemon: FakeDaemon, name: str) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    doc = CONFIGS[name]
    text = doc if isinstance(doc, str) else json.dumps(doc).replace("HOST", daemon.host)
    (config / "config.json").write_text(text)
    return clean_env(config, DOCKER_BUILDKIT="0")


def cli(daemon: FakeDaemon, env: dict[str, str], args: list[str]) -> list[Recorded]:
    result, recorded = daemon.run(args, env=env)
    assert recorded, result.stderr
    return recorded


def ours(daemon: FakeDaemon, env: dict[str, str], action: Any) -> list[Recorded]:
    daemon.server.recorded = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the malformed file's ConfigWarning
        with Client(daemon.host, environ=env) as client:
            try:
                action(client)
            except EngineAPIError:
                pass  # the recording daemon fakes no container
    return [r for r in daemon.server.recorded if r.path != "/_ping"]


def first(recorded: list[Recorded], path: str) -> Recorded:
    found = [r for r in recorded if r.path == path]
    assert found, [r.path for r in recorded]
    return found[0]


def env_of(recorded: list[Recorded]) -> set[str]:
    return set(json.loads(first(recorded, "/containers/create").body).get("Env") or [])


USER_ENV = {"none": [], "some": ["HTTP_PROXY=mine", "no_proxy", "A=1"]}


@pytest.mark.parametrize("user", list(USER_ENV))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_create_env_is_the_clis(config: str, user: str, daemon: FakeDaemon, tmp_path: Path) -> None:
    env = setup(tmp_path, daemon, config)
    options = [x for entry in USER_ENV[user] for x in ("-e", entry)]
    theirs = env_of(cli(daemon, env, ["create", *options, "busybox"]))
    mine = env_of(
        ours(daemon, env, lambda c: c.containers.create(image="busybox", env=USER_ENV[user]))
    )
    assert mine == theirs


def test_run_detached_env_is_the_clis(daemon: FakeDaemon, tmp_path: Path) -> None:
    env = setup(tmp_path, daemon, "this-host")
    theirs = env_of(cli(daemon, env, ["run", "-d", "-e", "http_proxy=mine", "busybox"]))
    mine = env_of(
        ours(daemon, env, lambda c: c.containers.run_detached("busybox", env=["http_proxy=mine"]))
    )
    assert mine == theirs == {"http_proxy=mine", "HTTP_PROXY=http://host-proxy:1"}


@pytest.mark.parametrize("user", [{}, {"HTTP_PROXY": "mine", "ftp_proxy": "x"}], ids=["", "args"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_build_args_are_the_clis(
    config: str, user: dict[str, str], daemon: FakeDaemon, tmp_path: Path
) -> None:
    env = setup(tmp_path, daemon, config)
    ctx = tmp_path / "ctx"
    write(ctx / "Dockerfile", DOCKERFILE)
    options = [x for k, v in user.items() for x in ("--build-arg", f"{k}={v}")]
    build = first(cli(daemon, env, ["build", "-q", *options, str(ctx)]), "/build")
    theirs = json.loads(build.query.get("buildargs", ["{}"])[0])
    mine_build = first(
        ours(daemon, env, lambda c: c.images.build(ctx, build_args=user).wait()), "/build"
    )
    assert json.loads(mine_build.query.get("buildargs", ["{}"])[0]) == theirs


@pytest.mark.parametrize("given", [None, "ctrl-e"])
@pytest.mark.parametrize("config", ["none", "detach-keys", "field-case", "malformed", "wrong-type"])
def test_attach_detach_keys_are_the_clis(
    config: str, given: str | None, daemon: FakeDaemon, tmp_path: Path
) -> None:
    env = setup(tmp_path, daemon, config)
    options = ["--detach-keys", given] if given else []
    attach = first(cli(daemon, env, ["attach", *options, "abc"]), "/containers/abc/attach")
    mine = first(
        ours(daemon, env, lambda c: c.containers.attach("abc", detach_keys=given)),
        "/containers/abc/attach",
    )
    assert mine.query.get("detachKeys") == attach.query.get("detachKeys")


@pytest.mark.parametrize("given", [None, "ctrl-e"])
@pytest.mark.parametrize("config", ["none", "detach-keys", "field-case", "malformed", "wrong-type"])
def test_exec_detach_keys_are_the_clis(
    config: str, given: str | None, daemon: FakeDaemon, tmp_path: Path
) -> None:
    env = setup(tmp_path, daemon, config)
    options = ["--detach-keys", given] if given else []
    created = first(cli(daemon, env, ["exec", *options, "abc", "sh"]), "/containers/abc/exec")
    body: dict[str, Any] = {"Cmd": ["sh"], "AttachStdout": True, "AttachStderr": True}
    if given:
        body["DetachKeys"] = given
    mine = first(ours(daemon, env, lambda c: c.exec.create("abc", body)), "/containers/abc/exec")
    theirs_keys = json.loads(created.body).get("DetachKeys") or None
    assert json.loads(mine.body).get("DetachKeys") == theirs_keys
