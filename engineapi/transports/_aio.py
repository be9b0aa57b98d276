"""The asyncio byte stream over an OS socket (unix or TCP), on a buffered protocol."""

from __future__ import annotations

import asyncio
import builtins
import collections
import select
from collections.abc import Callable, Coroutine
from typing import Any, cast

from engineapi.errors import ConnectError, ConnectionLost, TimeoutError
from engineapi.transports.base import READ_SIZE

__all__ = ["AsyncSocketStream", "async_dial"]

# Past this much unread data the stream stops reading from the OS: flat memory.
_HIGH_WATER = 1024 * 1024


class _StreamProtocol(asyncio.BufferedProtocol):
    """Collects received bytes and wakes the one reader; applies back-pressure both ways.

    Buffered: the loop reads into one buffer of ours instead of allocating (and, at asyncio's
    256 KiB read size, mapping and unmapping) fresh memory for every read.
    """

    def __init__(self) -> None:
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.read_waiter: asyncio.Future[bool] | None = None
        self.write_waiter: asyncio.Future[None] | None = None
        self.writing_paused = False
        self.lost = False
        self.lost_waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not isinstance-checked: uvloop's transports implement the interface without
        # subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def _wake_reader(self) -> None:
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        data = self._view[:nbytes].tobytes()
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return True  # keep our write side open: half-closed by the daemon

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self.lost = True
        if self.lost_waiter is not None and not self.lost_waiter.done():
            self.lost_waiter.set_result(None)
        self._wake_reader()
        waiter = self.write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        waiter = self.write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class AsyncSocketStream:
    """An asyncio `AsyncStream` over a socket transport (unix or TCP)."""

    __slots__ = ("_closed", "_deadline", "_loop", "_poll", "_protocol", "_timer", "_transport")

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self._closed = False
        # The read timeout's clock: one timer per stream, re-armed only when it fires early
        # (see `read`), instead of a timer made and cancelled for every read.
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        # Asks the socket itself whether it is readable (see `is_readable`).
        self._poll: select.poll | None = None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                if protocol.error is not None:
                    raise ConnectionLost(f"reading from the daemon failed: {protocol.error}")
                return b""
            loop = self._loop
            waiter: asyncio.Future[bool] = loop.create_future()
            protocol.read_waiter = waiter
            if timeout is None:
                self._deadline = None
            else:
                # A timer made and cancelled per read costs more than the rest of a small
                # request (a heap push in Python, the cancelled handle popped later). The
                # stream's one timer stays armed between reads; when it fires before the
                # current deadline it is armed again for it (`_check_deadline`).
                deadline = self._deadline = loop.time() + timeout
                timer = self._timer
                if timer is None or timer.when() > deadline:
                    if timer is not None:
                        timer.cancel()
                    self._timer = loop.call_at(deadline, self._check_deadline)
            try:
                if not await waiter:
                    raise TimeoutError(f"no data from the daemon for {timeout} s")
            finally:
                protocol.read_waiter = None
        data = protocol.chunks.popleft()
        if len(data) > max_bytes:
            protocol.chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        protocol.buffered -= len(data)
        if protocol.reading_paused and protocol.buffered <= _HIGH_WATER // 4:
            protocol.reading_paused = False
            self._transport.resume_reading()
        return data

    def _check_deadline(self) -> None:
        """The stream's read timer fired: expire a read past its deadline, else (the reads
        since it was armed were answered, a later one waits) arm it for that read's."""
        self._timer = None
        waiter = self._protocol.read_waiter
        deadline = self._deadline
        if waiter is None or waiter.done() or deadline is None:
            return  # no read waiting: the next one arms the timer again
        # Within a millisecond counts as due: the loop may run a timer a clock tick early.
        if self._loop.time() >= deadline - 0.001:
            waiter.set_result(False)
        else:
            self._timer = self._loop.call_at(deadline, self._check_deadline)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def write(self, data: bytes, timeout: float | None) -> None:
        protocol = self._protocol
        if self._transport.is_closing():
            raise ConnectionLost("writing to the daemon failed: the connection is closed")
        self._transport.write(data)
        while protocol.writing_paused and not self._transport.is_closing():
            waiter = self._loop.create_future()
            protocol.write_waiter = waiter
            try:
                if timeout is None:
                    await waiter
                else:
                    async with asyncio.timeout(timeout):
                        await waiter
            except builtins.TimeoutError as exc:
                raise TimeoutError(f"the daemon accepted no data for {timeout} s") from exc
            finally:
                protocol.write_waiter = None

    async def close_write(self) -> None:
        if self._transport.can_write_eof():
            self._transport.write_eof()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._cancel_timer()
            self._transport.close()
            # The loop closes the socket on a later turn: wait for it, so that a closed
            # client really has released its file descriptors.
            protocol = self._protocol
            if not protocol.lost:
                protocol.lost_waiter = self._loop.create_future()
                try:
                    await asyncio.wait_for(asyncio.shield(protocol.lost_waiter), 1.0)
                except builtins.TimeoutError:
                    pass

    def abandon(self) -> None:
        """Close the socket without its event loop (one that has ended: a client reused
        across ``asyncio.run()`` calls drops the idle connections of the old loop)."""
        if self._closed:
            return
        self._closed = True
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._cancel_timer)
            self._loop.call_soon_threadsafe(self._transport.abort)
            return
        # The loop cannot run the transport's close any more: close the socket here, and
        # tell the transport it has none (else its finalizer would close the number again).
        sock = getattr(self._transport, "_sock", None)
        if sock is not None:
            sock.close()
            self._transport._sock = None  # type: ignore[attr-defined]

    def is_readable(self) -> bool:
        """Whether data or an EOF waits: for an idle connection, that the daemon closed it.

        The socket itself is asked, not only what the loop has seen: a daemon killed while the
        loop was busy (or since its last turn) has closed connections the loop has not yet been
        told about, and a request sent on one of them is lost.
        """
        protocol = self._protocol
        if protocol.chunks or protocol.eof or self._transport.is_closing():
            return True
        return self._poll is not None and bool(self._poll.poll(0))


async def async_dial(
    connect: Callable[[Callable[[], _StreamProtocol]], Coroutine[Any, Any, Any]],
    timeout: float | None,
    *,
    describe: str,
) -> AsyncSocketStream:
    """Run a loop `create_*_connection` coroutine factory and wrap the result."""
    try:
        if timeout is None:
            transport, protocol = await connect(_StreamProtocol)
        else:
            async with asyncio.timeout(timeout):
                transport, protocol = await connect(_StreamProtocol)
    except builtins.TimeoutError as exc:
        raise TimeoutError(f"connecting to {describe} timed out after {timeout} s") from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect to {describe}: {exc.strerror or exc}") from exc
    return AsyncSocketStream(transport, protocol)
