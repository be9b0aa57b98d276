"""Build contexts and registry credentials against the real docker CLI.

Two ways of asking the CLI what it does:

- **A recording daemon.** The ``docker`` CLI is pointed (``-H unix://…``) at a small fake
  daemon that answers ``/_ping``, ``/build``, ``/images/create`` and ``/images/{name}/push`` and
  records what it was sent: the build context tar, the ``dockerfile`` parameter,
  ``X-Registry-Config`` and ``X-Registry-Auth``. engineapi must produce the same tar members
  (names, types, link targets, sizes, modes) as ``DOCKER_BUILDKIT=0 docker build DIR``, and the
  same credentials as ``docker pull``/``docker push``/``docker build`` for a matrix of
  ``config.json`` files, credential helpers (real executables on ``PATH``) and
  ``DOCKER_AUTH_CONFIG``.
- **Real engines.** Each tricky directory is built on Docker 20.10 and Docker 28 with the
  classic builder, once by the CLI and once by engineapi, from ``FROM busybox`` +
  ``COPY . /ctx``, and the files of ``/ctx`` in the two images must be identical (this includes
  what the daemon itself drops: an excluded Dockerfile or ``.dockerignore``).

Without a ``docker`` on PATH these tests fail, unless ``ENGINEAPI_NO_ENGINES=1`` is set.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socketserver
import stat
import subprocess
import sys
import tarfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest

from engineapi import Client, EngineAPIError
from engineapi.archive.dockerignore import build_context, resolve_dockerfile
from engineapi.config.auth import CredentialsError, auth_for, registry_config
from tests.conftest import OPT_OUT, Engine

DOCKERFILE = b"FROM busybox\nCOPY . /ctx\n"


def docker_cli() -> str:
    path = shutil.which("docker")
    if path is not None:
        return path
    if os.environ.get(OPT_OUT):
        pytest.skip(f"docker is not on PATH and {OPT_OUT}=1")
    pytest.fail(
        "`docker` is not on PATH: these tests compare engineapi with the docker CLI. "
        f"Install it or set {OPT_OUT}=1 to skip them.",
        pytrace=False,
    )


def cli_version() -> tuple[int, ...]:
    """The docker CLI's version, e.g. (28, 2, 2)."""
    out = subprocess.run([docker_cli(), "--version"], capture_output=True, text=True).stdout
    number = out.split("version", 1)[1].split(",")[0].strip()
    return tuple(int(part) for part in number.split("-")[0].split(".") if part.isdigit())


#: CLI 28.3.0 added DOCKER_AUTH_CONFIG; engineapi follows 28.3 and later, so against an older
#: CLI the comparisons with that variable set are skipped.
AUTH_CONFIG_CLI = (28, 3)


def needs_modern_cli(reason: str) -> None:
    if cli_version() < AUTH_CONFIG_CLI:
        version = ".".join(map(str, cli_version()))
        pytest.skip(f"the docker CLI here ({version}) predates 28.3.0: {reason}")


# ---------------------------------------------------------------------------------------------
# The tricky directories


@attrs.frozen
class Case:
    make: Callable[[Path, Path], None]  # (context, outside) → files
    dockerfile: str | None = None  # -f, relative to the context
    fails: str | None = None  # the daemon's error when the build cannot succeed


def write(path: Path, data: bytes | str = b"x\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def with_dockerfile(make: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def go(ctx: Path, outside: Path) -> None:
        write(ctx / "Dockerfile", DOCKERFILE)
        make(ctx, outside)

    return go


@with_dockerfile
def nested_exceptions(ctx: Path, outside: Path) -> None:
    for name in ["src/a.py", "src/keep/k.py", "src/keep/secret.txt", "src/keep/deep/x.py"]:
        write(ctx / name)
    write(ctx / "src/keep/secret.txt.example")
    write(ctx / "other/src/a.py")
    write(ctx / ".dockerignore", "src\n!src/keep\nsrc/keep/secret.txt\n!src/keep/*.example\n")


@with_dockerfile
def globstar_logs(ctx: Path, outside: Path) -> None:
    for name in ["a.log", "important.log", "x/b.log", "x/y/z/c.log", "x/important.log"]:
        write(ctx / name)
    for name in ["top.tmp", "x/nested.tmp", "x/y/keep.txt", "logs.d/readme"]:
        write(ctx / name)
    write(ctx / ".dockerignore", "**/*.log\n!important.log\n*.tmp\n")


@with_dockerfile
def leading_slash_and_dot(ctx: Path, outside: Path) -> None:
    for name in ["build/out.o", "sub/build/out.o", "dist/app", "b/file", "#x", "keep", "spaced"]:
        write(ctx / name)
    write(ctx / "a/file")
    write(
        ctx / ".dockerignore",
        "# a comment\n/build\n./dist/\n/a/../b\n #x\n\n   spaced   \n!  ./keep\n",
    )


@with_dockerfile
def directory_patterns(ctx: Path, outside: Path) -> None:
    for name in [
        "node_modules/pkg/index.js",
        "web/node_modules/pkg/index.js",
        "cache/c1",
        "py/__pycache__/m.pyc",
        "py/deep/__pycache__/n.pyc",
        "py/m.py",
    ]:
        write(ctx / name)
    write(ctx / ".dockerignore", "node_modules\ncache/\n**/__pycache__\n")


@with_dockerfile
def exclude_build_files(ctx: Path, outside: Path) -> None:
    write(ctx / "keep.txt")
    write(ctx / "drop.txt")
    write(ctx / ".dockerignore", "*\n!keep*\nDockerfile\n.dockerignore\n")


def dockerfile_in_excluded_dir(ctx: Path, outside: Path) -> None:
    write(ctx / "docker/app.Dockerfile", DOCKERFILE)
    write(ctx / "docker/other.txt")
    write(ctx / "docker/sub/more.txt")
    write(ctx / "app.py")
    write(ctx / ".dockerignore", "docker\n")


def dockerfile_symlink(ctx: Path, outside: Path) -> None:
    write(ctx / "docker/real.Dockerfile", DOCKERFILE)
    write(ctx / "docker/x")
    write(ctx / "app.py")
    (ctx / "Dockerfile").symlink_to("docker/real.Dockerfile")
    write(ctx / ".dockerignore", "docker\n")


@with_dockerfile
def symlinks(ctx: Path, outside: Path) -> None:
    write(outside / "secret", "do not send\n")
    write(ctx / "real/file.txt")
    write(ctx / "excluded/inner.txt")
    (ctx / "link-to-file").symlink_to("real/file.txt")
    (ctx / "link-to-dir").symlink_to("real")
    (ctx / "link-outside").symlink_to(os.path.relpath(outside / "secret", ctx))
    (ctx / "link-absolute").symlink_to("/etc/passwd")
    (ctx / "dangling").symlink_to("nowhere")
    (ctx / "outside-dir").symlink_to(outside)
    (ctx / "excluded/link").symlink_to("../real")
    (ctx / "link-excluded").symlink_to("excluded")
    write(ctx / ".dockerignore", "excluded\nlink-excluded/inner.txt\nlink-to-dir/file.txt\n")


@with_dockerfile
def spaces_and_unicode(ctx: Path, outside: Path) -> None:
    for name in [
        "file with spaces.txt",
        "dir with space/inner file",
        "ünïcödé/ファイル.txt",
        "ünïcödé/keep.md",
        "tab\there",
        "émoji 🐳.txt",
    ]:
        write(ctx / name)
    write(ctx / ".dockerignore", "ünïcödé/*.txt\ndir with space/\n*🐳*\n")


@with_dockerfile
def empty_dirs(ctx: Path, outside: Path) -> None:
    for name in ["empty", "empty-excluded", "nested/empty", "all-excluded"]:
        (ctx / name).mkdir(parents=True)
    write(ctx / "all-excluded/a.bak")
    write(ctx / "all-excluded/b.bak")
    write(ctx / ".dockerignore", "empty-excluded\n*/*.bak\n")


@with_dockerfile
def skipped_directory_quirk(ctx: Path, outside: Path) -> None:
    # `foo` is never entered: `!*/keep` does not start with "foo/"; `!bar/keep` does.
    for name in ["foo/keep", "foo/drop", "bar/keep", "bar/drop"]:
        write(ctx / name)
    write(ctx / ".dockerignore", "foo\n!*/keep\nbar\n!bar/keep\n")


@with_dockerfile
def parent_results_quirk(ctx: Path, outside: Path) -> None:
    # `d` itself is not excluded, `d/f` is, and `!d` does not take it back during the walk.
    write(ctx / "d/f")
    write(ctx / "d/g")
    write(ctx / "e/f")
    write(ctx / ".dockerignore", "d/f\n!d\n*/g\n!e\n")


@with_dockerfile
def classes_and_escapes(ctx: Path, outside: Path) -> None:
    for name in ["a.txt", "b.txt", "d.txt", "file1.md", "file22.md", "[literal].txt", "*", "]"]:
        write(ctx / name)
    for name in ["x.cfg", "y.cfg", "q^", "3x", "zz"]:
        write(ctx / name)
    write(
        ctx / ".dockerignore",
        "[a-c].txt\nfile?.md\n\\[literal\\].txt\n[*]\n[^x].cfg\n[[:digit:]]x\nz\\z\n",
    )


@with_dockerfile
def bom_crlf_and_everything(ctx: Path, outside: Path) -> None:
    for name in ["one.txt", "keep.txt", "sub/two.txt", "sub/keep.txt"]:
        write(ctx / name)
    write(ctx / ".dockerignore", b"\xef\xbb\xbf**\r\n!keep.txt\r\n!**/keep.txt\r\n")


@with_dockerfile
def hardlinks_and_owners(ctx: Path, outside: Path) -> None:
    write(ctx / "a", "shared\n")
    os.link(ctx / "a", ctx / "b")
    write(ctx / "sub/keep")
    os.link(ctx / "a", ctx / "sub/c")
    write(ctx / "excluded-first", "only the second is sent\n")
    os.link(ctx / "excluded-first", ctx / "second")
    write(ctx / "owned", "by someone else\n")
    if os.geteuid() == 0:
        os.chown(ctx / "owned", 1234, 5678)
        os.chown(ctx / "sub", 1234, 5678)
    (ctx / "exec.sh").write_text("#!/bin/sh\n")
    (ctx / "exec.sh").chmod(0o750)
    write(ctx / ".dockerignore", "excluded-first\n")


def dockerfile_lost_to_the_older_rule(ctx: Path, outside: Path) -> None:
    # The CLI keeps an excluded Dockerfile only if its older matcher sees it excluded, which
    # tries one parent directory: `**/c` over a/b/c/ is missed, so the Dockerfile is not sent.
    write(ctx / "a/b/c/Dockerfile", DOCKERFILE)
    write(ctx / "a/b/c/x")
    write(ctx / "y")
    write(ctx / ".dockerignore", "**/c\n")


CASES: dict[str, Case] = {
    "nested-exceptions": Case(nested_exceptions),
    "globstar-logs": Case(globstar_logs),
    "leading-slash-and-dot": Case(leading_slash_and_dot),
    "directory-patterns": Case(directory_patterns),
    "exclude-dockerfile-and-dockerignore": Case(exclude_build_files),
    "dockerfile-in-excluded-dir": Case(dockerfile_in_excluded_dir, "docker/app.Dockerfile"),
    "dockerfile-symlink": Case(dockerfile_symlink),
    "symlinks": Case(symlinks),
    "spaces-and-unicode": Case(spaces_and_unicode),
    "empty-dirs": Case(empty_dirs),
    "skipped-directory-quirk": Case(skipped_directory_quirk),
    "parent-results-quirk": Case(parent_results_quirk),
    "classes-and-escapes": Case(classes_and_escapes),
    "bom-crlf-everything": Case(bom_crlf_and_everything),
    "hardlinks-and-owners": Case(hardlinks_and_owners),
    "dockerfile-lost-to-the-older-rule": Case(
        dockerfile_lost_to_the_older_rule,
        "a/b/c/Dockerfile",
        fails="Cannot locate specified Dockerfile: a/b/c/Dockerfile",
    ),
}


def make_case(name: str, root: Path) -> Path:
    ctx, outside = root / name / "ctx", root / name / "outside"
    ctx.mkdir(parents=True)
    outside.mkdir(parents=True)
    CASES[name].make(ctx, outside)
    return ctx


# ---------------------------------------------------------------------------------------------
# The recording daemon


@attrs.define
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Api-Version", "1.51")
        self.send_header("Ostype", "linux")
        self.send_header("Docker-Experimental", "false")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _handle(self, head: bool = False) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        path = url.path
        if path.startswith("/v1."):
            path = "/" + path.split("/", 2)[2]
        self.server.recorded.append(
            Recorded(self.command, path, parse_qs(url.query), dict(self.headers.items()), body)
        )
        if path == "/_ping":
            self._answer(200, b"OK", head)
        elif path == "/build":
            self._answer(200, b'{"stream":"Successfully built 0123456789ab\\n"}\n')
        elif path == "/images/create" or path.endswith("/push"):
            self._answer(200, b'{"status":"done"}\n')
        else:
            self._answer(404, b'{"message":"not faked"}\n')

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()


class _FakeServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    recorded: list[Recorded]


@attrs.define
class FakeDaemon:
    socket: Path
    server: _FakeServer
    docker: str

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def run(
        self, args: list[str], *, env: dict[str, str], cwd: Path | None = None
    ) -> tuple[subprocess.CompletedProcess[str], list[Recorded]]:
        """Run the docker CLI against this daemon: its result and the requests it sent."""
        self.server.recorded = []
        result = subprocess.run(
            [self.docker, "-H", self.host, *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result, [r for r in self.server.recorded if r.path != "/_ping"]


@pytest.fixture(scope="module")
def fake_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeDaemon]:
    docker = docker_cli()
    socket_path = tmp_path_factory.mktemp("daemon") / "docker.sock"
    server = _FakeServer(str(socket_path), _Handler)
    server.recorded = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeDaemon(socket_path, server, docker)
    finally:
        server.shutdown()
        server.server_close()


def clean_env(config_dir: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(config_dir.parent)}
    env["DOCKER_CONFIG"] = str(config_dir)
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# Build contexts: the tar the CLI sends


def tar_listing(data: bytes, *, headers: bool = False) -> dict[str, tuple[Any, ...]]:
    """name → (type, link target, size, permission bits), and with `headers` also the owner
    ids and names and the mtime."""
    kinds = {
        tarfile.REGTYPE: "file",
        tarfile.DIRTYPE: "dir",
        tarfile.SYMTYPE: "symlink",
        tarfile.LNKTYPE: "hardlink",
    }
    out: dict[str, tuple[Any, ...]] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            kind = kinds.get(member.type, member.type.decode())
            name = member.name.rstrip("/")
            facts: tuple[Any, ...] = (kind, member.linkname, member.size, member.mode & 0o7777)
            if headers:
                owner = (member.uid, member.gid, member.uname, member.gname)
                facts += (*owner, int(member.mtime))
            out[name] = facts
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_the_context_tar_is_the_clis(case: str, fake_daemon: FakeDaemon, tmp_path: Path) -> None:
    ctx = make_case(case, tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    args = ["build", "-q"]
    dockerfile = CASES[case].dockerfile
    if dockerfile is not None:
        args += ["-f", dockerfile]  # relative to the working directory: run from the context
    result, requests = fake_daemon.run(
        [*args, "."], env=clean_env(config, DOCKER_BUILDKIT="0"), cwd=ctx
    )
    builds = [r for r in requests if r.path == "/build"]
    assert builds, f"the CLI sent no build: {result.stderr}"
    sent = builds[0]

    ours = b"".join(build_context(ctx, dockerfile=resolve_dockerfile(ctx, dockerfile)))
    assert tar_listing(ours, headers=True) == tar_listing(sent.body, headers=True)
    assert sent.query["dockerfile"] == [resolve_dockerfile(ctx, dockerfile)]


def test_a_gzip_context_is_the_same_tar(tmp_path: Path) -> None:
    ctx = make_case("symlinks", tmp_path)
    plain = b"".join(build_context(ctx))
    packed = b"".join(build_context(ctx, gzip=True))
    assert tar_listing(packed) == tar_listing(plain)


# ---------------------------------------------------------------------------------------------
# Build contexts: the images the classic builder makes


def ctx_listing(client: Client, image: str) -> dict[str, tuple[Any, ...]]:
    cid = client.containers.create({"Image": image, "Cmd": ["true"]}).id
    assert cid
    try:
        with client.containers.get_archive(cid, path="/ctx") as stream:
            data = b"".join(stream)
    finally:
        client.containers.delete(cid, force=True)
    return tar_listing(data)


@pytest.mark.parametrize("case", list(CASES))
def test_the_built_image_has_the_clis_files(case: str, engine: Engine, tmp_path: Path) -> None:
    if engine.is_podman:
        pytest.skip("the classic builder comparison runs on the Docker engines")
    docker = docker_cli()
    ctx = make_case(case, tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    dockerfile = CASES[case].dockerfile
    stamp = time.time_ns()
    cli_tag = f"engineapi-test/ctx-cli-{stamp}"
    api_tag = f"engineapi-test/ctx-api-{stamp}"
    args = [docker, "-H", engine.host, "build", "-q", "-t", cli_tag]
    if dockerfile is not None:
        args += ["-f", dockerfile]
    result = subprocess.run(
        [*args, "."],
        env=clean_env(config, DOCKER_BUILDKIT="0"),
        cwd=ctx,
        capture_output=True,
        text=True,
        timeout=180,
    )
    with Client(engine.host) as client:
        expected = CASES[case].fails
        if expected is not None:
            assert result.returncode != 0 and expected in result.stderr, result.stderr
            with pytest.raises(EngineAPIError, match=expected):
                client.images.build(ctx, tag=api_tag, dockerfile=dockerfile).wait()
            return
        assert result.returncode == 0, result.stderr
        try:
            client.images.build(ctx, tag=api_tag, dockerfile=dockerfile).wait()
            assert ctx_listing(client, api_tag) == ctx_listing(client, cli_tag)
        finally:
            for tag in (cli_tag, api_tag):
                try:
                    client.images.delete(tag, force=True)
                except Exception:
                    pass


# ---------------------------------------------------------------------------------------------
# Registry credentials

HELPER = r"""#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.basename(__file__)[len("docker-credential-"):]
action = sys.argv[1]
data = sys.stdin.read()
with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(json.dumps([name, action, data]) + "\n")
with open(os.path.join(here, name + ".json")) as f:
    spec = json.load(f)
if spec.get("fail"):
    print(spec["fail"])
    sys.exit(1)
store = spec.get("store", {{}})
if action == "list":
    if spec.get("fail_list"):
        print("cannot list")
        sys.exit(1)
    print(json.dumps({{k: v["Username"] for k, v in store.items()}}))
elif action == "get":
    if data in store:
        print(json.dumps({{"ServerURL": data, **store[data]}}))
    else:
        print("credentials not found in native keychain")
        sys.exit(1)
else:
    sys.exit(2)
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@attrs.define
class CredWorld:
    root: Path
    config: Path
    bin: Path

    def helper(self, name: str, spec: dict[str, Any]) -> None:
        program = self.bin / f"docker-credential-{name}"
        program.write_text(HELPER.format(python=sys.executable))
        program.chmod(0o755)
        (self.bin / f"{name}.json").write_text(json.dumps(spec))

    def env(self, **extra: str) -> dict[str, str]:
        env = {"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        env["HOME"] = str(self.root)
        env["DOCKER_CONFIG"] = str(self.config)
        env.update(extra)
        return env

    def write_config(self, doc: dict[str, Any] | str) -> None:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        (self.config / "config.json").write_text(text)


@pytest.fixture
def creds(tmp_path: Path) -> CredWorld:
    world = CredWorld(tmp_path, tmp_path / "config", tmp_path / "bin")
    world.config.mkdir()
    world.bin.mkdir()
    world.helper(
        "fake",
        {
            "store": {
                "https://index.docker.io/v1/": {"Username": "hubuser", "Secret": "hubpass"},
                "store.example.com": {"Username": "<token>", "Secret": "id-token-1"},
                "localhost:5000": {"Username": "storeuser", "Secret": "storepass"},
            }
        },
    )
    world.helper(
        "other",
        {"store": {"helper.example.com": {"Username": "helperuser", "Secret": "helperpass"}}},
    )
    world.helper("broken", {"fail": "something went wrong"})
    world.helper("nolist", {"fail_list": True, "store": {}})
    return world


CONFIGS: dict[str, dict[str, Any] | str] = {
    "auths": {
        "auths": {
            "https://index.docker.io/v1/": {"auth": b64("hub:hubsecret"), "email": "a@b.c"},
            "localhost:5000": {"auth": b64("local:pa:ss")},
            "http://legacy.example.com:8080/v1/": {"auth": b64("legacy:old")},
            "registry.example.com": {"identitytoken": "tok-123"},
            "padded.example.com": {"auth": b64("user:pw\x00\x00")},
            "empty.example.com": {},
        },
        "credHelpers": {"helper.example.com": "other", "broken.example.com": "broken"},
    },
    "creds-store": {
        "auths": {"https://index.docker.io/v1/": {}, "localhost:5000": {"email": "e@x.y"}},
        "credsStore": "fake",
        "credHelpers": {"helper.example.com": "other", "localhost:5000": "other"},
    },
    "store-that-cannot-list": {
        "auths": {"registry.example.com": {"auth": b64("a:b")}},
        "credsStore": "nolist",
    },
    "case-insensitive-keys": {
        "AUTHS": {"localhost:5000": {"Auth": b64("up:per")}},
        "CredHelpers": {"helper.example.com": "other"},
    },
    "malformed": "{not json",
    "bad-auth": {"auths": {"localhost:5000": {"auth": "!!!"}}, "credsStore": "fake"},
    # One bad entry only: with several, the CLI's result depends on Go's random map order.
    "bad-auth-no-store": {
        "auths": {"localhost:5000": {"auth": "!!!"}},
        "credHelpers": {"helper.example.com": "other"},
    },
    "wrong-type": {"auths": {"localhost:5000": {"auth": b64("a:b")}}, "credsStore": 5},
    "none": {},
}

REFERENCES = [
    "busybox",
    "library/busybox:1.36",
    "docker.io/library/busybox",
    "index.docker.io/team/app",
    "user/app",
    "localhost:5000/app:1",
    "localhost/app",
    "legacy.example.com:8080/team/app",
    "registry.example.com/a/b@sha256:" + "a" * 64,
    "padded.example.com/app",
    "empty.example.com/app",
    "helper.example.com/app",
    "store.example.com/app",
    "unknown.example.com/app",
]

ENV_AUTH = json.dumps({"auths": {"localhost:5000": {"auth": b64("fromenv:envpass")}}})


def decode_header(value: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return data


def ours_auth(reference: str, env: dict[str, str]) -> dict[str, Any] | str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = auth_for(reference, env)
    except CredentialsError:
        return "error"
    return found.to_wire() if found is not None else {}


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("with_env", [False, True], ids=["", "DOCKER_AUTH_CONFIG"])
def test_pull_credentials_are_the_clis(
    config: str, with_env: bool, creds: CredWorld, fake_daemon: FakeDaemon
) -> None:
    if with_env:
        needs_modern_cli("it ignores DOCKER_AUTH_CONFIG")
    creds.write_config(CONFIGS[config])
    env = creds.env(DOCKER_AUTH_CONFIG=ENV_AUTH) if with_env else creds.env()
    mismatches = {}
    for reference in REFERENCES:
        result, requests = fake_daemon.run(["pull", "-q", reference], env=env)
        pulls = [r for r in requests if r.path == "/images/create"]
        theirs: dict[str, Any] | str
        if pulls:
            theirs = decode_header(pulls[0].headers["X-Registry-Auth"])
        else:
            assert "credentials" in result.stderr, result.stderr
            theirs = "error"
        ours = ours_auth(reference, env)
        if ours != theirs:
            mismatches[reference] = {"cli": theirs, "engineapi": ours}
    assert mismatches == {}


@pytest.mark.parametrize("reference", ["localhost:5000/app:1", "busybox", "helper.example.com/x"])
def test_push_credentials_are_the_clis(
    reference: str, creds: CredWorld, fake_daemon: FakeDaemon
) -> None:
    creds.write_config(CONFIGS["creds-store"])
    result, requests = fake_daemon.run(["push", "-q", reference], env=creds.env())
    pushes = [r for r in requests if r.path.endswith("/push")]
    assert pushes, result.stderr
    assert decode_header(pushes[0].headers["X-Registry-Auth"]) == ours_auth(reference, creds.env())


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("with_env", [False, True], ids=["", "DOCKER_AUTH_CONFIG"])
def test_build_registry_config_is_the_clis(
    config: str, with_env: bool, creds: CredWorld, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    if with_env:
        needs_modern_cli("it ignores DOCKER_AUTH_CONFIG")
    creds.write_config(CONFIGS[config])
    env = creds.env(DOCKER_BUILDKIT="0")
    if with_env:
        env["DOCKER_AUTH_CONFIG"] = ENV_AUTH
    ctx = tmp_path / "ctx"
    write(ctx / "Dockerfile", DOCKERFILE)
    result, requests = fake_daemon.run(["build", "-q", str(ctx)], env=env)
    builds = [r for r in requests if r.path == "/build"]
    assert builds, result.stderr
    theirs = decode_header(builds[0].headers["X-Registry-Config"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert registry_config(env) == theirs


def test_the_helper_is_asked_as_the_cli_asks(creds: CredWorld, fake_daemon: FakeDaemon) -> None:
    """Same programs, same actions, same stdin (the bare server address, no newline)."""
    creds.write_config(CONFIGS["creds-store"])
    log = creds.bin / "calls.log"
    calls = {}
    for who in ("cli", "engineapi"):
        log.unlink(missing_ok=True)
        if who == "cli":
            fake_daemon.run(["pull", "-q", "localhost:5000/a"], env=creds.env())
            fake_daemon.run(["pull", "-q", "store.example.com/a"], env=creds.env())
        else:
            auth_for("localhost:5000/a", creds.env())
            auth_for("store.example.com/a", creds.env())
        calls[who] = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls["engineapi"] == calls["cli"]
    assert ["fake", "get", "store.example.com"] in calls["cli"]


def test_helper_files_are_executables_on_path(creds: CredWorld) -> None:
    mode = (creds.bin / "docker-credential-fake").stat().st_mode
    assert mode & stat.S_IXUSR
    assert shutil.which("docker-credential-fake", path=creds.env()["PATH"])
