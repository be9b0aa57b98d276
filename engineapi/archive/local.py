"""What a call builder asks the client to read from disk, and what the client gets from it.

Builders stay pure: `TarOfPath` and `BuildContextDir` only describe a local path. The client
calls `open()` when it sends the call (for an `AsyncClient`, in a worker thread): the walk, the
size and any error about the path happen then. The body itself is read from disk piece by piece
as it is uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

__all__ = ["BuildContextDir", "LocalContent", "TarOfPath"]


@attrs.frozen
class LocalContent:
    """A body read from disk as it is sent, its exact length when known, and query parameters
    only the files could tell (the Dockerfile's path once its links are followed)."""

    body: Iterable[bytes]
    content_length: int | None = None
    query: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class TarOfPath:
    """The file or directory `source` as a tar (``docker cp``, ``docker plugin create``);
    `arcname` names its root in the archive (``""``: its contents at the top)."""

    source: str
    arcname: str | None = None

    def open(self) -> LocalContent:
        from engineapi.archive.tarball import tar_size, tar_stream

        return LocalContent(
            tar_stream(self.source, arcname=self.arcname),
            tar_size(self.source, arcname=self.arcname),
        )


#: A Dockerfile given as its text, or a file object to read it from when the call is sent.
DockerfileContent = Any


@attrs.frozen
class BuildContextDir:
    """The directory `path` as ``docker build PATH`` sends it (see
    `engineapi.archive.dockerignore.build_context`); `dockerfile` relative to it.

    A Dockerfile outside `path`, or one given as `content` (str, bytes or a file object, read
    when the call is sent), is added to the context under a generated name, as ``docker build
    -f OUTSIDE PATH`` and ``docker build -f - PATH`` do; with no `path` the context holds only
    the Dockerfile (``docker build - < Dockerfile``)."""

    path: str | None
    dockerfile: str | None = None
    gzip: bool = False
    content: DockerfileContent = None

    def open(self) -> LocalContent:
        from engineapi.archive.dockerignore import (
            build_context,
            build_context_adding_dockerfile,
            dockerfile_context,
            locate_dockerfile,
        )

        content = None if self.content is None else _read_content(self.content)
        if self.path is None:
            assert content is not None
            return LocalContent(
                dockerfile_context(content, gzip=self.gzip), query=(("dockerfile", "Dockerfile"),)
            )
        if content is None:
            real, dockerfile = locate_dockerfile(self.path, self.dockerfile)
            if not (dockerfile == ".." or dockerfile.startswith("../")):
                return LocalContent(
                    build_context(self.path, dockerfile=dockerfile, gzip=self.gzip),
                    query=(("dockerfile", dockerfile),),
                )
            # Outside the context: sent inside it, under a generated name, as the CLI does.
            with open(real, "rb") as file:
                content = file.read()
        body, name = build_context_adding_dockerfile(self.path, content, gzip=self.gzip)
        return LocalContent(body, query=(("dockerfile", name),))


def _read_content(content: DockerfileContent) -> bytes:
    """A Dockerfile's text as bytes: from a str (UTF-8), bytes, or a file object's `read()`."""
    if isinstance(content, str):
        return content.encode()
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    read = getattr(content, "read", None)
    if read is None:
        raise TypeError(
            f"a Dockerfile's content is a str, bytes or a file object, not {type(content).__name__}"
        )
    data = read()
    return data.encode() if isinstance(data, str) else bytes(data)


def fspath(path: object) -> str:
    """`os.fspath` for the builders, which import no `os`: a str, or what ``__fspath__`` gives."""
    if isinstance(path, str):
        return path
    method = getattr(path, "__fspath__", None)
    value = method() if method is not None else None
    if not isinstance(value, str):
        raise TypeError(f"expected a str or os.PathLike path, not {type(path).__name__}")
    return value


def is_path(value: object) -> bool:
    """Whether `value` names a local path (a str or an ``os.PathLike``) rather than a body."""
    return isinstance(value, str) or hasattr(value, "__fspath__")
