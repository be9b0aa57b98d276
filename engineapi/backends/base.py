"""The backend contract: request in, response out — and a hijack for attach/exec.

A backend owns connections to one daemon. `request()` returns once the response head is in;
the body is read with `read()` or `iter_bytes()` (each wait bounded by ``timeouts.read``) and
`aclose()` releases the connection (dropping it if the body was not read to the end). After a
``101`` (or a hijacking ``200``), the response's `hijack()` hands over the raw duplex stream,
with any bytes already buffered, and keeps the connection out of the pool for good (a backend
that cannot hijack raises `HijackUnsupported` there).

A `BackendProvider` is an object that makes the backend for either flavour of client (a test
double such as `engineapi.testing.MockBackend` serves `Client` and `AsyncClient` alike).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engineapi._timeouts import Timeouts

__all__ = [
    "AsyncBackend",
    "AsyncBackendResponse",
    "AsyncDuplex",
    "Backend",
    "BackendProvider",
    "BackendResponse",
    "Duplex",
]


class AsyncBackendResponse(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Case-insensitive: ``headers.get("content-type")``."""

    async def read(self) -> bytes: ...

    def iter_bytes(self) -> AsyncIterator[bytes]: ...

    def hijack(self) -> AsyncDuplex: ...

    async def aclose(self) -> None: ...


class AsyncDuplex(Protocol):
    async def read(self, max_bytes: int = ..., timeout: float | None = None) -> bytes: ...

    async def write(self, data: bytes, timeout: float | None = None) -> None: ...

    async def close_write(self) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class AsyncBackend(Protocol):
    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes] | AsyncIterable[bytes] | None = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> AsyncBackendResponse: ...

    async def aclose(self) -> None: ...


class BackendResponse(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def read(self) -> bytes: ...

    def iter_bytes(self) -> Iterator[bytes]: ...

    def hijack(self) -> Duplex: ...

    def close(self) -> None: ...


class Duplex(Protocol):
    def read(self, max_bytes: int = ..., timeout: float | None = None) -> bytes: ...

    def write(self, data: bytes, timeout: float | None = None) -> None: ...

    def close_write(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Backend(Protocol):
    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes] | None = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> BackendResponse: ...

    def close(self) -> None: ...


@runtime_checkable
class BackendProvider(Protocol):
    """Makes the backend a client uses: the `AsyncBackend` when `asynchronous`, else the
    `Backend`. ``Client(backend=provider)`` and ``AsyncClient(backend=provider)`` both call it,
    once, when the client is made."""

    def engineapi_backend(self, *, asynchronous: bool) -> AsyncBackend | Backend: ...
