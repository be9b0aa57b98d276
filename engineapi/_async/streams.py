"""Streamed responses handed to the user: JSON item streams and raw byte streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from engineapi._async.connection import AsyncResponse
from engineapi.api._call import RawCall, StreamCall
from engineapi.streams.jsonlines import JSONLinesDecoder

if TYPE_CHECKING:
    from engineapi._async.client import AsyncClient

__all__ = ["AsyncItemStream", "AsyncRawStream"]

T = TypeVar("T")


class AsyncItemStream(Generic[T]):
    """A stream of decoded items (events, stats, progress messages).

    The request is sent when iteration starts. Leaving an ``async with`` block, calling
    `aclose()` or breaking out of the loop closes the connection: nothing is drained.
    """

    __slots__ = ("_call", "_client", "_response")

    def __init__(self, client: AsyncClient, call: StreamCall[T]) -> None:
        self._client = client
        self._call = call
        self._response: AsyncResponse | None = None

    async def _open(self) -> AsyncResponse:
        if self._response is None:
            self._response = await self._client._open(self._call)
        return self._response

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        decode_item = self._call.decode_item
        decoder = JSONLinesDecoder()
        try:
            response = await self._open()
            async for piece in response.iter_bytes():
                for value in decoder.feed(piece):
                    yield decode_item(value)
            for value in decoder.end():
                yield decode_item(value)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the stream and close its connection."""
        if self._response is not None:
            await self._response.aclose()

    async def __aenter__(self) -> AsyncItemStream[T]:
        await self._open()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncRawStream:
    """A response body handed over as bytes as they arrive (export, archives, raw logs)."""

    __slots__ = ("_call", "_client", "_response")

    def __init__(self, client: AsyncClient, call: RawCall) -> None:
        self._client = client
        self._call = call
        self._response: AsyncResponse | None = None

    async def _open(self) -> AsyncResponse:
        if self._response is None:
            self._response = await self._client._open(self._call)
        return self._response

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        try:
            response = await self._open()
            async for piece in response.iter_bytes():
                yield piece
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        """The whole body at once."""
        return b"".join([piece async for piece in self])

    async def aclose(self) -> None:
        if self._response is not None:
            await self._response.aclose()

    async def __aenter__(self) -> AsyncRawStream:
        await self._open()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
