"""Replay decisions, with no I/O: which recorded exchange answers a request, and what bytes a
replayed connection sends back when.

`Player` holds a cassette and hands out its exchanges: by default strictly in order, each
request compared with the next unused exchange on method, path (version prefix removed), query
(order of parameters ignored) and body (JSON compared as values, after scrubbing). A request
that does not match raises `ReplayMismatch` with a diff of expected and actual.

`Conversation` is one replayed connection: it parses what the client writes, asks the player
for the exchange, and queues the recorded answer re-framed as the daemon framed it — a
Content-Length body, one HTTP chunk per recorded chunk, or a body ended by closing. After a
hijack it walks the recorded steps: the client's bytes are checked against the recording, the
daemon's bytes are given out in order, the half-close and the EOF where they were.
"""

from __future__ import annotations

import collections
import contextlib
import difflib
import hashlib
import json
from contextlib import AbstractContextManager
from typing import Any, Final

from engineapi.errors import EngineAPIError
from engineapi.http import NEED_DATA, Data, EndOfMessage
from engineapi.replay._cassette import Cassette, Exchange, HijackStep, Request, split_target
from engineapi.replay._request_parser import RequestHead, RequestParser
from engineapi.replay._scrub import Scrubber
from engineapi.replay._tarlisting import tar_listing

__all__ = [
    "EOF",
    "SILENT",
    "WAIT",
    "Conversation",
    "Player",
    "ReplayMismatch",
    "negotiation_pings",
]

ORDERS = ("strict", "any")


