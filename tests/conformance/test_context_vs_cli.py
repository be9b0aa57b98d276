"""engineapi.config against the real docker CLI.

In a temporary DOCKER_CONFIG, contexts are made with ``docker context create`` (TLS material
from throwaway certificates made with ``openssl``), ``docker context use`` sets the current
context, and for a matrix of environments engineapi must pick the same context name as
``docker context show`` and the same host, ``SkipTLSVerify`` and TLS files as ``docker
context inspect`` — or fail where the CLI fails. Neither command needs an engine, and
nothing here opens a connection.

Without a ``docker`` on PATH these tests fail, unless ``ENGINEAPI_NO_DOCKER_CLI=1`` is set,
in which case they are skipped.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from engineapi.config import (
    ConfigError,
    Endpoint,
    context_dir_name,
    list_contexts,
    load_context,
    parse_context_host,
    read_current_context,
    resolve_context_name,
    resolve_endpoint,
)

IN_MEMORY = "<IN MEMORY>"


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is not None:
        return path
    if os.environ.get("ENGINEAPI_NO_DOCKER_CLI") == "1":
        pytest.skip(f"{tool} is not on PATH and ENGINEAPI_NO_DOCKER_CLI=1")
    pytest.fail(
        f"`{tool}` is not on PATH: these tests compare engineapi with the docker CLI. "
        f"Install it ({package}) or set ENGINEAPI_NO_DOCKER_CLI=1 to skip them.",
        pytrace=False,
    )


@attrs.frozen
class Run:
    returncode: int
    stdout: str
    stderr: str


@attrs.frozen
class World:
    """The temporary docker configuration shared by the tests of this module."""

    docker: str
    home: Path
    config: Path
    certs: Path  # ca.pem, cert.pem, key.pem
    ca_only: Path  # ca.pem
    no_ca: Path  # cert.pem, key.pem
    current: Mapping[str | None, bytes | None]  # config.json contents per currentContext

    def env(self, **extra: str | None) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home)}
        env["DOCKER_CONFIG"] = str(self.config)
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

    def run(self, args: list[str], env: Mapping[str, str]) -> Run:
        proc = subprocess.run(
            [self.docker, *args],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def must(self, args: list[str], env: Mapping[str, str] | None = None) -> str:
        result = self.run(args, env or self.env())
        assert result.returncode == 0, f"docker {' '.join(args)} failed: {result.stderr}"
        return result.stdout

    def set_current(self, name: str | None) -> None:
        path = self.config / "config.json"
        content = self.current[name]
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)


def _make_certs(openssl: str, directory: Path) -> None:
    directory.mkdir()
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(directory / "key.pem"),
            "-out",
            str(directory / "cert.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=engineapi-conformance",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    shutil.copy(directory / "cert.pem", directory / "ca.pem")


CONTEXTS = {
    "tlsctx": "host=tcp://10.0.0.1:2376,ca={certs}/ca.pem,cert={certs}/cert.pem,key={certs}/key.pem",
    "skipctx": "host=tcp://10.0.0.2,skip-tls-verify=true",
    "unixctx": "host=unix:///tmp/engineapi-conformance.sock",
    "sshctx": "host=ssh://user@host:2222",
    "noportctx": "host=tcp://10.0.0.3",
    "caonly": "host=tcp://[::1]:2376,ca={certs}/ca.pem",
    "certkey": "host=tcp://10.0.0.5:2376,cert={certs}/cert.pem,key={certs}/key.pem",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    docker = _require("docker", "the docker-ce-cli package, or a docker binary")
    root = tmp_path_factory.mktemp("docker-cli")
    probe = subprocess.run(
        [docker, "context", "show"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(root), "DOCKER_CONFIG": str(root)},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if probe.returncode != 0:
        version = subprocess.run(
            [docker, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        pytest.fail(
            f"{docker} ({version}) has no `docker context show`: these tests need the docker "
            "CLI 23.0 or newer (the 28.x CLI is the reference) first on PATH.",
            pytrace=False,
        )
    openssl = _require("openssl", "Debian's openssl package")
    home = root / "home"
    config = root / "dockercfg"
    home.mkdir()
    config.mkdir()
    certs = root / "certs"
    _make_certs(openssl, certs)
    ca_only = root / "ca-only"
    ca_only.mkdir()
    shutil.copy(certs / "ca.pem", ca_only / "ca.pem")
    no_ca = root / "no-ca"
    no_ca.mkdir()
    for name in ("cert.pem", "key.pem"):
        shutil.copy(certs / name, no_ca / name)

    for name in ("ca.pem", "cert.pem", "key.pem"):  # DOCKER_CERT_PATH's default
        shutil.copy(certs / name, config / name)

    partial = World(docker, home, config, certs, ca_only, no_ca, {})
    for name, spec in CONTEXTS.items():
        partial.must(["context", "create", name, "--docker", spec.format(certs=certs)])

    # What `docker context use` writes, replayed per case below.
    current: dict[str | None, bytes | None] = {}
    partial.must(["context", "use", "sshctx"])
    current["sshctx"] = (config / "config.json").read_bytes()
    partial.must(["context", "use", "default"])
    current["default"] = (config / "config.json").read_bytes()
    (config / "config.json").unlink()
    current[None] = None
    current["ghost"] = json.dumps({"currentContext": "ghost"}).encode()  # `use` refuses it
    yield attrs.evolve(partial, current=current)


# -- the matrix -----------------------------------------------------------------------------------

HOSTS: list[str | None] = [
    None,
    "",
    "  ",
    "tcp://192.0.2.9",
    "ssh://me@box:2200",
    "unix:///tmp/other.sock",
]
DOCKER_CONTEXTS: list[str | None] = [
    None,
    "",
    "tlsctx",
    "skipctx",
    "unixctx",
    "sshctx",
    "noportctx",
    "caonly",
    "certkey",
    "ghost",
    "default",
]
CURRENT: list[str | None] = [None, "sshctx", "ghost", "default"]
TLS_ENVS = ["none", "verify", "verify=0", "tls+ca-only", "verify+no-ca", "certpath-only"]


def _tls_env(world: World, kind: str) -> dict[str, str]:
    return {
        "none": {},
        "verify": {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(world.certs)},
        "verify=0": {"DOCKER_TLS_VERIFY": "0", "DOCKER_CERT_PATH": str(world.certs)},
        "tls+ca-only": {"DOCKER_TLS": "1", "DOCKER_CERT_PATH": str(world.ca_only)},
        "verify+no-ca": {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(world.no_ca)},
        "certpath-only": {"DOCKER_CERT_PATH": str(world.certs)},
        "verify-in-config-dir": {"DOCKER_TLS_VERIFY": "1"},
        "tls-in-config-dir": {"DOCKER_TLS": "yes", "DOCKER_CERT_PATH": ""},
    }[kind]


MATRIX = list(itertools.product(HOSTS, DOCKER_CONTEXTS, CURRENT, TLS_ENVS))


def _case_id(case: tuple[str | None, str | None, str | None, str]) -> str:
    host, ctx, current, tls = case
    return f"host={host!r}-ctx={ctx!r}-current={current!r}-{tls}"


def _inspect(world: World, env: Mapping[str, str], *names: str) -> tuple[Run, list[Any]]:
    result = world.run(["context", "inspect", *names], env)
    data = json.loads(result.stdout) if result.returncode == 0 else []
    return result, data


def _tls_files(endpoint: Endpoint) -> dict[str, str]:
    assert endpoint.tls is not None
    paths = {
        "ca.pem": endpoint.tls.ca_cert,
        "cert.pem": endpoint.tls.client_cert,
        "key.pem": endpoint.tls.client_key,
    }
    return {name: path for name, path in paths.items() if path is not None}


def _compare(world: World, env: Mapping[str, str]) -> None:
    show = world.run(["context", "show"], env)
    assert show.returncode == 0, show.stderr
    cli_name = show.stdout.strip()
    assert resolve_context_name(environ=env) == cli_name

    inspect, data = _inspect(world, env)
    try:
        endpoint = resolve_endpoint(environ=env)
    except ConfigError as exc:
        assert inspect.returncode != 0, (
            f"engineapi failed ({exc}) where the CLI resolved {inspect.stdout}"
        )
        if "context not found" in inspect.stderr:
            assert repr(cli_name) in str(exc)
            assert context_dir_name(cli_name) in str(exc)
        return
    assert inspect.returncode == 0, (
        f"the CLI failed ({inspect.stderr.strip()}) where engineapi resolved {endpoint}"
    )

    (info,) = data
    assert endpoint.context_name == info["Name"] == cli_name
    docker_ep = info["Endpoints"]["docker"]
    cli_host: str = docker_ep.get("Host", "")
    cli_skip: bool = docker_ep["SkipTLSVerify"]
    cli_files: list[str] = info["TLSMaterial"].get("docker", [])

    if cli_name == "default":
        # The default context's host is normalized by the CLI (opts.ParseHost).
        assert endpoint.host.url == cli_host
        assert info["Storage"]["TLSPath"] == IN_MEMORY
    else:
        # A named context's host is stored verbatim; compare what engineapi made of it.
        ctx = load_context(cli_name, env)
        assert (ctx.host or "") == cli_host
        assert info["Storage"]["MetadataPath"] == ctx.metadata_path
        assert info["Storage"]["TLSPath"] == ctx.tls_path
        assert ctx.skip_tls_verify == cli_skip
        has_tls = bool(cli_files) or cli_skip
        assert endpoint.host == parse_context_host(cli_host, tls=has_tls)

    if endpoint.host.scheme != "tcp":
        # The CLI uses no TLS over a Unix socket or an ssh connection helper, whatever
        # inspect lists; engineapi drops it at resolution.
        assert endpoint.tls is None
        return
    if endpoint.tls is None:
        assert cli_files == []
        assert cli_skip is False
        return
    assert endpoint.tls.verify is (not cli_skip)
    ours = _tls_files(endpoint)
    assert sorted(ours) == sorted(cli_files)
    cli_dir = (
        Path(env.get("DOCKER_CERT_PATH") or world.config)
        if cli_name == "default"
        else Path(info["Storage"]["TLSPath"]) / "docker"
    )
    for name, path in ours.items():
        assert Path(path).read_bytes() == (cli_dir / name).read_bytes(), name


@pytest.mark.parametrize("case", MATRIX, ids=[_case_id(c) for c in MATRIX])
def test_resolution_matches_cli(
    world: World, case: tuple[str | None, str | None, str | None, str]
) -> None:
    host, ctx, current, tls = case
    world.set_current(current)
    env = world.env(DOCKER_HOST=host, DOCKER_CONTEXT=ctx, **_tls_env(world, tls))
    _compare(world, env)


# -- DOCKER_HOST normalization --------------------------------------------------------------------

HOST_VALUES = [
    "tcp://1.2.3.4",
    "tcp://1.2.3.4:99",
    "1.2.3.4",
    "localhost:80",
    "unix://",
    "unix:///tmp/a.sock",
    "tcp://",
    "tcp://:3000",
    "tcp://[::1]:5",
    "tcp://[::1]:",
    "::1",
    "[::1]:22",
    "tcp://host/path/x",
    " tcp://a ",
    "tcp://a:2375?x=1",
    "tcp://u@a:1",
    "ssh://u@h:2222",
    "ssh://h",
    # rejected by both
    "garbage://x",
    "tcp://a:b",
    "tcp://a:-1",
    "unix://tcp://x",
    "foo bar",
]


@pytest.mark.parametrize("tls", ["none", "verify", "verify-in-config-dir", "tls-in-config-dir"])
@pytest.mark.parametrize("value", HOST_VALUES)
def test_docker_host_normalization_matches_cli(world: World, value: str, tls: str) -> None:
    world.set_current(None)
    env = world.env(DOCKER_HOST=value, **_tls_env(world, tls))
    _compare(world, env)


# -- the store ------------------------------------------------------------------------------------


def test_list_contexts_matches_context_ls(world: World) -> None:
    world.set_current(None)
    out = world.must(["context", "ls", "--format", "json"])
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    cli = [(row["Name"], row["DockerEndpoint"]) for row in rows if row["Name"] != "default"]
    ours = [(c.name, c.host or "") for c in list_contexts(world.env())]
    assert ours == cli
    assert sorted(name for name, _ in ours) == sorted(CONTEXTS)


def test_store_layout_matches_inspect(world: World) -> None:
    env = world.env()
    _, data = _inspect(world, env, *CONTEXTS)
    assert len(data) == len(CONTEXTS)
    for info in data:
        name = info["Name"]
        assert Path(info["Storage"]["MetadataPath"]).name == context_dir_name(name)
        assert Path(info["Storage"]["TLSPath"]).name == context_dir_name(name)
        ctx = load_context(name, env)
        listed = sorted(info["TLSMaterial"].get("docker", []))
        ours = [
            file
            for file, path in (
                ("ca.pem", ctx.ca_cert),
                ("cert.pem", ctx.client_cert),
                ("key.pem", ctx.client_key),
            )
            if path is not None
        ]
        assert ours == listed
        for file in ours:  # the CLI copied the files given to `context create`
            stored = Path(info["Storage"]["TLSPath"]) / "docker" / file
            assert stored.read_bytes() == (world.certs / file).read_bytes()


def test_context_use_writes_what_we_read(world: World) -> None:
    world.set_current(None)
    env = world.env()
    assert read_current_context(env) is None
    world.must(["context", "use", "tlsctx"], env)
    assert read_current_context(env) == "tlsctx"
    assert resolve_endpoint(environ=env).source == (
        f"context 'tlsctx' from currentContext in {world.config / 'config.json'}"
    )
    world.must(["context", "use", "default"], env)
    assert read_current_context(env) is None
    world.set_current(None)


def test_context_flag_matches_context_argument(world: World) -> None:
    world.set_current("sshctx")
    env = world.env(DOCKER_HOST="tcp://192.0.2.9", DOCKER_CONTEXT="ghost")
    for name in ("tlsctx", "default", "unixctx"):
        show = world.must(["--context", name, "context", "show"], env).strip()
        assert show == resolve_context_name(context=name, environ=env) == name
        _, data = _inspect(world, env, name)
        endpoint = resolve_endpoint(context=name, environ=env)
        cli_host = data[0]["Endpoints"]["docker"]["Host"]
        if name == "default":
            assert endpoint.host.url == cli_host  # --context default still reads DOCKER_HOST
        else:
            assert endpoint.host.raw == cli_host
    # -H means the default context, whatever DOCKER_CONTEXT says.
    show = world.must(["-H", "tcp://192.0.2.8", "context", "show"], env).strip()
    assert show == resolve_context_name("tcp://192.0.2.8", environ=env) == "default"
    inspect = world.must(["-H", "tcp://192.0.2.8", "context", "inspect"], env)
    assert json.loads(inspect)[0]["Endpoints"]["docker"]["Host"] == "tcp://192.0.2.8:2375"
    assert resolve_endpoint("tcp://192.0.2.8", environ=env).host.url == "tcp://192.0.2.8:2375"
    # Both at once is refused by both.
    refused = world.run(["-H", "tcp://192.0.2.8", "--context", "tlsctx", "context", "show"], env)
    assert refused.returncode != 0
    with pytest.raises(ConfigError):
        resolve_endpoint("tcp://192.0.2.8", context="tlsctx", environ=env)
    world.set_current(None)


def test_home_docker_dir_when_docker_config_is_unset(world: World, tmp_path: Path) -> None:
    home = tmp_path / "other-home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    world.must(["context", "create", "homectx", "--docker", "host=tcp://10.0.0.7:2375"], env)
    world.must(["context", "use", "homectx"], env)
    assert (home / ".docker" / "config.json").is_file()
    _compare(world, env)
    assert resolve_endpoint(environ=env).source == (
        f"context 'homectx' from currentContext in {home / '.docker' / 'config.json'}"
    )
    _compare(world, {**env, "DOCKER_CONFIG": ""})  # empty counts as unset
