"""Streamed responses handed to the user: JSON item streams, raw byte streams, container
output, hijacked attach/exec and WebSocket sessions.

Each stream is built on an executor (`engineapi._async.executor.AsyncExecutor`: the client),
which sends its request when reading starts; nothing here knows the client."""

from __future__ import annotations

import builtins
import collections
import copy
import time
from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from engineapi._concurrency import AsyncBackground, AsyncPendingRead
from engineapi.api import exec as exec_api
from engineapi.api._call import (
    Call,
    ExtractCall,
    HijackCall,
    OutputCall,
    RawCall,
    Reply,
    StreamCall,
    decoded,
    decoded_item,
    pull_reference,
)
from engineapi.api.containers import RunResult
from engineapi.backends.base import AsyncBackendResponse, AsyncDuplex
from engineapi.errors import (
    DeadlineExceeded,
    EngineAPIError,
    ImagePullError,
    ProtocolError,
    RemoteProtocolError,
    StreamError,
    TimeoutError,
    TransportError,
    WaitTimeout,
)
from engineapi.streams.jsonlines import JSONLinesDecoder
from engineapi.streams.stdcopy import STDERR, STDOUT, Frame, StdcopyDecoder
from engineapi.streams.websocket import Close, Message, Ping, WebSocketConnection
from engineapi.transports.base import READ_SIZE

if TYPE_CHECKING:
    from engineapi._async.executor import AsyncExecutor
    from engineapi.api.containers import RunCall
    from engineapi.api.exec import ExecStreamCall
    from engineapi.models import ContainerWaitResponse

__all__ = [
    "AsyncAttachedStream",
    "AsyncExecStream",
    "AsyncItemStream",
    "AsyncOutputStream",
    "AsyncProgressStream",
    "AsyncRawStream",
    "AsyncRunStream",
    "AsyncWebSocketAttach",
    "attach",
    "attaching",  # unasync: remove
    "extract",
    "websocket",
]

T = TypeVar("T")
ItemT = TypeVar("ItemT")
CallT = TypeVar("CallT", bound="Call[Any]")


