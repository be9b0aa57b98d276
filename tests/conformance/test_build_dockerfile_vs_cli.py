"""A Dockerfile that is not a file of the context, against the real docker CLI.

The CLI is pointed at the recording daemon of ``test_build_context_vs_cli`` and runs
``DOCKER_BUILDKIT=0 docker build -f ../OUTSIDE DIR``, ``docker build -f - DIR`` (the Dockerfile
on stdin) and ``docker build - < Dockerfile``. The context tar and the ``dockerfile`` parameter
engineapi sends must have the same structure: the same members (names, types, link targets,
sizes, modes, owners), the Dockerfile under a name of the same shape
(``.dockerfile.<20 hex digits>``: random for the CLI, so compared once renamed), and the
same ``.dockerignore`` text, which lists that name.

The CLI's own tar in the first two cases ends without its last padding and its end-of-archive
blocks (its rewriting of the tar closes the pipe before the tar writer); it is padded here
before being read. engineapi's tar is complete.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from engineapi.archive.local import BuildContextDir
from tests.conformance.test_build_context_vs_cli import (
    FakeDaemon,
    clean_env,
    fake_daemon,
    write,
)

__all__ = ["fake_daemon"]

GENERATED = re.compile(r"^\.dockerfile\.[0-9a-f]{20}$")
TEXT = b"FROM busybox\nCOPY . /ctx\nLABEL from=outside\n"


def members(data: bytes) -> tuple[dict[str, tuple[Any, ...]], dict[str, bytes]]:
    """name → (type, link, size, mode, uid, gid, uname, gname), and the ``.docker*`` texts;
    a truncated tar (the CLI's) padded first."""
    data += bytes(-len(data) % 512 + 1024)
    facts: dict[str, tuple[Any, ...]] = {}
    texts: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            facts[m.name] = (m.type, m.linkname, m.size, m.mode, m.uid, m.gid, m.uname, m.gname)
            if m.name.startswith(".docker"):
                file = tar.extractfile(m)
                assert file is not None
                texts[m.name] = file.read()
    return facts, texts


def renamed(
    found: tuple[dict[str, tuple[Any, ...]], dict[str, bytes]], name: str
) -> tuple[dict[str, tuple[Any, ...]], dict[str, bytes]]:
    facts, texts = found
    assert GENERATED.match(name), name
    facts = {("GENERATED" if k == name else k): v for k, v in facts.items()}
    texts = {
        ("GENERATED" if k == name else k): v.replace(name.encode(), b"GENERATED")
        for k, v in texts.items()
    }
    return facts, texts


def cli_build(
    fake_daemon: FakeDaemon, tmp_path: Path, args: list[str], stdin: bytes | None = None
) -> tuple[bytes, str]:
    import subprocess

    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    fake_daemon.server.recorded = []
    result = subprocess.run(
        [fake_daemon.docker, "-H", fake_daemon.host, "build", "-q", *args],
        env=clean_env(config, DOCKER_BUILDKIT="0"),
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    builds = [r for r in fake_daemon.server.recorded if r.path == "/build"]
    assert builds, result.stderr
    return builds[0].body, builds[0].query["dockerfile"][0]


def ours(local: BuildContextDir) -> tuple[bytes, str]:
    content = local.open()
    return b"".join(content.body), dict(content.query)["dockerfile"]


def make_context(tmp_path: Path, ignore: str | None) -> Path:
    ctx = tmp_path / "ctx"
    write(ctx / "a.txt")
    write(ctx / "sub/b.md")
    (ctx / "link").symlink_to("a.txt")
    if ignore is not None:
        write(ctx / ".dockerignore", ignore)
    return ctx


IGNORES = {"none": None, "some": "*.md\n**/*.md\n", "itself": "*.md\n.dockerignore", "empty": ""}


@pytest.mark.parametrize("ignore", list(IGNORES))
def test_a_dockerfile_outside_the_context_is_sent_as_the_cli_sends_it(
    ignore: str, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path, IGNORES[ignore])
    write(tmp_path / "Dockerfile.outside", TEXT)
    cli_tar, cli_name = cli_build(
        fake_daemon, tmp_path, ["-f", str(tmp_path / "Dockerfile.outside"), str(ctx)]
    )
    our_tar, our_name = ours(BuildContextDir(str(ctx), "../Dockerfile.outside"))
    assert renamed(members(our_tar), our_name) == renamed(members(cli_tar), cli_name)
    assert members(our_tar)[1][our_name] == TEXT


@pytest.mark.parametrize("ignore", ["none", "some"])
def test_a_dockerfile_on_stdin_with_a_directory_is_sent_as_the_cli_sends_it(
    ignore: str, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path, IGNORES[ignore])
    write(ctx / "Dockerfile", b"FROM scratch\n")  # a context's own Dockerfile is not used
    cli_tar, cli_name = cli_build(fake_daemon, tmp_path, ["-f", "-", str(ctx)], stdin=TEXT)
    our_tar, our_name = ours(BuildContextDir(str(ctx), None, content=io.BytesIO(TEXT)))
    assert renamed(members(our_tar), our_name) == renamed(members(cli_tar), cli_name)


def test_a_dockerfile_alone_is_sent_as_the_cli_sends_it(
    fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    cli_tar, cli_name = cli_build(fake_daemon, tmp_path, ["-"], stdin=TEXT)
    our_tar, our_name = ours(BuildContextDir(None, content=TEXT))
    assert our_name == cli_name == "Dockerfile"
    # The CLI writes its temporary file's owner here (not chowned to 0, unlike directory
    # contexts): the current user, so owners are not compared.
    assert {k: v[:4] for k, v in members(our_tar)[0].items()} == {
        k: v[:4] for k, v in members(cli_tar)[0].items()
    }
