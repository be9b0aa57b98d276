"""A small sans-IO HTTP/1.1 request parser: the daemon's side of the wire.

The recorder and the replayer both need to see requests as the daemon would: a head (method,
target, headers), then the body, framed by ``Content-Length`` or ``Transfer-Encoding: chunked``
(or absent). Same shape as `engineapi.http.ClientConnection`: feed bytes with `receive_data()`,
pull events with `next_event()` until `NEED_DATA`. After an `EndOfMessage` the parser is ready
for the next request on the same connection; after a request that asked for a protocol upgrade
the caller stops parsing and takes `trailing_data` (the first bytes of the raw stream).

Only what a client of the Engine API sends is accepted; anything else raises
`LocalProtocolError` (the bytes come from our own side of the connection).
"""

from __future__ import annotations

import re

from engineapi.errors import LocalProtocolError
from engineapi.http import NEED_DATA, Data, EndOfMessage, NeedData

__all__ = ["RequestHead", "RequestParser"]

MAX_HEAD_SIZE = 64 * 1024

_REQUEST_LINE = re.compile(r"([A-Z]+) (\S+) HTTP/1\.[01]")
_FIELD = re.compile(r"([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")

_HEAD = 0
_LENGTH = 1
_CHUNK_SIZE_LINE = 2
_CHUNK_DATA = 3
_CHUNK_CRLF = 4
_TRAILERS = 5
_END = 6


class RequestHead:
    """A request line and its header fields, in order, as sent."""

    __slots__ = ("headers", "method", "target")

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]]) -> None:
        self.method = method
        self.target = target
        self.headers = headers

    def get(self, name: str) -> str | None:
        """The value of a header (case-insensitive; repeated fields joined with ", ")."""
        values = [v for n, v in self.headers if n.lower() == name]
        return ", ".join(values) if values else None

    def __repr__(self) -> str:
        return f"RequestHead({self.method} {self.target})"


Event = RequestHead | Data | EndOfMessage | NeedData


class RequestParser:
    """Parses the requests a client writes on one connection."""

    __slots__ = ("_buf", "_remaining", "_state")

    def __init__(self) -> None:
        self._buf = b""
        self._state = _HEAD
        self._remaining = 0

    def receive_data(self, data: bytes) -> None:
        self._buf += data

    @property
    def trailing_data(self) -> bytes:
        """Bytes received beyond the last complete request."""
        return self._buf

    @property
    def idle(self) -> bool:
        """True between requests, with nothing buffered."""
        return self._state == _HEAD and not self._buf

    def next_event(self) -> Event:
        while True:
            state = self._state
            buf = self._buf
            if state == _END:
                self._state = _HEAD
                return EndOfMessage()
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD_SIZE:
                        raise LocalProtocolError("request head too large")
                    return NEED_DATA
                self._buf = buf[end + 4 :]
                return self._start(buf[:end])
            if state == _LENGTH:
                if not buf:
                    return NEED_DATA
                data, self._buf = buf[: self._remaining], buf[self._remaining :]
                self._remaining -= len(data)
                if not self._remaining:
                    self._state = _END
                return Data(data)
            if state == _CHUNK_DATA:
                if not buf:
                    return NEED_DATA
                data, self._buf = buf[: self._remaining], buf[self._remaining :]
                self._remaining -= len(data)
                if not self._remaining:
                    self._state = _CHUNK_CRLF
                return Data(data)
            if state == _CHUNK_CRLF:
                if len(buf) < 2:
                    return NEED_DATA
                if buf[:2] != b"\r\n":
                    raise LocalProtocolError("chunk data not followed by CRLF")
                self._buf = buf[2:]
                self._state = _CHUNK_SIZE_LINE
                continue
            # chunk-size line or a trailer line
            end = buf.find(b"\r\n")
            if end < 0:
                return NEED_DATA
            line, self._buf = buf[:end], buf[end + 2 :]
            if state == _TRAILERS:
                if not line:
                    self._state = _END
                continue
            match = _CHUNK_SIZE.fullmatch(line)
            if match is None:
                raise LocalProtocolError(f"malformed chunk size line {line[:40]!r}")
            size = int(match.group(1), 16)
            if size:
                self._remaining = size
                self._state = _CHUNK_DATA
            else:
                self._state = _TRAILERS

    def _start(self, head: bytes) -> RequestHead:
        lines = head.decode("latin-1").split("\r\n")
        match = _REQUEST_LINE.fullmatch(lines[0])
        if match is None:
            raise LocalProtocolError(f"malformed request line {lines[0][:100]!r}")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            field = _FIELD.fullmatch(line)
            if field is None:
                raise LocalProtocolError(f"malformed header line {line[:100]!r}")
            headers.append((field.group(1), field.group(2)))
        request = RequestHead(match.group(1), match.group(2), headers)
        transfer_encoding = request.get("transfer-encoding")
        content_length = request.get("content-length")
        if transfer_encoding is not None:
            if transfer_encoding.strip().lower() != "chunked":
                raise LocalProtocolError(f"unsupported Transfer-Encoding {transfer_encoding!r}")
            self._state = _CHUNK_SIZE_LINE
        elif content_length is not None and content_length.strip() not in ("", "0"):
            if not content_length.strip().isdigit():
                raise LocalProtocolError(f"invalid Content-Length {content_length!r}")
            self._remaining = int(content_length)
            self._state = _LENGTH
        else:
            self._state = _END
        return request
