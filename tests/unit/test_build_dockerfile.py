"""images.build with a Dockerfile outside the context or given as content: what the builder
describes and what the client then reads (no engine; the live and CLI comparisons are in
tests/live/test_build_dockerfile.py and tests/conformance/test_build_dockerfile_vs_cli.py)."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from engineapi.api import images
from engineapi.api._call import ProgressCall
from engineapi.archive.dockerignore import BuildContextError, resolve_dockerfile
from engineapi.archive.local import BuildContextDir


def tar_texts(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            file = tar.extractfile(member)
            out[member.name] = file.read() if file is not None else b""
    return out


def opened(call: ProgressCall[Any]) -> tuple[dict[str, bytes], str]:
    assert call.local is not None and call.body is None
    content = call.local.open()
    return tar_texts(b"".join(content.body)), dict(content.query)["dockerfile"]


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a")
    (tmp_path / "Dockerfile.dev").write_text("FROM busybox\n")
    return ctx


def test_an_outside_dockerfile_is_added_under_a_generated_name(ctx: Path) -> None:
    files, name = opened(images.build(ctx, dockerfile="../Dockerfile.dev"))
    assert re.fullmatch(r"\.dockerfile\.[0-9a-f]{20}", name)
    assert files == {
        "a.txt": b"a",
        ".dockerignore": f".dockerignore\n{name}\n".encode(),
        name: b"FROM busybox\n",
    }
    # The same Dockerfile, the same name (replayable); another Dockerfile, another name.
    assert opened(images.build(ctx, dockerfile="../Dockerfile.dev"))[1] == name
    (ctx.parent / "Dockerfile.dev").write_text("FROM busybox:other\n")
    assert opened(images.build(ctx, dockerfile="../Dockerfile.dev"))[1] != name
    # The bare resolver still refuses it, and says what sends it.
    with pytest.raises(BuildContextError, match="build_context_adding_dockerfile"):
        resolve_dockerfile(ctx, "../Dockerfile.dev")


def test_an_existing_dockerignore_gets_the_name_appended(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("*.md")
    files, name = opened(images.build(ctx, dockerfile=str(ctx.parent / "Dockerfile.dev")))
    assert files[".dockerignore"] == f"*.md\n{name}\n".encode()


@pytest.mark.parametrize(
    "content",
    [
        "FROM busybox\n",
        b"FROM busybox\n",
        io.BytesIO(b"FROM busybox\n"),
        io.StringIO("FROM busybox\n"),
    ],
    ids=["str", "bytes", "binary-file", "text-file"],
)
def test_dockerfile_content_with_and_without_a_directory(ctx: Path, content: object) -> None:
    files, name = opened(images.build(ctx, dockerfile_content=content))  # type: ignore[arg-type]
    assert files[name] == b"FROM busybox\n" and "a.txt" in files
    if isinstance(content, io.IOBase):
        content.seek(0)
    files, name = opened(images.build(dockerfile_content=content))  # type: ignore[arg-type]
    assert (files, name) == ({"Dockerfile": b"FROM busybox\n"}, "Dockerfile")


def test_a_file_object_is_read_when_the_call_is_sent(ctx: Path) -> None:
    source = io.BytesIO(b"FROM busybox\n")
    call = images.build(ctx, dockerfile_content=source)
    assert source.tell() == 0  # the builder read nothing
    opened(call)
    assert source.tell() == len(b"FROM busybox\n")


def test_dockerfile_content_refuses_what_it_cannot_go_with(ctx: Path) -> None:
    with pytest.raises(TypeError, match="dockerfile= .a path. or dockerfile_content="):
        images.build(ctx, dockerfile="Dockerfile", dockerfile_content="FROM x")
    with pytest.raises(TypeError, match="not a tar"):
        images.build(b"tar", dockerfile_content="FROM x")
    with pytest.raises(TypeError, match="not a remote"):
        images.build(remote="https://example.com/x.git", dockerfile_content="FROM x")
    with pytest.raises(TypeError, match="needs a context"):
        images.build()
    with pytest.raises(TypeError, match="str, bytes or a file object"):
        BuildContextDir(str(ctx), content=42).open()
    with pytest.raises(BuildContextError, match="cannot locate"):
        BuildContextDir(str(ctx), "../nope").open()


def test_a_gzip_context_holds_the_same_members(ctx: Path) -> None:
    plain, name = opened(images.build(ctx, dockerfile="../Dockerfile.dev"))
    call = images.build(ctx, dockerfile="../Dockerfile.dev", gzip=True)
    assert call.local is not None
    content = call.local.open()
    packed = gzip.decompress(b"".join(content.body))
    assert (tar_texts(packed), dict(content.query)["dockerfile"]) == (plain, name)
    alone = images.build(dockerfile_content=b"FROM busybox\n", gzip=True).local
    assert alone is not None
    assert tar_texts(gzip.decompress(b"".join(alone.open().body))) == {
        "Dockerfile": b"FROM busybox\n"
    }
