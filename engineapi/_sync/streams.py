# GENERATED from engineapi/_async/streams.py by `python -m engineapi._codegen.unasync`.
# Do not edit: change the async source and regenerate (make gen).
"""Streamed responses handed to the user: JSON item streams, raw byte streams, container
output, hijacked attach/exec and WebSocket sessions.

Each stream is built on an executor (`engineapi._sync.executor.Executor`: the client),
which sends its request when reading starts; nothing here knows the client."""

from __future__ import annotations

import builtins
import collections
import copy
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from engineapi._concurrency import Background, PendingRead
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
from engineapi.backends.base import BackendResponse, Duplex
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
    from engineapi._sync.executor import Executor
    from engineapi.api.containers import RunCall
    from engineapi.api.exec import ExecStreamCall
    from engineapi.models import ContainerWaitResponse

__all__ = [
    "AttachedStream",
    "ExecStream",
    "ItemStream",
    "OutputStream",
    "ProgressStream",
    "RawStream",
    "RunStream",
    "WebSocketAttach",
    "attach",
    "extract",
    "websocket",
]

T = TypeVar("T")
ItemT = TypeVar("ItemT")
CallT = TypeVar("CallT", bound="Call[Any]")


class BodyStream(Generic[CallT, ItemT]):
    """A response body read as it arrives, handed over item by item (decoded JSON, frames or
    bytes). The request goes out when reading starts.

    Two ways to read, which differ in what ends the stream:

    - ``for item in stream``: the loop owns the stream. Leaving it in any way (its end,
      ``break``, an error, the task being cancelled) closes the connection; nothing is drained.
    - ``stream.next(timeout=…)`` (or ``next(stream)``): one item. A `timeout` that
      passes raises `WaitTimeout`, and a cancelled call (``asyncio.wait_for``, a task
      cancelled) raises `CancelledError`; either way nothing was lost or read twice: the
      stream stays open, the next call goes on where it stopped. Close it with `close()` or
      an ``with`` block.

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

    def __init__(self, executor: Executor, call: CallT, *, deadline: float | None = None) -> None:
        self._executor = executor
        self._call = call
        self._response: BackendResponse | None = None
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
        self._pending: PendingRead | None = None

    def _open(self) -> BackendResponse:
        if self._response is None:
            self._start_deadline()
            self._response = self._bounded_open()
        return self._response

    def _start_deadline(self) -> None:
        if self._deadline is not None and self._until is None:
            self._until = time.monotonic() + self._deadline

    def _bounded_open(self) -> BackendResponse:
        """The request, its head awaited within what is left of the deadline."""
        until = self._until
        if until is None:
            return self._send()
        self._call = copy.copy(self._call)
        self._call.deadline_at = until
        try:
            return self._send()
        except TimeoutError as exc:
            if time.monotonic() >= until:
                raise self._deadline_error() from exc
            raise

    def _send(self) -> BackendResponse:
        return (self._executor.open_stream(self._call)).response

    def _deadline_error(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"the stream's deadline of {self._deadline} s passed (deadline=): it was closed",
            deadline=self._deadline or 0.0,
        )

    def close(self) -> None:
        """Stop reading and close the connection."""
        self._closed = True
        pending, self._pending = self._pending, None
        if self._response is not None:
            self._response.close()
        if pending is not None:
            pending.stop()

    def _ended_by_close(self, error: EngineAPIError) -> bool:
        """Whether `error` only says the stream was closed under a reader (no daemon fault)."""
        return self._closed and isinstance(error, TransportError | ProtocolError)

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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

    def next(self, timeout: float | None = None) -> ItemT:
        """The next item — `StopIteration` once the stream has ended (or was closed).

        `timeout` (seconds) bounds the wait: `WaitTimeout` then, with the stream left open
        and nothing lost (the idle read timeout and the deadline still apply and end it)."""
        until = None if timeout is None else time.monotonic() + timeout
        ready = self._ready
        if self._failure is not None:
            raise self._failure
        try:
            while not ready:
                if self._ended or self._closed:
                    raise StopIteration
                wait = None if until is None else max(until - time.monotonic(), 0.0)
                piece = self._piece(wait)
                if piece is None:
                    self._ended = True
                    if not self._closed:
                        ready.extend(self._end())
                    self.close()
                else:
                    ready.extend(self._feed(piece))
            return self._item(ready.popleft())
        except StopIteration:
            raise
        except WaitTimeout as exc:
            raise WaitTimeout(
                f"no {self._unit} came within {timeout} s (next(timeout=)); the stream is still"
                " open: call next() again, or close it"
            ) from exc
        except EngineAPIError as exc:
            if self._ended_by_close(exc):
                raise StopIteration from None
            raise self._fail(exc)  # noqa: B904 (exc itself, with its own cause)
        finally:
            if self._failure is not None and not self._closed:
                self.close()

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

    def __next__(self) -> ItemT:
        return self.next()

    def __iter__(self) -> Iterator[ItemT]:
        return self._loop()

    def _loop(self) -> Iterator[ItemT]:
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
                    item = self.next()
                except StopIteration:
                    return
                yield item
        finally:
            self.close()

    def _piece(self, wait: float | None) -> bytes | None:
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
        response = self._open()
        try:
            next_piece = getattr(response, "next_piece", None)
            if next_piece is not None:  # engineapi's own engine: cancel-safe reads
                return next_piece(wait)  # type: ignore[no-any-return]
            if self._pending is None:
                self._pending = PendingRead(response.iter_bytes())
            return self._pending.next(wait)
        except WaitTimeout as exc:
            if by_deadline:
                raise self._deadline_error() from exc
            raise


class ItemStream(BodyStream[StreamCall[T], T]):
    """A stream of decoded items (events, stats, progress messages); see `BodyStream`
    for reading it with or without a timeout, and `deadline`."""

    __slots__ = ("_decoder",)
    _unit = "item"
    _as_is = False

    def __init__(
        self, executor: Executor, call: StreamCall[T], *, deadline: float | None = None
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


class ProgressStream(ItemStream[T]):
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

    def wait(self) -> builtins.list[T]:
        """Run to the end; every message, or the `StreamError` one of them reported."""
        return [item for item in self]


class RawStream(BodyStream[RawCall, bytes]):
    """A response body handed over as bytes as they arrive (export, archives, raw logs)."""

    __slots__ = ()

    def read(self) -> bytes:
        """The whole body at once."""
        return b"".join([piece for piece in self])


class OutputStream(BodyStream[OutputCall, Frame]):
    """Container output as it arrives: ``(stream, bytes)`` frames, stream being
    `engineapi.streams.stdcopy.STDOUT` or `STDERR` (everything is STDOUT with a TTY).

    Iterate it (``for stream, data in output``), read a frame with `next(timeout=…)`,
    or read it whole with `read()` (merged) or `read_split()` (stdout, stderr). A stream-3
    frame raises `StreamError` with the daemon's message. See `BodyStream` for what
    ends it (a loop left, `close()`, `deadline`) and what a timed-out or cancelled read
    leaves (the stream, usable).
    """

    __slots__ = ("_multiplexed", "_stdcopy")
    _unit = "frame"

    def __init__(
        self, executor: Executor, call: OutputCall, *, deadline: float | None = None
    ) -> None:
        super().__init__(executor, call, deadline=deadline)
        self._multiplexed = True
        self._stdcopy = StdcopyDecoder()

    def _send(self) -> BackendResponse:
        opened = self._executor.open_stream(self._call)
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

    def read(self) -> bytes:
        """All output, stdout and stderr merged in arrival order."""
        return b"".join([data for _, data in self])

    def read_split(self) -> tuple[bytes, bytes]:
        """All output as (stdout, stderr)."""
        return split_frames(self)


def split_frames(frames: Iterable[Frame]) -> tuple[bytes, bytes]:
    """Frames read to the end, as (stdout, stderr)."""
    out: list[bytes] = []
    err: list[bytes] = []
    for stream, data in frames:
        (err if stream == STDERR else out).append(data)
    return b"".join(out), b"".join(err)


class AttachedStream:
    """A hijacked attach or exec: the process's output as frames, its stdin as `write()`.

    `close_write()` sends EOF to stdin while output keeps coming; iteration ends when the
    process closes its output. Frames are ``(stream, bytes)`` as in `OutputStream`.

    ``client.containers.attach(…)`` and ``client.exec.start(…)`` return it unopened: the
    connection is taken over on ``with``, on ``await`` (the older
    ``with …`` form), on `open()` or on first use.
    """

    __slots__ = ("_call", "_decoder", "_executor", "_pending", "_stream", "multiplexed")

    def __init__(
        self,
        stream: Duplex | None,
        multiplexed: bool = True,
        *,
        executor: Executor | None = None,
        call: HijackCall | None = None,
    ) -> None:
        self._stream = stream
        self._executor = executor
        self._call = call
        self.multiplexed = multiplexed
        self._decoder = StdcopyDecoder()
        self._pending: collections.deque[Frame] = collections.deque()  # popped from the head

    def _opened(self) -> Duplex:
        if self._stream is None:
            if self._executor is None or self._call is None:
                raise RuntimeError("this attached stream has no connection")
            hijacked = self._executor.hijack(self._call)
            self._stream, self.multiplexed = hijacked.stream, hijacked.multiplexed
        return self._stream

    def open(self) -> Self:
        """Take the connection over now (attach before starting the container, so that no
        output is missed); the stream itself."""
        self._opened()
        return self

    def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or ``None`` once the output has ended."""
        stream = self._opened()
        while not self._pending:
            data = stream.read(READ_SIZE, timeout)
            if not data:
                self._decoder.end()
                return None
            if not self.multiplexed:
                return (STDOUT, data)
            self._pending.extend(self._decoder.feed(data))
        return self._pending.popleft()

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        while (frame := self.read_frame()) is not None:
            yield frame

    def read_split(self) -> tuple[bytes, bytes]:
        """All remaining output as (stdout, stderr)."""
        return split_frames(self)

    def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send bytes to the process's stdin."""
        (self._opened()).write(data, timeout)

    def close_write(self) -> None:
        """EOF on the process's stdin; output keeps coming."""
        (self._opened()).close_write()

    def close(self) -> None:
        """Close the connection (nothing to do if it was never opened)."""
        if self._stream is not None:
            self._stream.close()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ExecStream:
    """An exec's output as it arrives, and its exit code once the output has ended.

    ``with client.exec.stream(cid, ["make"]) as run: for stream, data in run: …``
    then ``run.exit_code``. Frames are ``(stream, bytes)`` as in `OutputStream`.
    """

    __slots__ = ("_attached", "_call", "_executor", "exec_id", "exit_code")

    def __init__(self, executor: Executor, call: ExecStreamCall) -> None:
        self._executor = executor
        self._call = call
        self._attached: AttachedStream | None = None
        #: The exec's id, once created.
        self.exec_id: str | None = None
        #: The exit code, once the output has ended (``None`` before).
        self.exit_code: int | None = None

    def _open(self) -> AttachedStream:
        if self._attached is None:
            created = self._executor.send(self._call.create)
            if not created.id:
                raise RemoteProtocolError("the daemon created an exec without an id")
            self.exec_id = created.id
            self._attached = attach(self._executor, self._call.start(created.id))
        return self._attached

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        try:
            attached = self._open()
            while (frame := attached.read_frame()) is not None:
                yield frame
        finally:
            self.close()
        self._wait_exit_code()

    def _wait_exit_code(self) -> None:
        assert self.exec_id is not None
        self.exit_code = self._executor.run_flow(exec_api.exit_code(self.exec_id))

    def close(self) -> None:
        if self._attached is not None:
            self._attached.close()

    def __enter__(self) -> ExecStream:
        self._open()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RunStream:
    """``docker run``: the container's output as it arrives, then its exit code.

    ``with client.containers.run_stream("busybox", cmd) as run: for stream, data in
    run: …`` then ``run.exit_code``; `id` names the container once created. Frames are
    ``(stream, bytes)`` as in `OutputStream` (raw bytes as STDOUT with a TTY). The
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

    def __init__(self, executor: Executor, call: RunCall) -> None:
        self._executor = executor
        self._call = call
        self._started = False
        self._done = False
        self._attached: AttachedStream | None = None
        self._wait_call: Call[ContainerWaitResponse] | None = None
        self._waiting: BackendResponse | None = None
        self._removal: BackendResponse | None = None
        self._writer: Background | None = None
        #: The container's id, once created.
        self.id: str | None = None
        #: The exit code, once the output has ended (``None`` before).
        self.exit_code: int | None = None

    def _open(self) -> AttachedStream:
        if self._started:
            if self._attached is None:
                raise RuntimeError("this run's output was read already, or it was closed")
            return self._attached
        self._started = True
        executor, call = self._executor, self._call
        self.id = id = executor.run_flow(call.create())
        try:
            self._attached = attach(executor, call.attach(id))
            self._wait_call = call.wait(id)
            # The daemon answers a wait's head at once and its body at the exit: sent now so
            # that an exit (and AutoRemove's deletion) cannot come before it.
            self._waiting = (executor.open_stream(self._wait_call)).response
            removed = call.removed(id)
            if removed is not None:
                self._removal = (executor.open_stream(removed)).response
            executor.send(call.start(id))
        except EngineAPIError as exc:
            self._fail(exc)
            raise
        except BaseException:
            self._close_connections()
            raise
        if call.input is not None:
            self._writer = Background(_feed, self._attached, call.input)
        return self._attached

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        attached = self._open()
        try:
            while (frame := attached.read_frame()) is not None:
                yield frame
            self._finish()
        except EngineAPIError as exc:
            if not self._done:
                self._fail(exc)
            raise
        finally:
            self.close()

    def _finish(self) -> None:
        """The output has ended: the container has exited. Its exit code, and `remove`."""
        self._stop_writer()
        response, self._waiting = self._waiting, None
        assert response is not None and self._wait_call is not None and self.id is not None
        try:
            body = response.read()
        finally:
            response.close()
        waited = decoded(self._wait_call, Reply(response.status, response.headers, body))
        if waited.status_code is None:  # typed int, but None under lenient_decoding()
            raise RemoteProtocolError("the daemon's wait answer has no StatusCode")
        self.exit_code = int(waited.status_code)
        self._done = True
        removal, self._removal = self._removal, None
        if removal is not None:  # AutoRemove: gone once this answers
            try:
                removal.read()
            finally:
                removal.close()
        self._executor.run_flow(self._call.finish(self.id))

    def _fail(self, error: EngineAPIError) -> None:
        """A step failed: remove the container if asked, and say what became of it."""
        self._done = True
        self._close_connections()
        assert self.id is not None
        self._executor.run_flow(self._call.failed(self.id, error))

    def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if self._attached is not None:
            self._attached.close()  # wakes a writer the container stopped reading
        try:
            writer.join()
        except EngineAPIError:
            pass  # stdin the container did not read, as a shell pipe's EPIPE

    def _close_connections(self) -> None:
        writer, self._writer = self._writer, None
        attached, self._attached = self._attached, None
        waiting, self._waiting = self._waiting, None
        removal, self._removal = self._removal, None
        if attached is not None:
            attached.close()
        if writer is not None:
            writer.stop()
        for response in (waiting, removal):
            if response is not None:
                response.close()

    def close(self) -> None:
        """Close the attach; a run left before its end is removed (force) with `remove`,
        else it keeps running."""
        self._close_connections()
        if self._started and not self._done and self.id is not None:
            self._done = True
            try:
                self._executor.run_flow(self._call.abandon(self.id))
            except EngineAPIError:
                pass  # closing never raises; the container stays

    def result(self) -> RunResult:
        """Run to the end: the exit code and the whole output, as a `RunResult`."""
        stdout, stderr = split_frames(self)
        assert self.id is not None and self.exit_code is not None
        return RunResult(id=self.id, exit_code=self.exit_code, stdout=stdout, stderr=stderr)

    def __enter__(self) -> RunStream:
        self._open()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _feed(attached: AttachedStream, data: bytes) -> None:
    """`run`'s stdin: all of `data`, then EOF."""
    if data:
        attached.write(data)
    attached.close_write()


