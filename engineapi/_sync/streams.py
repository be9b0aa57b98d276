# GENERATED from engineapi/_async/streams.py by `python -m engineapi._codegen.unasync`.
# Do not edit: change the async source and regenerate (make gen).
"""Streamed responses handed to the user: JSON item streams, raw byte streams, container
output, hijacked attach/exec and WebSocket sessions.

Each stream is built on an executor (`engineapi._sync.executor.Executor`: the client),
which sends its request when reading starts; nothing here knows the client."""

from __future__ import annotations

import builtins
import collections
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from engineapi.api import exec as exec_api
from engineapi.api._call import (
    Call,
    ExtractCall,
    HijackCall,
    OutputCall,
    RawCall,
    StreamCall,
    decoded_item,
)
from engineapi.archive.tarball import extract_stream
from engineapi.backends.base import BackendResponse, Duplex
from engineapi.errors import (
    EngineAPIError,
    ProtocolError,
    RemoteProtocolError,
    StreamError,
    TransportError,
)
from engineapi.streams.jsonlines import JSONLinesDecoder
from engineapi.streams.stdcopy import STDERR, STDOUT, Frame, StdcopyDecoder
from engineapi.streams.websocket import Close, Message, Ping, WebSocketConnection
from engineapi.transports.base import READ_SIZE

if TYPE_CHECKING:
    from engineapi._sync.executor import Executor
    from engineapi.api.exec import ExecStreamCall

__all__ = [
    "AttachedStream",
    "ExecStream",
    "ItemStream",
    "OutputStream",
    "ProgressStream",
    "RawStream",
    "WebSocketAttach",
    "attach",
    "extract",
    "websocket",
]

T = TypeVar("T")
CallT = TypeVar("CallT", bound="Call[Any]")


class BodyStream(Generic[CallT]):
    """A response body read as it arrives. The request goes out when reading starts; leaving an
    ``with`` block, calling `close()` or breaking out of a loop closes the connection
    (nothing is drained). Closing it from another thread (or task) while one reads ends that
    reading cleanly: the loop stops, no error."""

    __slots__ = ("_call", "_closed", "_executor", "_response")

    def __init__(self, executor: Executor, call: CallT) -> None:
        self._executor = executor
        self._call = call
        self._response: BackendResponse | None = None
        self._closed = False

    def _open(self) -> BackendResponse:
        if self._response is None:
            self._response = (self._executor.open_stream(self._call)).response
        return self._response

    def close(self) -> None:
        """Stop reading and close the connection."""
        self._closed = True
        if self._response is not None:
            self._response.close()

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


class ItemStream(BodyStream[StreamCall[T]]):
    """A stream of decoded items (events, stats, progress messages).

    The request is sent when iteration starts. Leaving an ``with`` block, calling
    `close()` or breaking out of the loop closes the connection: nothing is drained.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[T]:
        return self._items()

    def _items(self) -> Iterator[T]:
        call = self._call
        decoder = JSONLinesDecoder()
        try:
            response = self._open()
            for piece in response.iter_bytes():
                for value in decoder.feed(piece):
                    yield decoded_item(call, value)
            if self._closed:
                return
            for value in decoder.end():
                yield decoded_item(call, value)
        except EngineAPIError as exc:
            if not self._ended_by_close(exc):
                raise
        finally:
            self.close()


def progress_error(item: object) -> StreamError | None:
    """The error a progress message reports (``errorDetail``, or the old ``error``), if any."""
    detail = getattr(item, "error_detail", None)
    message = getattr(detail, "message", None) if detail is not None else None
    message = message or getattr(item, "error", None)
    if not message:
        return None
    return StreamError(str(message), code=getattr(detail, "code", None))


class ProgressStream(ItemStream[T]):
    """Progress messages of a pull, push, build, load or import.

    Iterating yields each message; a message that reports an error raises `StreamError` with
    the daemon's text (it is never handed over as if it were progress). `wait()` consumes the
    stream and returns every message.
    """

    __slots__ = ()

    def _items(self) -> Iterator[T]:
        for item in super()._items():
            error = progress_error(item)
            if error is not None:
                raise error
            yield item

    def wait(self) -> builtins.list[T]:
        """Run to the end; every message, or the `StreamError` one of them reported."""
        return [item for item in self]


class RawStream(BodyStream[RawCall]):
    """A response body handed over as bytes as they arrive (export, archives, raw logs)."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()

    def _pieces(self) -> Iterator[bytes]:
        try:
            response = self._open()
            for piece in response.iter_bytes():
                yield piece
        except EngineAPIError as exc:
            if not self._ended_by_close(exc):
                raise
        finally:
            self.close()

    def read(self) -> bytes:
        """The whole body at once."""
        return b"".join([piece for piece in self])


class OutputStream(BodyStream[OutputCall]):
    """Container output as it arrives: ``(stream, bytes)`` frames, stream being
    `engineapi.streams.stdcopy.STDOUT` or `STDERR` (everything is STDOUT with a TTY).

    Iterate it (``for stream, data in output``), or read it whole with `read()` (merged)
    or `read_split()` (stdout, stderr). A stream-3 frame raises `StreamError` with the
    daemon's message. Closing it, or breaking out of the loop, closes the connection.
    """

    __slots__ = ("_multiplexed",)

    def __init__(self, executor: Executor, call: OutputCall) -> None:
        super().__init__(executor, call)
        self._multiplexed = True

    def _open(self) -> BackendResponse:
        if self._response is None:
            opened = self._executor.open_stream(self._call)
            self._multiplexed = opened.multiplexed
            self._response = opened.response
        return self._response

    @property
    def multiplexed(self) -> bool:
        """False when the output is a TTY's raw bytes (known once the stream is open)."""
        return self._multiplexed

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        try:
            response = self._open()
            if not self._multiplexed:
                for piece in response.iter_bytes():
                    yield (STDOUT, piece)
                return
            decoder = StdcopyDecoder()
            for piece in response.iter_bytes():
                for frame in decoder.feed(piece):
                    yield frame
            if not self._closed:
                decoder.end()
        except EngineAPIError as exc:
            if not self._ended_by_close(exc):
                raise
        finally:
            self.close()

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
    """

    __slots__ = ("_decoder", "_pending", "_stream", "multiplexed")

    def __init__(self, stream: Duplex, multiplexed: bool) -> None:
        self._stream = stream
        self.multiplexed = multiplexed
        self._decoder = StdcopyDecoder()
        self._pending: list[Frame] = []

    def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or ``None`` once the output has ended."""
        while not self._pending:
            data = self._stream.read(READ_SIZE, timeout)
            if not data:
                self._decoder.end()
                return None
            if not self.multiplexed:
                return (STDOUT, data)
            self._pending = self._decoder.feed(data)
        return self._pending.pop(0)

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
        self._stream.write(data, timeout)

    def close_write(self) -> None:
        """EOF on the process's stdin; output keeps coming."""
        self._stream.close_write()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> AttachedStream:
        return self

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
    response = (executor.open_stream(call)).response
    try:
        return extract_stream(response.iter_bytes(), call.dest)
    finally:
        response.close()
