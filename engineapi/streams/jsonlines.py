"""JSON-lines bodies: events, stats, pull/push/build progress.

The daemon writes one JSON object per line (``\\n`` or ``\\r\\n``); old engines and some
endpoints also run objects together without a separator. Objects may be split across reads.
"""

from __future__ import annotations

import json
from typing import Any

from engineapi.errors import RemoteProtocolError

__all__ = ["JSONLinesDecoder"]

_decoder = json.JSONDecoder()
_WHITESPACE = b" \t\r\n"


#: The longest JSON line accepted: an event, a stats sample or a progress message is a few
#: KiB; a daemon (or a proxy) sending one endless line must not fill memory.
MAX_LINE = 16 * 1024 * 1024


class JSONLinesDecoder:
    """Feed body pieces with `feed()`, get the complete JSON values decoded so far.

    An unfinished line is kept as a list of pieces and joined once, when its end comes, so a
    long line arriving in small reads costs linear time; a line past `max_line` bytes is a
    `RemoteProtocolError`, whether it arrives in one read or many.
    """

    __slots__ = ("_pending", "_pending_size", "max_line")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.max_line = max_line

    def feed(self, data: bytes) -> list[Any]:
        """The values completed by `data` (possibly none)."""
        cut = data.rfind(b"\n")
        if cut < 0:
            self._keep(data)
            return []
        head = data[:cut]
        if self._pending:
            self._pending.append(head)
            head = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        self._keep(data[cut + 1 :])
        values: list[Any] = []
        for line in head.split(b"\n"):
            if len(line) > self.max_line:
                raise _too_long(self.max_line)
            line = line.strip(_WHITESPACE)
            if line:
                values.extend(_decode_line(line))
        return values

    def _keep(self, piece: bytes) -> None:
        if piece:
            self._pending.append(piece)
            self._pending_size += len(piece)
            if self._pending_size > self.max_line:
                raise _too_long(self.max_line)

    def end(self) -> list[Any]:
        """The values left when the body ends; a truncated value is an error."""
        rest = b"".join(self._pending).strip(_WHITESPACE)
        self._pending.clear()
        self._pending_size = 0
        return _decode_line(rest) if rest else []


def _too_long(limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(f"a JSON line in the stream is longer than {limit} bytes")


def _decode_line(line: bytes) -> list[Any]:
    try:
        return [json.loads(line)]
    except ValueError:
        pass
    except RecursionError:
        raise RemoteProtocolError("a JSON value in the stream is nested too deeply") from None
    # Several values run together on one line ({...}{...}).
    text = line.decode("utf-8", "replace")
    values: list[Any] = []
    index = 0
    try:
        while index < len(text):
            value, index = _decoder.raw_decode(text, index)
            values.append(value)
            while index < len(text) and text[index] in " \t\r\n":
                index += 1
    except ValueError as exc:
        raise RemoteProtocolError(f"malformed JSON in a stream: {line[:200]!r}") from exc
    except RecursionError:
        raise RemoteProtocolError("a JSON value in the stream is nested too deeply") from None
    return values
