# GENERATED from engineapi/_async/streams.py by `python -m engineapi._codegen.unasync`.
# Do not edit: change the async source and regenerate (make gen).
"""Streamed responses handed to the user: JSON item streams and raw byte streams."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from engineapi._sync.connection import Response
from engineapi.api._call import RawCall, StreamCall
from engineapi.streams.jsonlines import JSONLinesDecoder

if TYPE_CHECKING:
    from engineapi._sync.client import Client

__all__ = ["ItemStream", "RawStream"]

T = TypeVar("T")


class ItemStream(Generic[T]):
    """A stream of decoded items (events, stats, progress messages).

    The request is sent when iteration starts. Leaving an ``with`` block, calling
    `close()` or breaking out of the loop closes the connection: nothing is drained.
    """

    __slots__ = ("_call", "_client", "_response")

    def __init__(self, client: Client, call: StreamCall[T]) -> None:
        self._client = client
        self._call = call
        self._response: Response | None = None

    def _open(self) -> Response:
        if self._response is None:
            self._response = self._client._open(self._call)
        return self._response

    def __iter__(self) -> Iterator[T]:
        return self._items()

    def _items(self) -> Iterator[T]:
        decode_item = self._call.decode_item
        decoder = JSONLinesDecoder()
        try:
            response = self._open()
            for piece in response.iter_bytes():
                for value in decoder.feed(piece):
                    yield decode_item(value)
            for value in decoder.end():
                yield decode_item(value)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the stream and close its connection."""
        if self._response is not None:
            self._response.close()

    def __enter__(self) -> ItemStream[T]:
        self._open()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RawStream:
    """A response body handed over as bytes as they arrive (export, archives, raw logs)."""

    __slots__ = ("_call", "_client", "_response")

    def __init__(self, client: Client, call: RawCall) -> None:
        self._client = client
        self._call = call
        self._response: Response | None = None

    def _open(self) -> Response:
        if self._response is None:
            self._response = self._client._open(self._call)
        return self._response

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()

    def _pieces(self) -> Iterator[bytes]:
        try:
            response = self._open()
            for piece in response.iter_bytes():
                yield piece
        finally:
            self.close()

    def read(self) -> bytes:
        """The whole body at once."""
        return b"".join([piece for piece in self])

    def close(self) -> None:
        if self._response is not None:
            self._response.close()

    def __enter__(self) -> RawStream:
        self._open()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