class WebSocketAttach:
    """A container attached over a WebSocket: raw output bytes in, stdin out.

    `read()` returns the next piece of output (``b""`` once the daemon closed the session);
    pings are answered. There is no half-close on a WebSocket: `close()` ends the session.
    """

    __slots__ = ("_events", "_stream", "_ws")

    def __init__(self, stream: Duplex) -> None:
        self._stream = stream
        self._ws = WebSocketConnection()
        self._events: collections.deque[object] = collections.deque()

    def read(self, timeout: float | None = None) -> bytes:
        """The next piece of output; ``b""`` when the session is over."""
        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Message):
                    return event.data
                if isinstance(event, Ping):
                    self._stream.write(self._ws.send_pong(event.payload), timeout)
                elif isinstance(event, Close):
                    if not self._ws.close_sent:
                        self._stream.write(self._ws.send_close(), timeout)
                    return b""
            data = self._stream.read(READ_SIZE, timeout)
            self._ws.receive_data(data)
            self._events.extend(self._ws.events())
            if not data and not self._events:
                return b""

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()

    def _pieces(self) -> Iterator[bytes]:
        while data := self.read():
            yield data

    def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send bytes to the container's stdin (a binary message)."""
        self._stream.write(self._ws.send_binary(data), timeout)

    def close(self) -> None:
        """Say goodbye (a close frame) and drop the connection."""
        if not self._ws.close_sent and not self._ws.close_received:
            try:
                self._stream.write(self._ws.send_close(), 1.0)
            except EngineAPIError:
                pass
        self._stream.close()

    def __enter__(self) -> WebSocketAttach:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def attach(executor: Executor, call: HijackCall) -> AttachedStream:
    """Hijack the connection for an attach or exec start: frames out, stdin in."""
    hijacked = executor.hijack(call)
    return AttachedStream(hijacked.stream, hijacked.multiplexed)


def websocket(executor: Executor, call: Call[Any]) -> WebSocketAttach:
    """Upgrade to a WebSocket session (attach over ``/attach/ws``)."""
    return WebSocketAttach((executor.hijack(call)).stream)


def extract(executor: Executor, call: ExtractCall) -> builtins.list[str]:
    """Extract a tar response into `call.dest` as it arrives; the extracted paths."""
    from engineapi.archive.tarball import extract_stream  # tarfile: on first use

    response = (executor.open_stream(call)).response
    try:
        return extract_stream(response.iter_bytes(), call.dest)
    finally:
        response.close()
