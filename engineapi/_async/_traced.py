"""A response whose tracing span (see `engineapi.observe.tracing`) ends with it: when its body
has been read, when it is closed (a stream closed or run to its end), or when the session
hijacked from it is closed. Only made while tracing is on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from engineapi.backends.base import AsyncBackendResponse, AsyncDuplex
from engineapi.errors import WaitTimeout
from engineapi.observe import Span

__all__ = ["AsyncTracedDuplex", "AsyncTracedResponse"]


class AsyncTracedResponse:
    """`response`, ending `span` with it."""

    __slots__ = ("_response", "_span")

    def __init__(self, response: AsyncBackendResponse, span: Span) -> None:
        self._response = response
        self._span = span

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def __getattr__(self, name: str) -> Any:
        # What a backend's response has beyond the contract (`reused`, `next_piece`, …): an
        # AttributeError where it has not, so that callers can tell.
        value = getattr(self._response, name)
        if name == "next_piece":
            return self._next_piece
        return value

    async def read(self) -> bytes:
        try:
            body = await self._response.read()
        except BaseException as exc:
            self._span.fail(exc)
            raise
        self._span.end()
        return body

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self._response.iter_bytes():
                yield piece
        except GeneratorExit:
            raise  # left early: the stream closes the response, which ends the span
        except BaseException as exc:
            self._span.fail(exc)
            raise
        self._span.end()

    async def _next_piece(self, wait: float | None = None) -> bytes | None:
        """The response's `next_piece` (engineapi's own engine), traced."""
        try:
            piece: bytes | None = await self._response.next_piece(wait)  # type: ignore[attr-defined]
        except WaitTimeout:
            raise  # the stream goes on
        except Exception as exc:
            self._span.fail(exc)
            raise
        if piece is None:
            self._span.end()
        return piece

    def record_failure(self, error: BaseException) -> None:
        """A stream ended by `error` found in its body (a progress error, a deadline)."""
        self._span.fail(error)

    def hijack(self) -> AsyncDuplex:
        return AsyncTracedDuplex(self._response.hijack(), self._span)

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            self._span.end()


class AsyncTracedDuplex:
    """A hijacked session (attach, exec), ending `span` when it is closed."""

    __slots__ = ("_span", "_stream")

    def __init__(self, stream: AsyncDuplex, span: Span) -> None:
        self._stream = stream
        self._span = span

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def read(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        await self._stream.write(data, timeout)

    async def close_write(self) -> None:
        await self._stream.close_write()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._span.end()

    async def __aenter__(self) -> AsyncTracedDuplex:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