class AsyncBodyStream(Generic[CallT, ItemT]):
    """A response body read as it arrives, handed over item by item (decoded JSON, frames or
    bytes). The request goes out when reading starts.

    Two ways to read, which differ in what ends the stream:

    - ``async for item in stream``: the loop owns the stream. Leaving it in any way (its end,
      ``break``, an error, the task being cancelled) closes the connection; nothing is drained.
    - ``await stream.next(timeout=…)`` (or ``anext(stream)``): one item. A `timeout` that
      passes raises `WaitTimeout`, and a cancelled call (``asyncio.wait_for``, a task
      cancelled) raises `CancelledError`; either way nothing was lost or read twice: the
      stream stays open, the next call goes on where it stopped. Close it with `aclose()` or
      an ``async with`` block.

    `deadline` (seconds, from the first read: the request included) bounds the whole stream:
    once it passes, the items that arrived are handed over, then `DeadlineExceeded` is raised
    and the connection closed. Closing the stream from another thread (or task) while one
    reads ends that reading cleanly: the loop stops, no error."""

    __slots__ = (
        "_call",
        "_closed",
        "_deadline",
        "_ended",
        "_executor",
        "_failure",
        "_pending",
        "_ready",
        "_response",
        "_until",
    )

    def __init__(
        self, executor: AsyncExecutor, call: CallT, *, deadline: float | None = None
    ) -> None:
        self._executor = executor
        self._call = call
        self._response: AsyncBackendResponse | None = None
        self._closed = False
        self._deadline = deadline
        #: When the deadline passes (time.monotonic()), once the stream is opened.
        self._until: float | None = None
        #: What arrived and is not handed over yet (undecoded), and whether the body ended.
        self._ready: collections.deque[Any] = collections.deque()
        self._ended = False
        #: The error that ended the stream, raised again by every later `next()`.
        self._failure: EngineAPIError | None = None
        #: A backend's body read in flight (one without `next_piece`), kept across a timeout.
        self._pending: AsyncPendingRead | None = None

    async def _open(self) -> AsyncBackendResponse:
        if self._response is None:
            self._start_deadline()
            self._response = await self._bounded_open()
        return self._response

    def _start_deadline(self) -> None:
        if self._deadline is not None and self._until is None:
            self._until = time.monotonic() + self._deadline

    async def _bounded_open(self) -> AsyncBackendResponse:
        """The request, its head awaited within what is left of the deadline."""
        until = self._until
        if until is None:
            return await self._send()
        self._call = copy.copy(self._call)
        self._call.deadline_at = until
        try:
            return await self._send()
        except TimeoutError as exc:
            if time.monotonic() >= until:
                raise self._deadline_error() from exc
            raise

    async def _send(self) -> AsyncBackendResponse:
        return (await self._executor.open_stream(self._call)).response

    def _deadline_error(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"the stream's deadline of {self._deadline} s passed (deadline=): it was closed",
            deadline=self._deadline or 0.0,
        )

    async def aclose(self) -> None:
        """Stop reading and close the connection."""
        self._closed = True
        pending, self._pending = self._pending, None
        if self._response is not None:
            await self._response.aclose()
        if pending is not None:
            await pending.stop()

    def _ended_by_close(self, error: EngineAPIError) -> bool:
        """Whether `error` only says the stream was closed under a reader (no daemon fault)."""
        return self._closed and isinstance(error, TransportError | ProtocolError)

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- what each kind of stream makes of the body ---------------------------------------------

    #: What one item is called in messages.
    _unit = "piece"
    #: Whether `_item` hands what `_feed` made over as it is (frames, pieces).
    _as_is = True

    def _feed(self, piece: bytes) -> Iterable[Any]:
        return (piece,)

    def _end(self) -> Iterable[Any]:
        return ()

    def _item(self, value: Any) -> ItemT:
        return value  # type: ignore[no-any-return]

    # -- reading ---------------------------------------------------------------------------------

    async def next(self, timeout: float | None = None) -> ItemT:
        """The next item — `StopAsyncIteration` once the stream has ended (or was closed).

        `timeout` (seconds) bounds the wait: `WaitTimeout` then, with the stream left open
        and nothing lost (the idle read timeout and the deadline still apply and end it)."""
        until = None if timeout is None else time.monotonic() + timeout
        ready = self._ready
        if self._failure is not None:
            raise self._failure
        try:
            while not ready:
                if self._ended or self._closed:
                    raise StopAsyncIteration
                wait = None if until is None else max(until - time.monotonic(), 0.0)
                piece = await self._piece(wait)
                if piece is None:
                    self._ended = True
                    if not self._closed:
                        ready.extend(self._end())
                    await self.aclose()
                else:
                    ready.extend(self._feed(piece))
            return self._item(ready.popleft())
        except StopAsyncIteration:
            raise
        except WaitTimeout as exc:
            raise WaitTimeout(
                f"no {self._unit} came within {timeout} s (next(timeout=)); the stream is still"
                " open: call next() again, or close it"
            ) from exc
        except EngineAPIError as exc:
            if self._ended_by_close(exc):
                raise StopAsyncIteration from None
            raise self._fail(exc)  # noqa: B904 (exc itself, with its own cause)
        finally:
            if self._failure is not None and not self._closed:
                await self.aclose()

    def _fail(self, error: EngineAPIError) -> EngineAPIError:
        """`error` ends the stream: every later `next()` raises it again, even when a cancel
        interrupts the closing that follows (the connection is closed in `next()`'s way
        out)."""
        if self._failure is None:
            self._failure = error
            record = getattr(self._response, "record_failure", None)
            if record is not None:  # tracing: the span says how the stream ended
                record(error)
        return self._failure

    async def __anext__(self) -> ItemT:
        return await self.next()

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._loop()

    async def _loop(self) -> AsyncIterator[ItemT]:
        ready = self._ready
        decode = None if self._as_is else self._item
        try:
            while True:
                # What one read brought is handed over here, not through next(): a log's
                # frames are many and small.
                try:
                    while ready:
                        yield ready.popleft() if decode is None else decode(ready.popleft())
                except EngineAPIError as exc:
                    raise self._fail(exc)  # noqa: B904 (exc itself, with its own cause)
                try:
                    item = await self.next()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            await self.aclose()

    async def _piece(self, wait: float | None) -> bytes | None:
        """The next piece of the body (``None`` at its end), waiting at most `wait` seconds
        and no later than the deadline."""
        self._start_deadline()
        by_deadline = False
        if self._until is not None:
            left = self._until - time.monotonic()
            if left <= 0:
                raise self._deadline_error()
            if wait is None or left < wait:
                wait, by_deadline = left, True
        response = await self._open()
        try:
            next_piece = getattr(response, "next_piece", None)
            if next_piece is not None:  # engineapi's own engine: cancel-safe reads
                return await next_piece(wait)  # type: ignore[no-any-return]
            if self._pending is None:
                self._pending = AsyncPendingRead(response.iter_bytes())
            return await self._pending.next(wait)
        except WaitTimeout as exc:
            if by_deadline:
                raise self._deadline_error() from exc
            raise


