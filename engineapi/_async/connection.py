"""One HTTP/1.1 connection to the daemon: a transport stream driven by the sans-IO state."""

from __future__ import annotations

import asyncio  # unasync: remove
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from types import TracebackType
from typing import NoReturn, Protocol

from engineapi.errors import (
    CLIENT_CLOSED_STREAM,
    ConnectionLost,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    TimeoutError,
    TransportError,
    WaitTimeout,
)
from engineapi.http import NEED_DATA, ClientConnection, Data, Headers
from engineapi.http import Response as ResponseHead
from engineapi.http._events import EndOfMessage
from engineapi.transports.base import READ_SIZE, AsyncStream, TruncatedStream

__all__ = [
    "AsyncConnectionOwner",
    "AsyncHTTPConnection",
    "AsyncHijackedStream",
    "AsyncResponse",
    "RequestBody",
]

#: A request body: whole bytes, or pieces sent as they come (chunked unless a length is given).
RequestBody = bytes | Iterable[bytes] | AsyncIterable[bytes] | None


class AsyncHTTPConnection:
    """A stream plus its HTTP/1.1 state; carries one exchange at a time."""

    __slots__ = ("closed_by_client", "protocol", "stream")

    def __init__(self, stream: AsyncStream) -> None:
        self.stream = stream
        self.protocol = ClientConnection()
        #: Set when the client's close() cut this connection under a response or stream.
        self.closed_by_client = False

    async def send_request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: RequestBody,
        *,
        content_length: int | None,
        timeout: float | None,
    ) -> None:
        """Write the request head and body."""
        protocol = self.protocol
        stream = self.stream
        if body is None or isinstance(body, bytes):
            await stream.write(protocol.send_request(method, target, headers, body=body), timeout)
            return
        await stream.write(
            protocol.send_request(
                method,
                target,
                headers,
                content_length=content_length,
                chunked=content_length is None,
            ),
            timeout,
        )
        if isinstance(body, AsyncIterable):  # unasync: remove
            async for piece in body:  # unasync: remove
                if piece:  # unasync: remove
                    await stream.write(protocol.send_data(piece), timeout)  # unasync: remove
            body = ()  # unasync: remove
        for piece in body:
            if piece:
                await stream.write(protocol.send_data(piece), timeout)
        if end := protocol.send_end():
            await stream.write(end, timeout)

    async def exchange(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: RequestBody,
        *,
        content_length: int | None,
        timeout: float | None,
    ) -> ResponseHead:
        """Send the request and read its response head (within `timeout`); for the usual
        request, whole bytes or no body, in one coroutine (every level is paid per call)."""
        if body is not None and not isinstance(body, bytes):
            await self.send_request(
                method, target, headers, body, content_length=content_length, timeout=timeout
            )
            return await self.receive_head(timeout)
        protocol = self.protocol
        stream = self.stream
        await stream.write(protocol.send_request(method, target, headers, body=body), timeout)
        started = time.monotonic()
        try:
            # Nothing is buffered after a request is sent (a response is read to its end
            # before the next request): the usual reply, its head whole in the first read.
            event = protocol.receive_and_next_event(await stream.read(READ_SIZE, timeout))
        except (TransportError, ProtocolError) as exc:
            self._failed(exc)
        if type(event) is ResponseHead:
            return event
        if timeout is not None:  # the head's one deadline, not a new one
            timeout = max(timeout - (time.monotonic() - started), 0.0)
        return await self.receive_head(timeout)

    async def receive_head(self, timeout: float | None) -> ResponseHead:
        """Read until the response head is complete, all of it within `timeout` (a daemon
        trickling a byte at a time does not get a new timeout per byte)."""
        protocol = self.protocol
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                event = protocol.next_event()
                if event is NEED_DATA:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError(f"the response head did not come within {timeout} s")
                    protocol.receive_data(await self.stream.read(READ_SIZE, left))
                    continue
                if isinstance(event, ResponseHead):
                    return event
                raise RemoteProtocolError(f"expected a response head, got {event!r}")
        except (TransportError, ProtocolError) as exc:
            self._failed(exc)

    async def receive_body_piece(self, timeout: float | None) -> bytes | None:
        """The next piece of the body, or ``None`` at its end."""
        protocol = self.protocol
        try:
            while True:
                event = protocol.next_event()
                if type(event) is Data:
                    return event.data
                if event is NEED_DATA:
                    protocol.receive_data(await self.stream.read(READ_SIZE, timeout))
                    continue
                if isinstance(event, EndOfMessage):
                    return None
                raise RemoteProtocolError(f"unexpected {event!r} inside a response body")
        except (TransportError, ProtocolError) as exc:
            self._failed(exc)

    def _failed(self, exc: TransportError | ProtocolError) -> NoReturn:
        """Raise `exc`, a read's failure, or `ConnectionLost` saying the client was closed if
        that is what broke the read (its close() cut the connection under it)."""
        if self.closed_by_client:
            raise ConnectionLost(CLIENT_CLOSED_STREAM) from exc
        raise exc

    def is_reusable(self) -> bool:
        # A dead idle connection is caught when it is next taken from the pool.
        return self.protocol.reusable

    async def aclose(self) -> None:
        await self.stream.aclose()


class AsyncConnectionOwner(Protocol):
    """Whoever lent a response its connection (the pool): told when the response is done with
    it, or when a hijacked stream that took it for good is closed."""

    async def release(self, connection: AsyncHTTPConnection, *, reusable: bool) -> None: ...

    def keep(self, connection: AsyncHTTPConnection) -> bool: ...

    def note_hijack(self, connection: AsyncHTTPConnection, stream: AsyncHijackedStream) -> None: ...

    def release_slot(self, stream: AsyncHijackedStream) -> None: ...


