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


class StdcopyDecoder:
    """Feed body pieces, get complete frames; a frame split across reads is kept for later."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data`. Raises `StreamError` on a stream-3 frame."""
        buf = self._pending + data if self._pending else data
        size = len(buf)
        pos = 0
        frames: list[Frame] = []
        append = frames.append
        unpack = _HEADER_STRUCT.unpack_from
        streams = _STREAM_OF_WORD
        while size - pos >= _HEADER:
            word, length = unpack(buf, pos)
            stream = streams.get(word)
            end = pos + _HEADER + length
            if stream is None:
                raise RemoteProtocolError(
                    f"malformed multiplexed stream header {buf[pos : pos + 8]!r}"
                )
            if end > size:
                break
            if stream == _SYSTEM_ERROR:
                message = buf[pos + _HEADER : end].decode("utf-8", "replace").strip()
                raise StreamError(message)
            append((stream, buf[pos + _HEADER : end]))
            pos = end
        self._pending = buf[pos:] if pos < size else b""
        return frames

    def end(self) -> list[Frame]:
        """At the end of the body: a partial frame left over is an error."""
        if self._pending:
            pending, self._pending = self._pending, b""
            raise RemoteProtocolError(
                f"the multiplexed stream ended inside a frame ({len(pending)} bytes left)"
            )
        return []


def encode_frame(stream: int, payload: bytes) -> bytes:
    """A frame as the daemon writes it (for tests and the replay daemon)."""
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload
