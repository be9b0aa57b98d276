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


class JSONLinesDecoder:
    """Feed body pieces with `feed()`, get the complete JSON values decoded so far."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Any]:
        """The values completed by `data` (possibly none)."""
        if self._pending:
            data = self._pending + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending = data
            return []
        self._pending = data[cut + 1 :]
        values: list[Any] = []
        for line in data[:cut].split(b"\n"):
            line = line.strip(_WHITESPACE)
            if line:
                values.extend(_decode_line(line))
        return values

    def end(self) -> list[Any]:
        """The values left when the body ends; a truncated value is an error."""
        rest, self._pending = self._pending.strip(_WHITESPACE), b""
        return _decode_line(rest) if rest else []


def _decode_line(line: bytes) -> list[Any]:
    try:
        return [json.loads(line)]
    except ValueError:
        pass
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
    return values