class AsyncItemStream(AsyncBodyStream[StreamCall[T], T]):
    """A stream of decoded items (events, stats, progress messages); see `AsyncBodyStream`
    for reading it with or without a timeout, and `deadline`."""

    __slots__ = ("_decoder",)
    _unit = "item"
    _as_is = False

    def __init__(
        self, executor: AsyncExecutor, call: StreamCall[T], *, deadline: float | None = None
    ) -> None:
        super().__init__(executor, call, deadline=deadline)
        self._decoder = JSONLinesDecoder()

    def _feed(self, piece: bytes) -> Iterable[Any]:
        return self._decoder.feed(piece)

    def _end(self) -> Iterable[Any]:
        return self._decoder.end()

    def _item(self, value: Any) -> T:
        return decoded_item(self._call, value)


def progress_error(item: object, pulling: str | None = None) -> StreamError | None:
    """The error a progress message reports (``errorDetail``, or the old ``error``), if any:
    an `ImagePullError` in the stream of a pull (`pulling`: the reference)."""
    detail = getattr(item, "error_detail", None)
    message = getattr(detail, "message", None) if detail is not None else None
    message = message or getattr(item, "error", None)
    if not message:
        return None
    code = getattr(detail, "code", None)
    if pulling is not None:
        return ImagePullError(str(message), reference=pulling, code=code)
    return StreamError(str(message), code=code)


class AsyncProgressStream(AsyncItemStream[T]):
    """Progress messages of a pull, push, build, load or import.

    Iterating yields each message; a message that reports an error raises `StreamError` with
    the daemon's text (it is never handed over as if it were progress). `wait()` consumes the
    stream and returns every message.
    """

    __slots__ = ()

    def _item(self, value: Any) -> T:
        item = decoded_item(self._call, value)
        error = progress_error(item, pull_reference(self._call))
        if error is not None:
            raise error
        return item

    async def wait(self) -> builtins.list[T]:
        """Run to the end; every message, or the `StreamError` one of them reported."""
        return [item async for item in self]


class AsyncRawStream(AsyncBodyStream[RawCall, bytes]):
    """A response body handed over as bytes as they arrive (export, archives, raw logs)."""

    __slots__ = ()

    async def read(self) -> bytes:
        """The whole body at once."""
        return b"".join([piece async for piece in self])


class AsyncOutputStream(AsyncBodyStream[OutputCall, Frame]):
    """Container output as it arrives: ``(stream, bytes)`` frames, stream being
    `engineapi.streams.stdcopy.STDOUT` or `STDERR` (everything is STDOUT with a TTY).

    Iterate it (``async for stream, data in output``), read a frame with `next(timeout=…)`,
    or read it whole with `read()` (merged) or `read_split()` (stdout, stderr). A stream-3
    frame raises `StreamError` with the daemon's message. See `AsyncBodyStream` for what
    ends it (a loop left, `aclose()`, `deadline`) and what a timed-out or cancelled read
    leaves (the stream, usable).
    """

    __slots__ = ("_multiplexed", "_stdcopy")
    _unit = "frame"

    def __init__(
        self, executor: AsyncExecutor, call: OutputCall, *, deadline: float | None = None
    ) -> None:
        super().__init__(executor, call, deadline=deadline)
        self._multiplexed = True
        self._stdcopy = StdcopyDecoder()

    async def _send(self) -> AsyncBackendResponse:
        opened = await self._executor.open_stream(self._call)
        self._multiplexed = opened.multiplexed
        return opened.response

    @property
    def multiplexed(self) -> bool:
        """False when the output is a TTY's raw bytes (known once the stream is open)."""
        return self._multiplexed

    def _feed(self, piece: bytes) -> Iterable[Any]:
        if not self._multiplexed:
            return ((STDOUT, piece),)
        return self._stdcopy.feed(piece)

    def _end(self) -> Iterable[Any]:
        if self._multiplexed:
            self._stdcopy.end()
        return ()

    async def read(self) -> bytes:
        """All output, stdout and stderr merged in arrival order."""
        return b"".join([data async for _, data in self])

    async def read_split(self) -> tuple[bytes, bytes]:
        """All output as (stdout, stderr)."""
        return await split_frames(self)


async def split_frames(frames: AsyncIterable[Frame]) -> tuple[bytes, bytes]:
    """Frames read to the end, as (stdout, stderr)."""
    out: list[bytes] = []
    err: list[bytes] = []
    async for stream, data in frames:
        (err if stream == STDERR else out).append(data)
    return b"".join(out), b"".join(err)


class AsyncAttachedStream:
    """A hijacked attach or exec: the process's output as frames, its stdin as `write()`.

    `close_write()` sends EOF to stdin while output keeps coming; iteration ends when the
    process closes its output. Frames are ``(stream, bytes)`` as in `AsyncOutputStream`.

    ``client.containers.attach(…)`` and ``client.exec.start(…)`` return it unopened: the
    connection is taken over on ``async with``, on ``await`` (the older
    ``async with await …`` form), on `open()` or on first use.
    """

    __slots__ = ("_call", "_decoder", "_executor", "_pending", "_stream", "multiplexed")

    def __init__(
        self,
        stream: AsyncDuplex | None,
        multiplexed: bool = True,
        *,
        executor: AsyncExecutor | None = None,
        call: HijackCall | None = None,
    ) -> None:
        self._stream = stream
        self._executor = executor
        self._call = call
        self.multiplexed = multiplexed
        self._decoder = StdcopyDecoder()
        self._pending: collections.deque[Frame] = collections.deque()  # popped from the head

    async def _opened(self) -> AsyncDuplex:
        if self._stream is None:
            if self._executor is None or self._call is None:
                raise RuntimeError("this attached stream has no connection")
            hijacked = await self._executor.hijack(self._call)
            self._stream, self.multiplexed = hijacked.stream, hijacked.multiplexed
        return self._stream

    async def open(self) -> Self:
        """Take the connection over now (attach before starting the container, so that no
        output is missed); the stream itself."""
        await self._opened()
        return self

    def __await__(self) -> Generator[Any, None, Self]:  # unasync: remove
        return self.open().__await__()  # unasync: remove

    async def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or ``None`` once the output has ended."""
        stream = await self._opened()
        while not self._pending:
            data = await stream.read(READ_SIZE, timeout)
            if not data:
                self._decoder.end()
                return None
            if not self.multiplexed:
                return (STDOUT, data)
            self._pending.extend(self._decoder.feed(data))
        return self._pending.popleft()

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        while (frame := await self.read_frame()) is not None:
            yield frame

    async def read_split(self) -> tuple[bytes, bytes]:
        """All remaining output as (stdout, stderr)."""
        return await split_frames(self)

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send bytes to the process's stdin."""
        await (await self._opened()).write(data, timeout)

    async def close_write(self) -> None:
        """EOF on the process's stdin; output keeps coming."""
        await (await self._opened()).close_write()

    async def aclose(self) -> None:
        """Close the connection (nothing to do if it was never opened)."""
        if self._stream is not None:
            await self._stream.aclose()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncExecStream:
    """An exec's output as it arrives, and its exit code once the output has ended.

    ``async with client.exec.stream(cid, ["make"]) as run: async for stream, data in run: …``
    then ``run.exit_code``. Frames are ``(stream, bytes)`` as in `AsyncOutputStream`.
    """

    __slots__ = ("_attached", "_call", "_executor", "exec_id", "exit_code")

    def __init__(self, executor: AsyncExecutor, call: ExecStreamCall) -> None:
        self._executor = executor
        self._call = call
        self._attached: AsyncAttachedStream | None = None
        #: The exec's id, once created.
        self.exec_id: str | None = None
        #: The exit code, once the output has ended (``None`` before).
        self.exit_code: int | None = None

    async def _open(self) -> AsyncAttachedStream:
        if self._attached is None:
            created = await self._executor.send(self._call.create)
            if not created.id:
                raise RemoteProtocolError("the daemon created an exec without an id")
            self.exec_id = created.id
            self._attached = await attach(self._executor, self._call.start(created.id))
        return self._attached

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        try:
            attached = await self._open()
            while (frame := await attached.read_frame()) is not None:
                yield frame
        finally:
            await self.aclose()
        await self._wait_exit_code()

    async def _wait_exit_code(self) -> None:
        assert self.exec_id is not None
        self.exit_code = await self._executor.run_flow(exec_api.exit_code(self.exec_id))

    async def aclose(self) -> None:
        if self._attached is not None:
            await self._attached.aclose()

    async def __aenter__(self) -> AsyncExecStream:
        await self._open()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncRunStream:
    """``docker run``: the container's output as it arrives, then its exit code.

    ``async with client.containers.run_stream("busybox", cmd) as run: async for stream, data in
    run: …`` then ``run.exit_code``; `id` names the container once created. Frames are
    ``(stream, bytes)`` as in `AsyncOutputStream` (raw bytes as STDOUT with a TTY). The
    output comes from an attach made before the start, so nothing is missed and no logging
    driver is read; the exit code from a wait sent before the start (see
    `engineapi.api.containers.run`). `input` is written to stdin beside the reading, then
    half-closed (EOF).
    """

    __slots__ = (
        "_attached",
        "_call",
        "_done",
        "_executor",
        "_removal",
        "_started",
        "_wait_call",
        "_waiting",
        "_writer",
        "exit_code",
        "id",
    )

    def __init__(self, executor: AsyncExecutor, call: RunCall) -> None:
        self._executor = executor
        self._call = call
        self._started = False
        self._done = False
        self._attached: AsyncAttachedStream | None = None
        self._wait_call: Call[ContainerWaitResponse] | None = None
        self._waiting: AsyncBackendResponse | None = None
        self._removal: AsyncBackendResponse | None = None
        self._writer: AsyncBackground | None = None
        #: The container's id, once created.
        self.id: str | None = None
        #: The exit code, once the output has ended (``None`` before).
        self.exit_code: int | None = None

    async def _open(self) -> AsyncAttachedStream:
        if self._started:
            if self._attached is None:
                raise RuntimeError("this run's output was read already, or it was closed")
            return self._attached
        self._started = True
        executor, call = self._executor, self._call
        self.id = id = await executor.run_flow(call.create())
        try:
            self._attached = await attach(executor, call.attach(id))
            self._wait_call = call.wait(id)
            # The daemon answers a wait's head at once and its body at the exit: sent now so
            # that an exit (and AutoRemove's deletion) cannot come before it.
            self._waiting = (await executor.open_stream(self._wait_call)).response
            removed = call.removed(id)
            if removed is not None:
                self._removal = (await executor.open_stream(removed)).response
            await executor.send(call.start(id))
        except EngineAPIError as exc:
            await self._fail(exc)
            raise
        except BaseException:
            await self._close_connections()
            raise
        if call.input is not None:
            self._writer = AsyncBackground(_feed, self._attached, call.input)
        return self._attached

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        attached = await self._open()
        try:
            while (frame := await attached.read_frame()) is not None:
                yield frame
            await self._finish()
        except EngineAPIError as exc:
            if not self._done:
                await self._fail(exc)
            raise
        finally:
            await self.aclose()

    async def _finish(self) -> None:
        """The output has ended: the container has exited. Its exit code, and `remove`."""
        await self._stop_writer()
        response, self._waiting = self._waiting, None
        assert response is not None and self._wait_call is not None and self.id is not None
        try:
            body = await response.read()
        finally:
            await response.aclose()
        waited = decoded(self._wait_call, Reply(response.status, response.headers, body))
        if waited.status_code is None:  # typed int, but None under lenient_decoding()
            raise RemoteProtocolError("the daemon's wait answer has no StatusCode")
        self.exit_code = int(waited.status_code)
        self._done = True
        removal, self._removal = self._removal, None
        if removal is not None:  # AutoRemove: gone once this answers
            try:
                await removal.read()
            finally:
                await removal.aclose()
        await self._executor.run_flow(self._call.finish(self.id))

    async def _fail(self, error: EngineAPIError) -> None:
        """A step failed: remove the container if asked, and say what became of it."""
        self._done = True
        await self._close_connections()
        assert self.id is not None
        await self._executor.run_flow(self._call.failed(self.id, error))

    async def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if self._attached is not None:
            await self._attached.aclose()  # wakes a writer the container stopped reading
        try:
            await writer.join()
        except EngineAPIError:
            pass  # stdin the container did not read, as a shell pipe's EPIPE

    async def _close_connections(self) -> None:
        writer, self._writer = self._writer, None
        attached, self._attached = self._attached, None
        waiting, self._waiting = self._waiting, None
        removal, self._removal = self._removal, None
        if attached is not None:
            await attached.aclose()
        if writer is not None:
            await writer.stop()
        for response in (waiting, removal):
            if response is not None:
                await response.aclose()

    async def aclose(self) -> None:
        """Close the attach; a run left before its end is removed (force) with `remove`,
        else it keeps running."""
        await self._close_connections()
        if self._started and not self._done and self.id is not None:
            self._done = True
            try:
                await self._executor.run_flow(self._call.abandon(self.id))
            except EngineAPIError:
                pass  # closing never raises; the container stays

    async def result(self) -> RunResult:
        """Run to the end: the exit code and the whole output, as a `RunResult`."""
        stdout, stderr = await split_frames(self)
        assert self.id is not None and self.exit_code is not None
        return RunResult(id=self.id, exit_code=self.exit_code, stdout=stdout, stderr=stderr)

    async def __aenter__(self) -> AsyncRunStream:
        await self._open()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def _feed(attached: AsyncAttachedStream, data: bytes) -> None:
    """`run`'s stdin: all of `data`, then EOF."""
    if data:
        await attached.write(data)
    await attached.close_write()


