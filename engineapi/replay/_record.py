"""`RecordingTransport`: wraps any transport and writes down what crosses it.

Each stream the client opens is wrapped: the bytes written go through a request parser of our
own (`RequestParser`), the bytes read through the client's own `ClientConnection`, so each
exchange is captured as the daemon and the client saw it — including streamed bodies (one
chunk per piece received) and hijacked connections (the raw bytes both ways, the half-close and
the daemon's EOF). Recording never gets in the client's way: if the tap cannot make sense of
the bytes, the problem is noted (`problems`) and the bytes still flow.

Nothing reaches the disk before `save()`, which scrubs every exchange first.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engineapi._version import __version__
from engineapi.errors import ConnectionLost, RecordingError
from engineapi.http import NEED_DATA, ClientConnection, Data, EndOfMessage, Response
from engineapi.replay._cassette import (
    Cassette,
    Exchange,
    HijackStep,
    Meta,
    Request,
    split_target,
)
from engineapi.replay._cassette import Response as RecordedResponse
from engineapi.replay._request_parser import RequestHead, RequestParser
from engineapi.replay._scrub import Scrubber

if TYPE_CHECKING:
    from engineapi.transports.base import AsyncStream, Stream, Transport

__all__ = ["AsyncRecordingStream", "RecordingError", "RecordingStream", "RecordingTransport"]

#: Request headers not worth keeping: the transport's, not the call's.
_DROP_REQUEST = frozenset({"host", "user-agent", "content-length"})
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_SERVER = re.compile(r"(?:Docker|Libpod)/(\S+)")


class RecordingTransport:
    """A `Transport` that records every exchange made through `inner` into `cassette`.

    `cassette` is a `Cassette` or the path to write it to. `engine` names the engine in the
    metadata (e.g. ``"docker28"``). Call `save()` at the end: it scrubs with `scrubber` (the
    default scrubs registry credentials) and writes the file.
    """

    def __init__(
        self,
        inner: Transport,
        cassette: Cassette | str | Path,
        scrubber: Scrubber | None = None,
        *,
        engine: str | None = None,
        volatile: Iterable[str] = (),
    ) -> None:
        if not isinstance(cassette, Cassette):
            cassette = Cassette(path=Path(cassette))
        self.inner = inner
        self.address = inner.address
        self.cassette = cassette
        self.scrubber = scrubber or Scrubber()
        self.engine = engine
        self.volatile = list(volatile)
        #: Exchanges in the order their requests were complete (raw, not yet scrubbed).
        self.exchanges: list[Exchange] = []
        #: What the tap could not parse; `save()` refuses to write a cassette with problems.
        self.problems: list[str] = []
        self.versions: list[str] = []
        self.server: str | None = None
        self.pinned_version: str | None = None
        self._lock = threading.Lock()

    def connect(self, timeout: float | None) -> RecordingStream:
        return RecordingStream(self.inner.connect(timeout), _Tap(self))

    async def aconnect(self, timeout: float | None) -> AsyncRecordingStream:
        return AsyncRecordingStream(await self.inner.aconnect(timeout), _Tap(self))

    # -- called by the taps ----------------------------------------------------------------------

    def _add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
            version = exchange.request.api_version
            if version is not None and version not in self.versions:
                self.versions.append(version)

    def _saw_response(self, response: Response) -> None:
        if self.server is None:
            self.server = response.headers.get("server")

    def _drop(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges = [e for e in self.exchanges if e is not exchange]

    def _problem(self, message: str) -> None:
        with self._lock:
            self.problems.append(message)

    # -- the result ------------------------------------------------------------------------------

    def result(self, *, negotiated: bool = True, host: str | None = None) -> Cassette:
        """The cassette so far: scrubbed exchanges and metadata."""
        if self.problems:
            raise RecordingError("; ".join(self.problems))
        if len(self.versions) > 1:
            raise RecordingError(f"one session used several API versions: {self.versions}")
        match = _SERVER.match(self.server or "")
        meta = Meta(
            engine=self.engine,
            server=self.server,
            engine_version=match.group(1) if match else None,
            api_version=self.versions[0] if self.versions else self.pinned_version,
            negotiated=negotiated,
            host=host or self.address,
            recorded_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            engineapi_version=__version__,
        )
        with self._lock:
            exchanges = [self.scrubber.exchange(exchange) for exchange in self.exchanges]
        self.cassette.meta = meta
        self.cassette.exchanges = exchanges
        self.cassette.volatile = list(dict.fromkeys([*self.cassette.volatile, *self.volatile]))
        return self.cassette

    def save(self, *, negotiated: bool = True, host: str | None = None) -> Path:
        """Scrub, then write the cassette file; returns its path."""
        return self.result(negotiated=negotiated, host=host).save()

    def __repr__(self) -> str:
        return f"RecordingTransport({self.inner!r}, {self.cassette.path})"


class _Tap:
    """The sans-IO heart of recording one connection."""

    __slots__ = (
        "_body",
        "_broken",
        "_current",
        "_early",
        "_head",
        "_held",
        "_held_close",
        "_lock",
        "_mode",
        "_parser",
        "_pieces",
        "_recorder",
        "_response",
    )

    def __init__(self, recorder: RecordingTransport) -> None:
        self._recorder = recorder
        self._parser = RequestParser()
        self._head: RequestHead | None = None
        self._body: list[bytes] = []
        self._current: Exchange | None = None
        self._response: ClientConnection | None = None
        self._pieces: list[bytes] = []
        self._mode = "http"  # "http", "upgrade" (waiting for the answer), "hijack"
        self._held = b""  # client bytes after an upgrade request, before the answer
        self._held_close = False  # …and a half-close
        self._early = b""  # daemon bytes before any request (nothing to attach them to)
        self._broken = False
        self._lock = threading.Lock()

    # -- client → daemon -------------------------------------------------------------------------

    def client_data(self, data: bytes) -> None:
        if not data or self._broken:
            return
        with self._lock:
            try:
                if self._mode == "hijack":
                    self._hijack_step(HijackStep("client", data))
                elif self._mode == "upgrade":
                    self._held += data
                else:
                    self._parser.receive_data(data)
                    self._parse_requests()
            except Exception as exc:
                self._fail(f"request bytes: {exc}")

    def client_close_write(self) -> None:
        if self._broken:
            return
        with self._lock:
            if self._mode == "hijack":
                self._hijack_step(HijackStep("client", close_write=True))
            elif self._mode == "upgrade":  # before the daemon answered: kept for the hijack
                self._held_close = True

    def _parse_requests(self) -> None:
        parser = self._parser
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, RequestHead):
                self._head = event
                self._body = []
            elif isinstance(event, Data):
                self._body.append(event.data)
            elif isinstance(event, EndOfMessage):
                self._request_complete()
                if self._mode == "upgrade":
                    self._held = parser.trailing_data
                    self._parser = RequestParser()
                    return

    def _request_complete(self) -> None:
        head = self._head
        assert head is not None
        self._head = None
        path, query, version = split_target(head.target)
        headers = [(n, v) for n, v in head.headers if n.lower() not in _DROP_REQUEST]
        request = Request(
            method=head.method,
            path=path,
            query=query,
            headers=headers,
            body=b"".join(self._body),
            api_version=version,
        )
        self._body = []
        exchange = Exchange(request)
        self._recorder._add(exchange)
        self._current = exchange
        connection = ClientConnection()
        connection.send_request(
            head.method,
            head.target,
            [(n, v) for n, v in head.headers if n.lower() not in _FRAMING],
            body=b"",
        )
        self._response = connection
        self._pieces = []
        if request.upgrade:
            self._mode = "upgrade"
        if self._early:
            early, self._early = self._early, b""
            self._feed_response(early)

    # -- daemon → client -------------------------------------------------------------------------

    def daemon_data(self, data: bytes) -> None:
        if self._broken:
            return
        with self._lock:
            try:
                if self._mode == "hijack":
                    if data:
                        self._hijack_step(HijackStep("daemon", data))
                    else:
                        self._hijack_step(HijackStep("daemon", eof=True))
                elif self._response is None:
                    self._early += data
                elif not data and self._response.bytes_received == 0:
                    self._dropped()
                else:
                    self._feed_response(data)
            except Exception as exc:
                self._fail(f"response bytes: {exc}")

    def _dropped(self) -> None:
        """The daemon closed the connection without answering (a stale keep-alive connection,
        which the pool retries on a new one): not part of the conversation, not recorded."""
        if self._current is not None:
            self._recorder._drop(self._current)
        self._current = None
        self._response = None
        self._broken = True

    def _feed_response(self, data: bytes) -> None:
        connection = self._response
        exchange = self._current
        assert connection is not None and exchange is not None
        connection.receive_data(data)
        while True:
            event = connection.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, Response):
                self._recorder._saw_response(event)
                exchange.response = _recorded_head(exchange.request, event)
                if self._mode == "upgrade":
                    if connection.switched_protocol or _hijacked_anyway(event):
                        self._start_hijack(connection)
                        return
                    self._mode = "http"  # refused: a normal response
                    self._held_close = False
                    held, self._held = self._held, b""
                    if held:
                        self._parser.receive_data(held)
            elif isinstance(event, Data):
                self._pieces.append(event.data)
            elif isinstance(event, EndOfMessage):
                self._finish_response(complete=True)
                return

    def _start_hijack(self, connection: ClientConnection) -> None:
        exchange = self._current
        assert exchange is not None
        self._mode = "hijack"
        exchange.hijack = []
        held, self._held = self._held, b""
        if held:
            self._hijack_step(HijackStep("client", held))
        if self._held_close:
            self._hijack_step(HijackStep("client", close_write=True))
        if connection.switched_protocol:
            trailing = connection.trailing_data
        else:  # a 200 hijack: whatever was parsed as body so far is stream output
            trailing = b""
            while isinstance(event := connection.next_event(), Data):
                trailing += event.data
        if trailing:
            self._hijack_step(HijackStep("daemon", trailing))
        self._response = None

    def _hijack_step(self, step: HijackStep) -> None:
        exchange = self._current
        if exchange is None or exchange.hijack is None:
            return
        steps = exchange.hijack
        if steps and step.data and steps[-1].source == step.source and steps[-1].data:
            steps[-1] = HijackStep(step.source, steps[-1].data + step.data)
        else:
            steps.append(step)

    def _finish_response(self, *, complete: bool) -> None:
        exchange = self._current
        if exchange is not None and exchange.response is not None:
            response = exchange.response
            response.complete = complete
            pieces = self._pieces
            if response.chunks is not None:
                response.chunks = pieces
            elif response.body is not None:
                response.body = b"".join(pieces)
            if complete:
                response.headers = [
                    (n, v)
                    for n, v in response.headers
                    if n.lower() not in _FRAMING
                    or (response.body is None and response.chunks is None)
                ]
        self._current = None
        self._response = None
        self._pieces = []

    # -- the end ---------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._broken:
                return
            if self._mode == "hijack":
                self._current = None
            elif self._response is not None:
                self._finish_response(complete=False)
            self._broken = True  # nothing more to record on this connection

    def _fail(self, message: str) -> None:
        self._broken = True
        self._recorder._problem(message)


def _recorded_head(request: Request, response: Response) -> RecordedResponse:
    headers = [(n, v) for n, v in response.headers.raw() if n.lower() != "date"]
    recorded = RecordedResponse(response.status, response.reason, headers)
    te = response.headers.get("transfer-encoding")
    if request.method == "HEAD" or response.status in (101, 204, 304):
        return recorded
    if te is not None:
        recorded.chunks = []
    elif response.headers.get("content-length") is not None:
        recorded.body = b""
    elif not request.upgrade:
        recorded.body = b""
        recorded.until_close = True
    return recorded


def _hijacked_anyway(response: Response) -> bool:
    """An old daemon answering an upgrade request with 200 and a raw stream."""
    headers = response.headers
    return (
        response.status == 200
        and headers.get("content-length") is None
        and headers.get("transfer-encoding") is None
    )


class RecordingStream:
    """A `Stream` that tees both directions into a tap."""

    __slots__ = ("_inner", "_tap")

    def __init__(self, inner: Stream, tap: _Tap) -> None:
        self._inner = inner
        self._tap = tap

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        try:
            data = self._inner.read(max_bytes, timeout)
        except ConnectionLost:
            self._tap.daemon_data(b"")
            raise
        self._tap.daemon_data(data)
        return data

    def write(self, data: bytes, timeout: float | None) -> None:
        self._tap.client_data(data)  # first: a reply can only follow what was sent
        self._inner.write(data, timeout)

    def close_write(self) -> None:
        self._tap.client_close_write()
        self._inner.close_write()

    def close(self) -> None:
        self._tap.close()
        self._inner.close()

    def is_readable(self) -> bool:
        return self._inner.is_readable()


class AsyncRecordingStream:
    """The asyncio twin of `RecordingStream`."""

    __slots__ = ("_inner", "_tap")

    def __init__(self, inner: AsyncStream, tap: _Tap) -> None:
        self._inner = inner
        self._tap = tap

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        try:
            data = await self._inner.read(max_bytes, timeout)
        except ConnectionLost:
            self._tap.daemon_data(b"")
            raise
        self._tap.daemon_data(data)
        return data

    async def write(self, data: bytes, timeout: float | None) -> None:
        self._tap.client_data(data)
        await self._inner.write(data, timeout)

    async def close_write(self) -> None:
        self._tap.client_close_write()
        await self._inner.close_write()

    async def aclose(self) -> None:
        self._tap.close()
        await self._inner.aclose()

    def is_readable(self) -> bool:
        return self._inner.is_readable()
