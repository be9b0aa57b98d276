"""What a call builder asks the client to read from disk, and what the client gets from it.

Builders stay pure: `TarOfPath` and `BuildContextDir` only describe a local path. The client
calls `open()` when it sends the call (for an `AsyncClient`, in a worker thread): the walk, the
size and any error about the path happen then. The body itself is read from disk piece by piece
as it is uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable

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


@attrs.frozen
class BuildContextDir:
    """The directory `path` as ``docker build PATH`` sends it (see
    `engineapi.archive.dockerignore.build_context`); `dockerfile` relative to it."""

    path: str
    dockerfile: str | None = None
    gzip: bool = False

    def open(self) -> LocalContent:
        from engineapi.archive.dockerignore import build_context, resolve_dockerfile

        dockerfile = resolve_dockerfile(self.path, self.dockerfile)
        return LocalContent(
            build_context(self.path, dockerfile=dockerfile, gzip=self.gzip),
            query=(("dockerfile", dockerfile),),
        )


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