class AsyncWebSocketAttach:
    """A container attached over a WebSocket: raw output bytes in, stdin out.

    `read()` returns the next piece of output (``b""`` once the daemon closed the session);
    pings are answered. There is no half-close on a WebSocket: `aclose()` ends the session.
    """

    __slots__ = ("_events", "_stream", "_ws")

    def __init__(self, stream: AsyncDuplex) -> None:
        self._stream = stream
        self._ws = WebSocketConnection()
        self._events: collections.deque[object] = collections.deque()

    async def read(self, timeout: float | None = None) -> bytes:
        """The next piece of output; ``b""`` when the session is over."""
        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Message):
                    return event.data
                if isinstance(event, Ping):
                    await self._stream.write(self._ws.send_pong(event.payload), timeout)
                elif isinstance(event, Close):
                    if not self._ws.close_sent:
                        await self._stream.write(self._ws.send_close(), timeout)
                    return b""
            data = await self._stream.read(READ_SIZE, timeout)
            self._ws.receive_data(data)
            self._events.extend(self._ws.events())
            if not data and not self._events:
                return b""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        while data := await self.read():
            yield data

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send bytes to the container's stdin (a binary message)."""
        await self._stream.write(self._ws.send_binary(data), timeout)

    async def aclose(self) -> None:
        """Say goodbye (a close frame) and drop the connection."""
        if not self._ws.close_sent and not self._ws.close_received:
            try:
                await self._stream.write(self._ws.send_close(), 1.0)
            except EngineAPIError:
                pass
        await self._stream.aclose()

    async def __aenter__(self) -> AsyncWebSocketAttach:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def attach(executor: AsyncExecutor, call: HijackCall) -> AsyncAttachedStream:
    """Hijack the connection for an attach or exec start: frames out, stdin in."""
    hijacked = await executor.hijack(call)
    return AsyncAttachedStream(hijacked.stream, hijacked.multiplexed)


def attaching(executor: AsyncExecutor, call: HijackCall) -> AsyncAttachedStream:  # unasync: remove
    """An attach or exec start not yet sent: opened by ``async with``, ``await`` or use  # unasync: remove
    (the blocking client's methods hijack at once, with `attach`)."""  # unasync: remove
    return AsyncAttachedStream(None, executor=executor, call=call)  # unasync: remove


async def websocket(executor: AsyncExecutor, call: Call[Any]) -> AsyncWebSocketAttach:
    """Upgrade to a WebSocket session (attach over ``/attach/ws``)."""
    return AsyncWebSocketAttach((await executor.hijack(call)).stream)


async def extract(executor: AsyncExecutor, call: ExtractCall) -> builtins.list[str]:
    """Extract a tar response into `call.dest` as it arrives; the extracted paths."""
    from engineapi.archive.tarball import extract_async_stream  # tarfile: on first use

    response = (await executor.open_stream(call)).response
    try:
        return await extract_async_stream(response.iter_bytes(), call.dest)
    finally:
        await response.aclose()
