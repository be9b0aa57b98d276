"""Builds whose Dockerfile is not a file of the context directory, on every live engine: one
outside the directory, one given as text or as a file object, with or without a directory.

The daemon must build from that Dockerfile (a label it sets), and, as with ``docker build``,
neither the Dockerfile added under its generated name nor the ``.dockerignore`` listing it may
reach the image through ``COPY . /ctx`` (the daemon drops both once read).
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engineapi import Client
from tests.conftest import Engine


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as c:
        yield c


@pytest.fixture
def tag(client: Client) -> Iterator[str]:
    name = f"engineapi-test/dockerfile-{time.time_ns()}:1"
    yield name
    try:
        client.images.delete(name, force=True)
    except Exception:
        pass


def dockerfile(source: str) -> str:
    return f"FROM busybox\nCOPY . /ctx\nLABEL from={source}\n"


def context(tmp_path: Path, *, ignore: str | None = None) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    (ctx / "notes.md").write_text("left out by .dockerignore\n")
    if ignore is not None:
        (ctx / ".dockerignore").write_text(ignore)
    return ctx


def label(client: Client, tag: str) -> str | None:
    labels = client.images.inspect(tag).config.labels or {}
    return labels.get("from")


def ctx_files(client: Client, tag: str) -> set[str]:
    cid = client.containers.create({"Image": tag, "Cmd": ["true"]}).id
    try:
        with client.containers.get_archive(cid, path="/ctx") as stream:
            data = b"".join(stream)
    finally:
        client.containers.delete(cid, force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name.removeprefix("ctx").lstrip("/") for m in tar.getmembers()} - {""}


@pytest.mark.parametrize("ignore", [None, "*.md\n"], ids=["no-dockerignore", "dockerignore"])
def test_a_dockerfile_outside_the_context(
    client: Client, tag: str, tmp_path: Path, ignore: str | None
) -> None:
    ctx = context(tmp_path, ignore=ignore)
    (tmp_path / "Dockerfile.outside").write_text(dockerfile("outside"))
    client.images.build(ctx, tag=tag, dockerfile="../Dockerfile.outside").wait()
    assert label(client, tag) == "outside"
    # A .dockerignore of the directory that does not exclude itself stays, as with the CLI.
    expected = {"a.txt", ".dockerignore"} if ignore else {"a.txt", "notes.md"}
    assert ctx_files(client, tag) == expected


def test_an_absolute_dockerfile_path(client: Client, tag: str, tmp_path: Path) -> None:
    ctx = context(tmp_path, ignore="*.md\n")
    (tmp_path / "elsewhere.Dockerfile").write_text(dockerfile("absolute"))
    client.images.build(ctx, tag=tag, dockerfile=str(tmp_path / "elsewhere.Dockerfile")).wait()
    assert label(client, tag) == "absolute"
    assert ctx_files(client, tag) == {"a.txt", ".dockerignore"}


def test_a_dockerfile_link_leading_out(
    client: Client, engine: Engine, tag: str, tmp_path: Path
) -> None:
    if engine.is_podman:
        pytest.skip(
            "Podman 4.3 answers 500 with an empty body to any context holding a symbolic "
            "link that leads out of it (whatever the Dockerfile)"
        )
    ctx = context(tmp_path, ignore="*.md\n")
    (tmp_path / "elsewhere.Dockerfile").write_text(dockerfile("linked"))
    (ctx / "Dockerfile").symlink_to("../elsewhere.Dockerfile")
    client.images.build(ctx, tag=tag).wait()
    assert label(client, tag) == "linked"
    # The link itself is a file of the context, sent as a link, as the CLI sends it.
    assert ctx_files(client, tag) == {"a.txt", "Dockerfile", ".dockerignore"}


@pytest.mark.parametrize(
    "make",
    [
        lambda text: text,
        lambda text: text.encode(),
        lambda text: io.BytesIO(text.encode()),
        lambda text: io.StringIO(text),
    ],
    ids=["str", "bytes", "binary-file", "text-file"],
)
def test_dockerfile_content_with_a_directory(
    client: Client, tag: str, tmp_path: Path, make: Any
) -> None:
    ctx = context(tmp_path, ignore="*.md\n.dockerignore\n")
    (ctx / "Dockerfile").write_text(dockerfile("the-directory"))  # not the one used
    client.images.build(ctx, tag=tag, dockerfile_content=make(dockerfile("content"))).wait()
    assert label(client, tag) == "content"
    assert ctx_files(client, tag) == {"a.txt", "Dockerfile"}


def test_dockerfile_content_alone(client: Client, tag: str) -> None:
    text = 'FROM busybox\nRUN echo "only the Dockerfile" > /built\nLABEL from=alone\n'
    client.images.build(dockerfile_content=io.BytesIO(text.encode()), tag=tag).wait()
    assert label(client, tag) == "alone"
    result = client.containers.run(tag, ["cat", "/built"], remove=True)
    assert (result.exit_code, result.stdout) == (0, b"only the Dockerfile\n")


def test_a_recorded_build_with_an_outside_dockerfile_replays(
    engine: Engine, tmp_path: Path
) -> None:
    """The added Dockerfile's name comes from its content, so the request is the same each
    time and a cassette of the build replays with no daemon."""
    import engineapi.replay

    ctx = context(tmp_path, ignore="*.md\n")
    (tmp_path / "Dockerfile.outside").write_text(dockerfile("replayed"))
    cassette = tmp_path / "build.json"
    tag = f"engineapi-test/replayed-{time.time_ns()}:1"

    def build(client: Client) -> list[str]:
        stream = client.images.build(ctx, tag=tag, dockerfile="../Dockerfile.outside", rm=True)
        return [m.stream or "" for m in stream.wait()]

    with engineapi.replay.client(cassette, mode="record", host=engine.host) as client:
        recorded = build(client)
        client.images.delete(tag, force=True)
    with engineapi.replay.client(cassette, mode="replay") as client:
        assert build(client) == recorded
        client.images.delete(tag, force=True)