class ReplayMismatch(EngineAPIError):
    """The client did something the cassette did not record.

    `expected` and `actual` describe the two sides (``None`` when one side has nothing).
    """

    def __init__(self, message: str, *, expected: Any = None, actual: Any = None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class _Signal:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The daemon has closed its side: reads return ``b""``.
EOF: Final = _Signal("EOF")
#: Nothing comes until the client acts (writes, half-closes).
WAIT: Final = _Signal("WAIT")
#: The recording ends here without the daemon closing: reads time out.
SILENT: Final = _Signal("SILENT")

Output = bytes | _Signal


class Player:
    """Hands out a cassette's exchanges to the requests of one replay session."""

    def __init__(
        self,
        cassette: Cassette,
        scrubber: Scrubber | None = None,
        *,
        order: str = "strict",
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
        self.cassette = cassette
        self.scrubber = scrubber or Scrubber()
        self.order = order
        self.used = [False] * len(cassette.exchanges)
        # The recorded requests as this scrubber sees them too: a cassette scrubbed by an older,
        # laxer scrubber still matches requests scrubbed by this one.
        self._expected = [self.scrubber.request(e.request) for e in cassette.exchanges]
        #: The exchanges that are the client's own version negotiation: never "unused".
        self.negotiation = negotiation_pings(cassette)
        #: Every mismatch raised, even those the code under test caught.
        self.mismatches: list[ReplayMismatch] = []
        self.requests = 0
        #: Streams on several threads share the player: the transport passes a real lock.
        self._lock = lock or contextlib.nullcontext()

    @property
    def source(self) -> str:
        return str(self.cassette.path) if self.cassette.path else "the cassette"

    def fail(self, message: str, *, expected: Any = None, actual: Any = None) -> ReplayMismatch:
        error = ReplayMismatch(message, expected=expected, actual=actual)
        with self._lock:
            self.mismatches.append(error)
        return error

    def take(self, request: Request) -> Exchange:
        """The recorded exchange answering `request`; raises `ReplayMismatch` if none does."""
        actual = self.scrubber.request(request)
        with self._lock:
            self.requests += 1
            number = self.requests
            recorded = self.cassette.meta.api_version
            if request.api_version and recorded and request.api_version != recorded:
                mismatch = ReplayMismatch(
                    f"request {number} ({actual.describe()}) uses API version "
                    f"{request.api_version}, but {self.source} was recorded with {recorded}",
                    expected=recorded,
                    actual=request.api_version,
                )
                self.mismatches.append(mismatch)
                raise mismatch
            candidates = self._candidates()
            exchange = self._match(actual, candidates)
            if exchange is not None:
                return exchange
            mismatch = self._mismatch(number, actual, candidates)
            self.mismatches.append(mismatch)
            raise mismatch

    def find(self, request: Request) -> Exchange | None:
        """The recorded exchange answering `request`, marked used; None (and no mismatch
        noted) when there is none — for a session that records what is new."""
        actual = self.scrubber.request(request)
        with self._lock:
            self.requests += 1
            return self._match(actual, self._candidates())

    def _candidates(self) -> list[int]:
        """The unused exchanges a request may take: all of them, or in strict order the next
        one — and the next one after unused negotiation pings (a client that did not need
        to negotiate again skips them)."""
        candidates = [i for i, used in enumerate(self.used) if not used]
        if self.order != "strict":
            return candidates
        for position, index in enumerate(candidates):
            if index not in self.negotiation:
                return candidates[: position + 1]
        return candidates

    def _match(self, actual: Request, candidates: list[int]) -> Exchange | None:
        for index in candidates:
            if requests_match(self._expected[index], actual):
                self.used[index] = True
                return self.cassette.exchanges[index]
        return None

    def _mismatch(self, number: int, actual: Request, candidates: list[int]) -> ReplayMismatch:
        exchanges = self.cassette.exchanges
        if not candidates:
            return ReplayMismatch(
                f"request {number} ({actual.describe()}) goes beyond the end of {self.source}: "
                f"all {len(exchanges)} recorded exchanges have been used",
                actual=actual,
            )
        # The closest candidate: same method and path if any, else the next one.
        best = next(
            (
                i
                for i in candidates
                if exchanges[i].request.method == actual.method
                and exchanges[i].request.path == actual.path
            ),
            candidates[0],
        )
        expected = exchanges[best].request
        how = (
            f"exchange {best + 1} of {len(exchanges)} is next (strict order)"
            if self.order == "strict"
            else f"no unused exchange matches; the closest is exchange {best + 1}"
        )
        return ReplayMismatch(
            f"request {number} does not match {self.source}: {how}\n"
            + describe_difference(expected, actual),
            expected=expected,
            actual=actual,
        )

    def unused(self) -> list[tuple[int, Exchange]]:
        """The exchanges no request took, the client's negotiation pings aside."""
        with self._lock:
            return [
                (i, e)
                for i, e in enumerate(self.cassette.exchanges)
                if not self.used[i] and i not in self.negotiation
            ]

    def check_mismatches(self) -> None:
        """Raise `ReplayMismatch` for the first mismatch seen (even one the code under test
        caught), the later ones as its notes."""
        if self.mismatches:
            first, *later = self.mismatches
            error = ReplayMismatch(
                f"{len(self.mismatches)} mismatch(es) during the replay; the first: {first}",
                expected=first.expected,
                actual=first.actual,
            )
            for other in later:
                error.add_note(f"later mismatch (after the first): {other}")
            raise error

    def check(self) -> None:
        """Raise `ReplayMismatch` for the first mismatch seen, else for unused exchanges
        (the client's negotiation pings aside)."""
        self.check_mismatches()
        unused = self.unused()
        if unused:
            lines = [f"  {i + 1}. {e.request.describe()}" for i, e in unused]
            raise ReplayMismatch(
                f"{len(unused)} recorded exchange(s) of {self.source} were never requested:\n"
                + "\n".join(lines),
                expected=[e.request for _, e in unused],
            )


def negotiation_pings(cassette: Cassette) -> frozenset[int]:
    """The indexes of the exchanges that are a client negotiating its API version: every
    ``HEAD /_ping``, and a ``GET /_ping`` right after one the daemon refused (the fallback).
    An explicit ``client.system.ping()`` is a ``GET /_ping`` on its own, and counts."""
    found: set[int] = set()
    exchanges = cassette.exchanges
    for index, exchange in enumerate(exchanges):
        request = exchange.request
        if request.path != "/_ping" or request.query:
            continue
        if request.method == "HEAD":
            found.add(index)
        elif request.method == "GET" and index and index - 1 in found:
            previous = exchanges[index - 1].response
            if previous is not None and previous.status >= 400:
                found.add(index)
    return frozenset(found)


# -- comparing requests ----------------------------------------------------------------------------


def _json_or_none(data: bytes) -> Any:
    if data[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def bodies_match(expected: bytes, actual: bytes) -> bool:
    """Same bytes; or the same JSON value; or tars with the same members and contents (the
    mtimes, owners and umask of the machine that made them aside: see `tar_listing`)."""
    if expected == actual:
        return True
    parsed = _json_or_none(expected)
    if parsed is not None:
        return bool(parsed == _json_or_none(actual))
    listing = tar_listing(expected)
    return listing is not None and listing == tar_listing(actual)


def requests_match(expected: Request, actual: Request) -> bool:
    return (
        expected.method == actual.method
        and expected.path == actual.path
        and sorted(expected.query) == sorted(actual.query)
        and bodies_match(expected.body, actual.body)
    )


def _body_lines(body: bytes) -> list[str]:
    if not body:
        return ["(no body)"]
    parsed = _json_or_none(body)
    if parsed is not None:
        return json.dumps(parsed, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    listing = tar_listing(body)
    if listing is not None:  # a diff of the members, not of two digests
        return ["(tar)", *(json.dumps(member, sort_keys=True) for member in listing)]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        digest = hashlib.sha256(body).hexdigest()[:16]
        return [f"({len(body)} bytes of binary, sha256 {digest}…)"]
    if "\0" in text:
        digest = hashlib.sha256(body).hexdigest()[:16]
        return [f"({len(body)} bytes of binary, sha256 {digest}…)"]
    return text.splitlines() or [""]


def describe_difference(expected: Request, actual: Request) -> str:
    """A readable diff of two requests: what differs, expected first."""
    lines = [
        f"  expected: {expected.describe()}",
        f"  actual:   {actual.describe()}",
    ]
    if expected.method != actual.method:
        lines.append(f"  method: expected {expected.method}, got {actual.method}")
    if expected.path != actual.path:
        lines.append(f"  path: expected {expected.path}, got {actual.path}")
    if sorted(expected.query) != sorted(actual.query):
        lines.append("  query:")
        lines += _diff(
            [f"{n}={v}" for n, v in sorted(expected.query)],
            [f"{n}={v}" for n, v in sorted(actual.query)],
        )
    if not bodies_match(expected.body, actual.body):
        lines.append("  body:")
        lines += _diff(_body_lines(expected.body), _body_lines(actual.body))
    return "\n".join(lines)


def _diff(expected: list[str], actual: list[str]) -> list[str]:
    diff = difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=2)
    return [f"    {line}" for line in diff]


# -- one replayed connection -------------------------------------------------------------------


def _framed_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def _head(exchange: Exchange) -> tuple[bytes, list[bytes], _Signal | None]:
    """The response head, the body units and what follows them (None: ready for more)."""
    response = exchange.response
    assert response is not None
    headers = list(response.headers)
    units: list[bytes] = []
    after: _Signal | None = None
    has_body = response.chunks is not None or response.body is not None
    if has_body and response.complete:
        headers = [
            (n, v) for n, v in headers if n.lower() not in ("content-length", "transfer-encoding")
        ]
    if response.chunks is not None:
        if not any(n.lower() == "transfer-encoding" for n, _ in headers):
            headers.append(("Transfer-Encoding", "chunked"))
        units = [_framed_chunk(chunk) for chunk in response.chunks if chunk]
        if response.complete:
            units.append(b"0\r\n\r\n")
        else:
            after = SILENT
    elif response.body is not None:
        if response.until_close:
            after = EOF if response.complete else SILENT
        else:
            if response.complete:
                headers.append(("Content-Length", str(len(response.body))))
            else:
                after = SILENT
        if response.body:
            units = [response.body]
    status_line = f"HTTP/1.1 {response.status} {response.reason}".rstrip()
    head = "\r\n".join([status_line, *(f"{n}: {v}" for n, v in headers), "", ""])
    return head.encode("latin-1"), units, after


def unmask_client_frames(data: bytes) -> bytes:
    """WebSocket client frames with their payloads unmasked and mask keys zeroed.

    Clients mask every frame with a fresh random key, so recorded and replayed bytes differ
    even when the messages are the same. This keeps lengths (so offsets still line up) and
    handles a frame cut short at the end.
    """
    out = bytearray(data)
    pos = 0
    size = len(data)
    while pos + 2 <= size:
        masked = data[pos + 1] & 0x80
        length = data[pos + 1] & 0x7F
        header = 2
        if length == 126:
            if pos + 4 > size:
                break
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            header = 4
        elif length == 127:
            if pos + 10 > size:
                break
            length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            header = 10
        if not masked:
            pos += header + length
            continue
        if pos + header + 4 > size:
            break
        key = data[pos + header : pos + header + 4]
        out[pos + header : pos + header + 4] = b"\0\0\0\0"
        start = pos + header + 4
        end = min(start + length, size)
        for index in range(start, end):
            out[index] = data[index] ^ key[(index - start) % 4]
        pos = start + length
    return bytes(out)


def _websocket_accept(request: Request, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The handshake answer for this request's own key (the recorded one was for another)."""
    key = next((v for n, v in request.headers if n.lower() == "sec-websocket-key"), None)
    if key is None:
        return headers
    from engineapi.streams.websocket import accept_value

    return [
        (n, accept_value(key) if n.lower() == "sec-websocket-accept" else v) for n, v in headers
    ]


class Conversation:
    """The replayed daemon's side of one connection (no I/O, no waiting).

    `client_data` / `client_close_write` take what the client sends (and may raise
    `ReplayMismatch`); `next_output` returns the next bytes for the client, or a signal:
    `EOF`, `WAIT` (the client must act first) or `SILENT` (the recording stops here).
    """

    def __init__(self, player: Player) -> None:
        self.player = player
        self._parser = RequestParser()
        self._head: RequestHead | None = None
        self._body: list[bytes] = []
        self._units: collections.deque[bytes] = collections.deque()
        self._after: _Signal | None = None
        self._steps: list[HijackStep] | None = None
        self._step = 0
        self._offset = 0
        self._client = bytearray()
        self._client_closed = False
        self._websocket = False

    # -- from the client -------------------------------------------------------------------------

    def client_data(self, data: bytes) -> None:
        if self._steps is not None:
            self._client += data
            self._check_client_ahead()
            return
        parser = self._parser
        parser.receive_data(data)
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
                self._answer()
                if self._steps is not None:
                    self._client += parser.trailing_data
                    self._check_client_ahead()
                    return

    def client_close_write(self) -> None:
        self._client_closed = True
        steps = self._steps
        if steps is None:
            return
        if not any(step.close_write for step in steps[self._step :]):
            raise self.player.fail(
                "the client half-closed the hijacked connection, but the recording has no "
                "half-close here",
                expected=None,
                actual="close_write",
            )

    def _answer(self) -> None:
        head = self._head
        assert head is not None
        self._head = None
        path, query, version = split_target(head.target)
        request = Request(
            method=head.method,
            path=path,
            query=query,
            headers=list(head.headers),
            body=b"".join(self._body),
            api_version=version,
        )
        self._body = []
        exchange = self.player.take(request)
        self._after = None
        if exchange.response is None:
            self._after = SILENT
            return
        if any(n.lower() == "sec-websocket-key" for n, _ in request.headers):
            self._websocket = True
            assert exchange.response is not None
            exchange.response.headers = _websocket_accept(request, list(exchange.response.headers))
        head_bytes, units, after = _head(exchange)
        self._units.append(head_bytes)
        if exchange.hijack is not None:
            self._steps = exchange.hijack
            return
        self._units.extend(units)
        self._after = after

    # -- to the client ---------------------------------------------------------------------------

    def next_output(self, max_bytes: int) -> Output:
        units = self._units
        if units:
            unit = units.popleft()
            if len(unit) > max_bytes:
                units.appendleft(unit[max_bytes:])
                unit = unit[:max_bytes]
            return unit
        if self._steps is not None:
            return self._hijack_output(max_bytes)
        if self._after is not None:
            return self._after
        return WAIT

    def readable(self) -> bool:
        """True if a read would not wait (what a pool checks on an idle connection)."""
        return bool(self._units) or self._after is EOF

    def _hijack_output(self, max_bytes: int) -> Output:
        steps = self._steps
        assert steps is not None
        while self._step < len(steps):
            step = steps[self._step]
            if step.source == "daemon":
                if step.eof:
                    return EOF
                data = step.data[self._offset : self._offset + max_bytes]
                self._offset += len(data)
                if self._offset >= len(step.data):
                    self._step += 1
                    self._offset = 0
                if data:
                    return data
                continue
            if step.close_write:
                if self._client_closed and not self._client:
                    self._step += 1
                    continue
                if self._client:
                    raise self._client_mismatch(b"")
                return WAIT
            if not self._consume_client(step.data):
                return WAIT
        return SILENT

    def _normalised(self, data: bytes) -> bytes:
        return unmask_client_frames(data) if self._websocket else data

    def _consume_client(self, expected: bytes) -> bool:
        """Match the client's bytes with one recorded client step; False: wait for more."""
        expected = self._normalised(expected)
        raw = self._normalised(bytes(self._client))
        scrubbed = self.player.scrubber.data(raw)
        if scrubbed == raw:
            if raw.startswith(expected):
                del self._client[: len(expected)]
                self._step += 1
                return True
            if expected.startswith(raw) and not self._client_closed:
                return False
        elif scrubbed == expected:
            self._client.clear()
            self._step += 1
            return True
        elif not self._client_closed:
            return False
        raise self._client_mismatch(expected)

    def _check_client_ahead(self) -> None:
        """Fail at once when the bytes written cannot be what the recording expects next."""
        steps = self._steps
        assert steps is not None
        expected = next(
            (s.data for s in steps[self._step :] if s.source == "client" and not s.close_write),
            None,
        )
        if expected is not None:
            expected = self._normalised(expected)
        raw = self._normalised(bytes(self._client))
        if not raw:
            return
        if self.player.scrubber.data(raw) != raw:
            return  # a secret, maybe cut in two: compare when the piece is complete
        if expected is None:
            raise self._client_mismatch(b"")
        if not (expected.startswith(raw) or raw.startswith(expected)):
            raise self._client_mismatch(expected)

    def _client_mismatch(self, expected: bytes) -> ReplayMismatch:
        actual = bytes(self._client)
        if not expected:
            message = (
                "the client sent bytes on the hijacked connection where the recording has none"
            )
        else:
            message = "the client sent other bytes on the hijacked connection than recorded"
        lines = _diff(_body_lines(expected), _body_lines(actual))
        return self.player.fail(
            f"{message} ({self.player.source}):\n" + "\n".join(lines),
            expected=expected,
            actual=actual,
        )

    def waiting_for(self) -> str:
        """What the replay waits for, for messages."""
        steps = self._steps
        if steps is None:
            return "the client reads but has not sent a (complete) request"
        step = steps[self._step]
        if step.close_write:
            return "the recording has the client half-close (close_write) here"
        return f"the recording has the client send {step.data[:60]!r} here"
