"""A sans-IO HTTP/1.1 client connection: bytes in, events out, bytes to send back.

The caller owns the socket. For each exchange it calls `send_request()` (and `send_data()` /
`send_end()` for a body it streams), writes the bytes returned, feeds whatever it reads to
`receive_data()` (``b""`` for EOF) and pulls events with `next_event()` until `EndOfMessage`.
`start_next_cycle()` then readies the connection for the next request if it can be reused.

One request at a time (the Engine API never needs pipelining). The parser is strict: anything
malformed raises `RemoteProtocolError`, and the connection refuses further use afterwards. A
response cut short by EOF (in its head, its chunks or before its Content-Length) is not malformed
but lost: `ConnectionLost`, as a daemon killed mid-exchange.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engineapi.errors import ConnectionLost, LocalProtocolError, RemoteProtocolError
from engineapi.http._events import (
    END_OF_MESSAGE,
    NEED_DATA,
    Data,
    EndOfMessage,
    Headers,
    NeedData,
    Response,
)

__all__ = ["ClientConnection", "Event"]

Event = Response | Data | EndOfMessage | NeedData

MAX_HEAD_SIZE = 64 * 1024
MAX_CHUNK_LINE = 4 * 1024

_STATUS_LINE = re.compile(r"HTTP/(1\.[01]) ([1-9][0-9][0-9])(?: ([^\r\n]*))?")
_TOKEN = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
# A field line: token, colon, value without CR/LF/NUL. Rejects obs-fold continuation lines
# and whitespace before the colon (RFC 9112 says a client must reject those).
_FIELD_BLOCK = re.compile(rf"(?:{_TOKEN}:[^\r\n\x00]*\r\n)*")
# Name, and value without its surrounding blanks, extracted in one C-level pass (findall
# gives "" for an empty value). The value is greedy to the line end and then backs off to
# its last non-blank: linear in a line's length, where a lazy value followed by `[ \t]*`
# would re-scan a run of blanks from every position (quadratic in the run's length).
_FIELD = re.compile(rf"({_TOKEN}):[ \t]*((?:[^\r\n]*[^\r\n \t])?)[ \t]*\r\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")

# "HTTP/1.1 200 OK" and the like, as status and reason: the few a daemon sends, each checked
# once. Bounded: a daemon sending ever new reason phrases does not grow it.
_STATUS_LINES: dict[str, tuple[int, str]] = {}
_STATUS_LINES_MAX = 64


def _usual_status_line(line: str) -> tuple[int, str] | None:
    """Status and reason of an ``HTTP/1.1`` status line; None for anything else (for the
    strict parse to judge)."""
    status = line[9:12]
    if (
        line[:9] == "HTTP/1.1 "
        and len(line) >= 12
        and status.isdigit()
        and status.isascii()
        and status[0] != "0"
        and line[12:13] in ("", " ")
        and "\r" not in line
        and "\n" not in line
        and "\x00" not in line
    ):
        known = (int(status), line[13:])
        if len(line) <= 64 and len(_STATUS_LINES) < _STATUS_LINES_MAX:
            _STATUS_LINES[line] = known
        return known
    return None


# Field lines seen before, as their lower-case name and value: a daemon's replies repeat
# most of theirs. Short lines only, and emptied when full: the memory stays small whatever the
# daemon sends, and what it sends now is soon back in.
_FIELD_LINES: dict[str, tuple[str, str]] = {}
_FIELD_LINES_MAX = 512
_FIELD_LINE_MAX = 256
_TOKEN_ONLY = re.compile(_TOKEN)


def _field_line(line: str) -> tuple[str, str] | None:
    """A field line's lower-case name and value without its surrounding blanks; None if it is
    not ``token ":" value`` with no CR, LF or NUL (for the strict parse to report)."""
    name, colon, value = line.partition(":")
    if (
        not colon
        or "\r" in value
        or "\n" in value
        or "\x00" in value
        or _TOKEN_ONLY.fullmatch(name) is None
    ):
        return None
    field = (name.lower(), value.strip(" \t"))
    if len(line) <= _FIELD_LINE_MAX:
        if len(_FIELD_LINES) >= _FIELD_LINES_MAX:
            _FIELD_LINES.clear()
        _FIELD_LINES[line] = field
    return field


def _new_field_lines(lines: list[str]) -> dict[str, str] | None:
    """`lines` as ``{lower-case name: value}``, each line checked (and remembered) unless it
    was seen before; None if one is malformed (for the strict parse to report)."""
    lookup: dict[str, str] = {}
    remembered = _FIELD_LINES.get
    for line in lines:
        field = remembered(line) or _field_line(line)
        if field is None:
            return None
        lookup[field[0]] = field[1]
    return lookup


# Whole heads seen before: a client repeating a call (a ping, a poll) within a second gets
# the same head back byte for byte. Each as its status, reason, headers and `_plain_length`.
# Bounded like the lines above.
_HEADS: dict[bytes, tuple[int, str, Headers, int]] = {}
_HEADS_MAX = 64
_HEAD_MAX = 2048


def _plain_length(response: Response) -> int:
    """The body's length when the head frames it by a plain Content-Length alone (no
    Transfer-Encoding, no "Connection: close", a status with a body); else -1."""
    fields = response.headers._lookup
    length = fields.get("content-length")
    if (
        length is None
        or not (length.isdigit() and length.isascii() and len(length) < 19)
        or "transfer-encoding" in fields
        or "close" in fields.get("connection", "").lower()
        or response.status < 200
        or response.status in (204, 304)
    ):
        return -1
    return int(length)


# Request fields checked before, as their lines ("Name: value\r\n"); bounded like the above.
_REQUEST_FIELDS: dict[tuple[str, str], str] = {}
_REQUEST_FIELDS_MAX = 256
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _request_field_lines(headers: list[tuple[str, str]], lines: list[str | None]) -> bool:
    """Fill in the lines of `headers` that `lines` lacks (None), each checked; whether one
    asks for an upgrade. Raises `LocalProtocolError` for a field that may not be sent."""
    upgrade = False
    for at, (name, value) in enumerate(headers):
        if lines[at] is not None:
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise LocalProtocolError(f"line break in header {name!r}")
        lname = name.lower()
        if lname in ("content-length", "transfer-encoding"):
            raise LocalProtocolError(f"{name} is set from the body framing, not by hand")
        line = lines[at] = f"{name}: {value}\r\n"
        if lname == "upgrade":
            upgrade = True  # not remembered: the flag goes with it
        elif len(line) <= _FIELD_LINE_MAX:
            if len(_REQUEST_FIELDS) >= _REQUEST_FIELDS_MAX:
                _REQUEST_FIELDS.clear()
            _REQUEST_FIELDS[name, value] = line
    return upgrade


# Response states
_IDLE = 0  # no request sent yet in this cycle
_HEAD = 1  # waiting for the response head
_BODY_LENGTH = 2  # Content-Length body
_BODY_CHUNK_SIZE = 3  # chunked: next chunk-size line
_BODY_CHUNK_DATA = 4  # chunked: inside a chunk
_BODY_CHUNK_CRLF = 5  # chunked: CRLF after chunk data
_BODY_TRAILERS = 6  # chunked: trailer section
_BODY_UNTIL_CLOSE = 7  # close-delimited body
_DONE = 8  # response complete
_SWITCHED = 9  # 101: the bytes are no longer HTTP
_ERROR = 10

# Request-body framing
_NO_BODY = 0
_LENGTH = 1
_CHUNKED = 2


class ClientConnection:
    """The HTTP/1.1 state of one client connection to the daemon."""

    __slots__ = (
        "_body_framing",
        "_body_remaining",
        "_buf",
        "_eof",
        "_keep_alive",
        "_pos",
        "_request_done",
        "_request_method",
        "_response",
        "_scanned",
        "_state",
        "_upgrade_requested",
        "bytes_received",
    )

    def __init__(self) -> None:
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self._scanned = 0  # how far the current head was searched for its end
        self._eof = False
        self._state = _IDLE
        self._keep_alive = True
        self._request_method = b""
        self._request_done = False
        self._upgrade_requested = False
        self._body_framing = _NO_BODY
        self._body_remaining = 0
        self._response: Response | None = None
        #: Bytes received for the current response; 0 means a failure may be retried safely.
        self.bytes_received = 0

    # -- sending -------------------------------------------------------------------------------

    def send_request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        *,
        body: bytes | None = None,
        content_length: int | None = None,
        chunked: bool = False,
    ) -> bytes:
        """Serialise a request head (and `body`, when given whole) and return the bytes to send.

        A streamed body is declared with `content_length` or `chunked=True`, then sent with
        `send_data()` and finished with `send_end()`. The caller supplies the Host header.
        """
        if self._state != _IDLE:
            raise LocalProtocolError("a request is already in progress on this connection")
        if body is not None and (chunked or content_length is not None):
            raise LocalProtocolError("give a whole body or declare a streamed one, not both")
        # Each field as its line, remembered once checked: a client sends the same few
        # (Host, User-Agent, Content-Type) with every request.
        if type(headers) is not list:
            headers = list(headers)
        try:
            lines: list[str | None] = list(map(_REQUEST_FIELDS.get, headers))
        except TypeError:  # a field given as a list, not a tuple: checked like a new one
            lines = [None] * len(headers)
        upgrade = False
        if None in lines:
            upgrade = _request_field_lines(headers, lines)
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n\r\n")
            self._body_framing = _NO_BODY
            self._request_done = True
        elif chunked:
            lines.append("Transfer-Encoding: chunked\r\n\r\n")
            self._body_framing = _CHUNKED
            self._request_done = False
        elif content_length is not None:
            lines.append(f"Content-Length: {content_length}\r\n\r\n")
            self._body_framing = _LENGTH
            self._body_remaining = content_length
            self._request_done = content_length == 0
        else:
            # Some daemons (and proxies) want an explicit empty body on these.
            lines.append("Content-Length: 0\r\n\r\n" if method in _WITH_BODY else "\r\n")
            self._body_framing = _NO_BODY
            self._request_done = True
        self._request_method = method.encode("ascii")
        self._upgrade_requested = upgrade
        self._state = _HEAD
        self.bytes_received = 0
        fields = "".join(lines)  # type: ignore[arg-type]  # no None left
        head = f"{method} {target} HTTP/1.1\r\n{fields}".encode("latin-1")
        return head + body if body else head

    def send_data(self, data: bytes) -> bytes:
        """Frame one piece of a streamed request body."""
        if self._request_done or self._state in (_IDLE, _ERROR):
            raise LocalProtocolError("no streamed request body is open")
        if not data:
            return b""
        if self._body_framing == _CHUNKED:
            return b"%x\r\n%b\r\n" % (len(data), data)
        if len(data) > self._body_remaining:
            self._state = _ERROR
            raise LocalProtocolError("request body is longer than its Content-Length")
        self._body_remaining -= len(data)
        return data

    def send_end(self) -> bytes:
        """Finish a streamed request body."""
        if self._request_done:
            return b""
        self._request_done = True
        if self._body_framing == _CHUNKED:
            return b"0\r\n\r\n"
        if self._body_remaining:
            self._state = _ERROR
            raise LocalProtocolError(
                f"request body is {self._body_remaining} bytes shorter than its Content-Length"
            )
        return b""

    # -- receiving -----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the connection; ``b""`` means the daemon closed it."""
        if not data:
            self._eof = True
            return
        self.bytes_received += len(data)
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            self._buf = data  # the common case: everything before was consumed, no copy
            self._scanned = 0
        elif isinstance(buf, bytearray):
            # Bytes kept waiting for more (a head or line arriving in small reads): grow in
            # place, so that many small reads cost linear time, not a copy each.
            del buf[:pos]
            buf += data
            self._scanned = max(0, self._scanned - pos)
        else:
            self._buf = bytearray(buf[pos:]) + data
            self._scanned = max(0, self._scanned - pos)
        self._pos = 0

    def receive_and_next_event(self, data: bytes) -> Event:
        """`receive_data(data)`, then `next_event()`: one call for the usual step of reading
        a response (the whole head, often the body too, in one read)."""
        if data and self._state == _HEAD and self._pos >= len(self._buf):
            # Nothing buffered before: take the bytes as they are, as `receive_data` would.
            self.bytes_received += len(data)
            self._buf = data
            self._pos = 0
            self._scanned = 0
            return self._read_head()
        self.receive_data(data)
        return self.next_event()

    def next_event(self) -> Event:
        """The next event of the current response, or `NEED_DATA`."""
        state = self._state
        if state == _BODY_LENGTH:
            return self._read_length_body()
        if state == _HEAD:
            if self._pos >= len(self._buf) and not self._eof:
                return NEED_DATA  # nothing to look at: each exchange's first ask
            return self._read_head()
        if _BODY_CHUNK_SIZE <= state <= _BODY_TRAILERS:
            return self._read_chunked()
        if state == _BODY_UNTIL_CLOSE:
            return self._read_until_close()
        if state == _DONE:
            return END_OF_MESSAGE
        if state == _ERROR:
            raise RemoteProtocolError("the connection is unusable after an earlier error")
        if state == _SWITCHED:
            raise LocalProtocolError("the connection switched protocols; use trailing_data")
        raise LocalProtocolError("no request has been sent")

    def _fail(self, message: str) -> RemoteProtocolError:
        self._state = _ERROR
        self._keep_alive = False
        return RemoteProtocolError(message)

    def _lost(self, message: str) -> ConnectionLost:
        """The daemon closed the connection before the response was complete: not a malformed
        response but a lost connection (a daemon killed or restarted mid-exchange)."""
        self._state = _ERROR
        self._keep_alive = False
        return ConnectionLost(message)

    def _read_head(self) -> Event:
        while True:
            buf, pos = self._buf, self._pos
            # Search only what was not searched before (less the 3 bytes a terminator split
            # across reads may begin with): re-scanning a head fed in small reads is quadratic.
            start = self._scanned - 3
            end = buf.find(b"\r\n\r\n", pos if start < pos else start)
            if end < 0:
                self._scanned = len(buf)
                if len(buf) - pos > MAX_HEAD_SIZE:
                    raise self._fail(f"response head larger than {MAX_HEAD_SIZE} bytes")
                if self._eof:
                    if len(buf) == pos and self.bytes_received == 0:
                        raise self._lost("the daemon closed the connection without a response")
                    raise self._lost("the daemon closed the connection inside a response head")
                return NEED_DATA
            if end - pos > MAX_HEAD_SIZE:
                raise self._fail(f"response head larger than {MAX_HEAD_SIZE} bytes")
            self._pos = end + 4
            self._scanned = 0
            head = buf[pos:end]
            # A head seen before, byte for byte (the same reply again within the second of
            # its Date): its status and headers are what they were (Headers is read-only).
            seen = _HEADS.get(head) if type(head) is bytes else None
            if seen is not None:
                response = Response(seen[0], seen[1], seen[2], "1.1")
                length = seen[3]
                if length >= 0 and self._request_method != b"HEAD":
                    # A plain Content-Length body, as `_start_body` found the first time.
                    self._response = response
                    self._body_remaining = length
                    self._state = _BODY_LENGTH if length else _DONE
                    return response
            else:
                response = self._parse_head(head.decode("latin-1"))
                if len(head) <= _HEAD_MAX and response.http_version == "1.1":
                    if len(_HEADS) >= _HEADS_MAX:
                        _HEADS.clear()
                    _HEADS[bytes(head)] = (
                        response.status,
                        response.reason,
                        response.headers,
                        _plain_length(response),
                    )
            status = response.status
            if 100 <= status < 200 and status != 101:
                continue  # interim response (100 Continue): the real one follows
            self._response = response
            self._start_body(response)
            return response

    def _parse_head(self, text: str) -> Response:
        """The head (its bytes decoded as latin-1, without the blank line that ends it)."""
        # The usual head first: an HTTP/1.1 status line and field lines each checked once and
        # remembered (most come again in the next reply), no name repeated. Whatever this path
        # does not take goes to the strict one below, which gives the same result or error.
        lines = text.split("\r\n")
        known = _STATUS_LINES.get(lines[0]) or _usual_status_line(lines[0])
        if known is not None:
            del lines[0]
            # Each line's lower-case name and value, as remembered from earlier heads: a daemon
            # repeats most of its lines (Api-Version, Server, Content-Type...) in every reply.
            lookup: dict[str, str] | None
            try:
                lookup = dict(map(_FIELD_LINES.get, lines))  # type: ignore[arg-type]
            except TypeError:  # a line not seen before (None): each looked at in turn
                lookup = _new_field_lines(lines)
            if lookup is not None and len(lookup) == len(lines):
                # (else malformed, or a repeated name, joined by the strict parse)
                return Response(known[0], known[1], Headers._parsed(lookup, lines), "1.1")
        return self._parse_head_strictly(text)

    def _parse_head_strictly(self, text: str) -> Response:
        # One C-level pass validates every field line, a second extracts them.
        line_end = text.find("\r\n")
        status_line = text if line_end < 0 else text[:line_end]
        match = _STATUS_LINE.fullmatch(status_line)
        if match is None:
            raise self._fail(f"malformed status line {status_line[:100]!r}")
        fields: list[tuple[str, str]] = []
        if line_end >= 0:
            block = text[line_end + 2 :] + "\r\n"
            if _FIELD_BLOCK.fullmatch(block) is None:
                raise self._fail(f"malformed header line in {block[:200]!r}")
            fields = _FIELD.findall(block)
        version, status, reason = match.groups()
        return Response(int(status), reason or "", Headers(fields), version)

    def _start_body(self, response: Response) -> None:
        headers = response.headers._lookup  # lower-case names: a plain dict lookup each
        status = response.status
        connection = (headers.get("connection") or "").lower()
        if response.http_version == "1.0":
            self._keep_alive = "keep-alive" in connection
        elif "close" in connection:
            self._keep_alive = False
        if status == 101:
            if not self._upgrade_requested:
                raise self._fail("the daemon switched protocols (101) without being asked to")
            self._state = _SWITCHED
            self._keep_alive = False
            return
        transfer_encoding = headers.get("transfer-encoding")
        content_length = headers.get("content-length")
        if self._request_method == b"HEAD" or status in (204, 304):
            self._state = _DONE
            return
        if transfer_encoding is not None:
            if content_length is not None:
                raise self._fail("response has both Transfer-Encoding and Content-Length")
            codings = [c.strip().lower() for c in transfer_encoding.split(",")]
            if codings != ["chunked"]:
                raise self._fail(f"unsupported Transfer-Encoding {transfer_encoding!r}")
            self._state = _BODY_CHUNK_SIZE
            return
        if content_length is not None:
            if content_length.isdigit() and content_length.isascii() and len(content_length) < 19:
                # The usual value, one plain number: the checks below would all pass.
                self._body_remaining = int(content_length)
                self._state = _BODY_LENGTH if self._body_remaining else _DONE
                return
            values = {v.strip() for v in content_length.split(",")}
            if len(values) != 1:
                raise self._fail(f"conflicting Content-Length {content_length!r}")
            (value,) = values
            if not value.isdigit() or not value.isascii():
                raise self._fail(f"invalid Content-Length {content_length[:40]!r}")
            if len(value) > 18:  # past 10**18 bytes: nonsense (and int() refuses 4300 digits)
                raise self._fail(f"Content-Length of {len(value)} digits is not a body size")
            self._body_remaining = int(value)
            self._state = _BODY_LENGTH if self._body_remaining else _DONE
            return
        self._keep_alive = False
        self._state = _BODY_UNTIL_CLOSE

    def _take(self, limit: int) -> bytes:
        """Up to `limit` buffered bytes, without copying when the whole buffer goes."""
        buf, pos = self._buf, self._pos
        available = len(buf) - pos
        if available <= limit:
            data = buf if pos == 0 else buf[pos:]
            self._buf = b""
            self._pos = 0
            return data if type(data) is bytes else bytes(data)
        self._pos = pos + limit
        piece = buf[pos : pos + limit]
        return piece if type(piece) is bytes else bytes(piece)

    def _read_length_body(self) -> Event:
        if self._pos < len(self._buf):
            data = self._take(self._body_remaining)
            self._body_remaining -= len(data)
            if not self._body_remaining:
                self._state = _DONE
            return Data(data)
        if self._body_remaining == 0:
            self._state = _DONE
            return END_OF_MESSAGE
        if self._eof:
            raise self._lost(
                f"the daemon closed the connection with {self._body_remaining} body bytes missing"
            )
        return NEED_DATA

    def take_whole_body(self) -> bytes | None:
        """The rest of the body if it is all buffered already (a Content-Length body), the
        response then complete; else None (read it with `next_event()`). A shortcut for the
        usual small reply: no `Data` and `EndOfMessage` events to go through."""
        state = self._state
        if state == _DONE:
            return b""
        if state != _BODY_LENGTH or len(self._buf) - self._pos < self._body_remaining:
            return None
        buf, pos = self._buf, self._pos
        if len(buf) - pos == self._body_remaining and type(buf) is bytes:
            # The body ends the buffer: the usual small reply, read whole with its head.
            data = buf[pos:] if pos else buf
            self._buf = b""
            self._pos = 0
        else:
            data = self._take(self._body_remaining)
        self._body_remaining = 0
        self._state = _DONE
        return data

    def _read_until_close(self) -> Event:
        if self._pos < len(self._buf):
            return Data(self._take(len(self._buf)))
        if self._eof:
            self._state = _DONE
            return END_OF_MESSAGE
        return NEED_DATA

    def _read_chunked(self) -> Event:
        while True:
            state = self._state
            buf, pos = self._buf, self._pos
            if state == _BODY_CHUNK_DATA:
                if pos < len(buf):
                    data = self._take(self._body_remaining)
                    self._body_remaining -= len(data)
                    if not self._body_remaining:
                        self._state = _BODY_CHUNK_CRLF
                    return Data(data)
            elif state == _BODY_CHUNK_CRLF:
                if len(buf) - pos >= 2:
                    if buf[pos : pos + 2] != b"\r\n":
                        raise self._fail("chunk data not followed by CRLF")
                    self._pos = pos + 2
                    self._state = _BODY_CHUNK_SIZE
                    continue
            else:
                end = buf.find(b"\r\n", pos)
                if end >= 0:
                    line = buf[pos:end]
                    if len(line) > MAX_CHUNK_LINE:  # the same limit however the bytes arrive
                        raise self._fail("chunk size or trailer line too long")
                    self._pos = end + 2
                    if state == _BODY_TRAILERS:
                        if not line:
                            self._state = _DONE
                            return END_OF_MESSAGE
                        continue  # trailer fields are not used by the Engine API
                    match = _CHUNK_SIZE.fullmatch(line)
                    if match is None:
                        raise self._fail(f"malformed chunk size line {line[:40]!r}")
                    size = int(match.group(1), 16)
                    if size == 0:
                        self._state = _BODY_TRAILERS
                    else:
                        self._body_remaining = size
                        self._state = _BODY_CHUNK_DATA
                    continue
                if len(buf) - pos > MAX_CHUNK_LINE:
                    raise self._fail("chunk size or trailer line too long")
            if self._eof:
                raise self._lost("the daemon closed the connection inside a chunked body")
            return NEED_DATA

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def response(self) -> Response | None:
        """The head of the current response, once received."""
        return self._response

    @property
    def response_complete(self) -> bool:
        return self._state == _DONE

    @property
    def switched_protocol(self) -> bool:
        """True after a `101 Switching Protocols`: the socket now carries raw bytes."""
        return self._state == _SWITCHED

    @property
    def upgrade_requested(self) -> bool:
        return self._upgrade_requested

    @property
    def trailing_data(self) -> bytes:
        """Bytes buffered after the 101 head: the start of the raw stream, never drop them."""
        return bytes(self._buf[self._pos :])

    @property
    def reusable(self) -> bool:
        """Whether the next request may go on this connection (keep-alive, clean finish)."""
        return (
            self._state == _DONE
            and self._keep_alive
            and self._request_done
            and not self._eof
            and self._pos >= len(self._buf)
        )

    def start_next_cycle(self) -> None:
        """Reset for the next request. Only valid when `reusable`."""
        if not (  # `reusable`, inlined: every request passes here
            self._state == _DONE
            and self._keep_alive
            and self._request_done
            and not self._eof
            and self._pos >= len(self._buf)
        ):
            raise LocalProtocolError("this connection cannot carry another request")
        self._state = _IDLE
        self._response = None
        self._buf = b""
        self._pos = 0
        self.bytes_received = 0