class AsyncResponse:
    """A response whose body is read on demand.

    Read it whole with `read()`, or piece by piece with `iter_bytes()`. Closing it early (or
    leaving a ``with`` block) drops the connection rather than draining it. After a ``101``
    (or a hijacking ``200``) `hijack()` takes the connection over as a duplex stream.
    """

    __slots__ = ("_done", "_held", "_owner", "_read_timeout", "headers", "reused", "status")

    def __init__(
        self,
        connection: AsyncHTTPConnection,
        head: ResponseHead,
        read_timeout: float | None,
        owner: AsyncConnectionOwner,
        reused: bool = False,
    ) -> None:
        # The connection while this response has it. Taken back with list.pop(), which is
        # atomic: a stream closed from another thread while its reader finishes must not
        # hand the connection back twice.
        self._held: list[AsyncHTTPConnection] = [connection]
        self._read_timeout = read_timeout
        self._owner = owner
        self._done = False
        self.status = head.status
        self.headers: Headers = head.headers
        #: Whether the connection had carried an earlier request.
        self.reused = reused

    async def read(self) -> bytes:
        """The whole body."""
        connection = self._held[0] if self._held else None
        if connection is None:
            raise LocalProtocolError("the response is closed")
        # The usual small reply came whole with its head: no events to pull, nothing to wait.
        body = connection.protocol.take_whole_body()
        if body is not None:
            self._done = True
            try:
                connection = self._held.pop()
            except IndexError:
                return body  # released already (closed from another thread)
            # Handed back by a plain call when it can be kept (the usual case).
            if not self._owner.keep(connection):
                await self._owner.release(connection, reusable=False)
            return body
        pieces: list[bytes] = []
        try:
            while (piece := await connection.receive_body_piece(self._read_timeout)) is not None:
                pieces.append(piece)
        except BaseException:
            await self.aclose()
            raise
        self._done = True
        await self._release()
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives; each wait is bounded by the stream idle timeout."""
        connection = self._held[0] if self._held else None
        if connection is None:
            if self._done:
                return
            raise LocalProtocolError("the response is closed")
        try:
            while (piece := await connection.receive_body_piece(self._read_timeout)) is not None:
                yield piece
        except BaseException:
            await self.aclose()
            raise
        self._done = True
        await self._release()

    async def next_piece(self, wait: float | None = None) -> bytes | None:
        """The next piece of the body (``None`` at its end) for a stream read item by item.

        `wait` bounds this one read, on top of the idle read timeout: when it is the shorter
        and expires, `WaitTimeout` leaves the response usable (nothing was consumed), as does
        a cancelled read (asyncio). Any other failure closes it, as in `iter_bytes()`."""
        connection = self._held[0] if self._held else None
        if connection is None:
            if self._done:
                return None
            raise LocalProtocolError("the response is closed")
        idle = self._read_timeout
        mine = wait is not None and (idle is None or wait < idle)
        try:
            piece = await connection.receive_body_piece(wait if mine else idle)
        except TimeoutError as exc:
            if not mine:
                await self.aclose()
                raise
            raise WaitTimeout(f"nothing came within {wait} s") from exc
        except asyncio.CancelledError:  # unasync: remove
            raise  # unasync: remove
        except BaseException:
            await self.aclose()
            raise
        if piece is None:
            self._done = True
            await self._release()
        return piece

    async def _release(self) -> None:
        try:
            connection = self._held.pop()
        except IndexError:
            return  # released already
        await self._owner.release(connection, reusable=self._done)

    def hijack(self) -> AsyncHijackedStream:
        """The raw duplex stream under this response, with the bytes already buffered; the
        connection never goes back to the pool (its slot is freed when the stream closes)."""
        try:
            connection = self._held.pop()
        except IndexError:
            raise LocalProtocolError("the response is closed") from None
        hijacked = AsyncHijackedStream(
            connection.stream, connection.protocol.trailing_data, self._owner
        )
        self._owner.note_hijack(connection, hijacked)
        return hijacked

    async def aclose(self) -> None:
        """Release the connection: back to the pool if the body was read, else closed."""
        await self._release()

    async def __aenter__(self) -> AsyncResponse:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncHijackedStream:
    """The raw duplex stream left after ``101 Switching Protocols`` (attach, exec start).

    The first reads return the bytes that arrived with the 101 head; `close_write()` sends EOF
    to the process's stdin while its output keeps coming.
    """

    __slots__ = ("_closed", "_owner", "_pending", "_stream", "closed_by_client")

    def __init__(self, stream: AsyncStream, initial: bytes, owner: AsyncConnectionOwner) -> None:
        self._stream = stream
        self._pending = initial
        self._owner = owner
        #: Set when the client's close() ended this session.
        self.closed_by_client = False
        self._closed = False

    async def read(self, max_bytes: int = READ_SIZE, timeout: float | None = None) -> bytes:
        """Up to `max_bytes` of output; ``b""`` when the daemon has closed its side."""
        if self._pending:
            data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
            return data
        try:
            data = await self._stream.read(max_bytes, timeout)
        except TruncatedStream:
            raise  # cut, not ended (TLS without close_notify)
        except ConnectionLost:
            data = b""
        if not data and self.closed_by_client:
            raise ConnectionLost(CLIENT_CLOSED_STREAM)
        return data

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send bytes to the process's stdin."""
        await self._stream.write(data, timeout)

    async def close_write(self) -> None:
        """Signal stdin EOF; reading goes on."""
        await self._stream.close_write()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._stream.aclose()
            self._owner.release_slot(self)

    async def __aenter__(self) -> AsyncHijackedStream:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
