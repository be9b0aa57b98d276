"""The daemon's multiplexed stream ("stdcopy"): logs, attach and exec without a TTY.

Each frame is an 8-byte header — stream id, three zero bytes, big-endian payload size — and the
payload. Stream 0 (stdin, echoed) and 1 are stdout, 2 is stderr, and 3 carries an error the
daemon hit while streaming: it is raised as `StreamError`, never handed over as output.

Whether a body is multiplexed is decided by the caller from the ``Content-Type`` header
(`application/vnd.docker.multiplexed-stream` vs `…raw-stream`, API ≥ 1.42) or, on older engines,
from the container's (or exec's) TTY flag — never by sniffing the bytes.
"""

from __future__ import annotations

import struct
from typing import Final

from engineapi.errors import RemoteProtocolError, StreamError

__all__ = [
    "MULTIPLEXED",
    "RAW",
    "STDERR",
    "STDIN",
    "STDOUT",
    "Frame",
    "StdcopyDecoder",
    "is_multiplexed",
]

STDIN: Final = 0
STDOUT: Final = 1
STDERR: Final = 2
_SYSTEM_ERROR: Final = 3

MULTIPLEXED: Final = "application/vnd.docker.multiplexed-stream"
RAW: Final = "application/vnd.docker.raw-stream"

#: One piece of output: (STDOUT or STDERR, bytes).
Frame = tuple[int, bytes]

_HEADER = 8
# The header's first word is the stream id followed by three zero bytes: look both up at once.
_HEADER_STRUCT = struct.Struct(">LL")
_STREAM_OF_WORD = {0 << 24: STDOUT, 1 << 24: STDOUT, 2 << 24: STDERR, 3 << 24: _SYSTEM_ERROR}


def is_multiplexed(content_type: str | None, tty: bool | None) -> bool | None:
    """Whether a body is multiplexed: from its Content-Type if it says, else from the TTY flag
    (a TTY stream is raw). ``None`` when neither tells."""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media == MULTIPLEXED:
            return True
        if media == RAW:
            return False
    if tty is None:
        return None
    return not tty


#: How much of a stream-3 (error) frame is kept for the message.
_ERROR_LIMIT: Final = 64 * 1024


class StdcopyDecoder:
    """Feed body pieces, get frames. Time and memory stay linear however large a frame and
    however small the reads: a frame's payload is handed over piece by piece as it arrives
    (a large frame may come as several ``(stream, bytes)`` of the same stream); only a
    header split across reads is kept back.

    A stream-3 frame is the daemon's error: the output decoded before it is returned first,
    and the `StreamError` is raised by the next `feed()` or by `end()`.
    """

    __slots__ = ("_error", "_header", "_message", "_remaining", "_stream")

    def __init__(self) -> None:
        self._header = b""  # part of a header split across reads
        self._stream = STDOUT  # the stream of the frame being read
        self._remaining = 0  # payload bytes of that frame still to come
        self._message: list[bytes] = []  # a stream-3 payload, up to _ERROR_LIMIT
        self._error: StreamError | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """The output completed by `data`. Raises the `StreamError` of a stream-3 frame fed
        earlier (the output before it was returned then)."""
        if self._error is not None:
            raise self._error
        frames: list[Frame] = []
        append = frames.append
        unpack = _HEADER_STRUCT.unpack_from
        streams = _STREAM_OF_WORD
        buf = data
        size = len(buf)
        pos = 0
        if self._remaining:  # the rest of a frame begun in an earlier read
            take = min(self._remaining, size)
            self._payload(buf[:take], append)
            self._remaining -= take
            pos = take
            if self._remaining:
                return frames
            if self._stream == _SYSTEM_ERROR:
                return self._raise_later(frames)
        if self._header:
            buf = self._header + buf[pos:]
            size = len(buf)
            pos = 0
            self._header = b""
        while pos < size:
            if size - pos < _HEADER:
                self._header = buf[pos:]
                break
            word, length = unpack(buf, pos)
            stream = streams.get(word)
            if stream is None:
                raise RemoteProtocolError(
                    f"malformed multiplexed stream header {buf[pos : pos + 8]!r}"
                )
            start = pos + _HEADER
            end = start + length
            self._stream = stream
            if end > size:  # the payload continues in later reads
                self._payload(buf[start:], append)
                self._remaining = end - size
                break
            self._payload(buf[start:end], append)
            pos = end
            if stream == _SYSTEM_ERROR:
                return self._raise_later(frames)
        return frames

    def _payload(self, piece: bytes, append: object) -> None:
        if not piece:
            return
        if self._stream == _SYSTEM_ERROR:
            kept = sum(len(p) for p in self._message)
            if kept < _ERROR_LIMIT:
                self._message.append(piece[: _ERROR_LIMIT - kept])
            return
        append((self._stream, piece))  # type: ignore[operator]

    def _raise_later(self, frames: list[Frame]) -> list[Frame]:
        message = b"".join(self._message).decode("utf-8", "replace").strip()
        self._message = []
        self._error = StreamError(message)
        if frames:
            return frames
        raise self._error

    def end(self) -> list[Frame]:
        """At the end of the body: a pending stream-3 error is raised, a partial frame left
        over is an error."""
        if self._error is not None:
            raise self._error
        if self._header or self._remaining:
            left = len(self._header) or self._remaining
            self._header, self._remaining = b"", 0
            raise RemoteProtocolError(
                f"the multiplexed stream ended inside a frame ({left} bytes left)"
            )
        return []


def encode_frame(stream: int, payload: bytes) -> bytes:
    """A frame as the daemon writes it (for tests and the replay daemon)."""
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload
