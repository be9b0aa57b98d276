"""Scrubbing: secrets are replaced by placeholders before a cassette is written.

What is always scrubbed:

- the request headers ``X-Registry-Auth``, ``X-Registry-Config``, ``Authorization`` and
  ``Proxy-Authorization`` (their whole value);
- the body of ``POST /auth``: every field but ``serveraddress``;
- in any JSON body or streamed piece, the string values of the keys ``password``, ``auth``,
  ``identitytoken`` and ``registrytoken`` (any case) — identity tokens included;

and, everywhere (path, query, header values, bodies, chunks, hijacked bytes), anything matching
the patterns you give: regular expressions (`patterns`) or literal strings (`secrets`).

The replayer scrubs the requests it receives with the same `Scrubber` before matching them, so a
test that sends real credentials still matches its scrubbed cassette.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import attrs

from engineapi.replay._cassette import Exchange, HijackStep, Request, Response, dumps_compact

__all__ = ["PLACEHOLDER", "SECRET_HEADERS", "SECRET_KEYS", "Scrubber"]

PLACEHOLDER = "<scrubbed>"
SECRET_HEADERS = ("X-Registry-Auth", "X-Registry-Config", "Authorization", "Proxy-Authorization")
SECRET_KEYS = ("password", "auth", "identitytoken", "registrytoken")
#: In a ``POST /auth`` body, the only field kept.
_AUTH_KEEP = frozenset({"serveraddress"})


class Scrubber:
    """Replaces secrets by `placeholder` in exchanges (see the module docstring)."""

    def __init__(
        self,
        patterns: Iterable[str | re.Pattern[str]] = (),
        *,
        secrets: Iterable[str] = (),
        headers: Iterable[str] = SECRET_HEADERS,
        json_keys: Iterable[str] = SECRET_KEYS,
        placeholder: str = PLACEHOLDER,
    ) -> None:
        compiled: list[re.Pattern[str]] = [
            p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns
        ]
        compiled += [re.compile(re.escape(s)) for s in secrets if s]
        self.placeholder = placeholder
        self._text_patterns = compiled
        self._byte_patterns = [
            re.compile(p.pattern.encode("utf-8"), p.flags & ~re.UNICODE) for p in compiled
        ]
        self._placeholder_bytes = placeholder.encode("utf-8")
        self._headers = frozenset(h.lower() for h in headers)
        self._json_keys = frozenset(k.lower() for k in json_keys)

    # -- values ----------------------------------------------------------------------------------

    def text(self, value: str) -> str:
        for pattern in self._text_patterns:
            value = pattern.sub(self.placeholder, value)
        return value

    def data(self, value: bytes) -> bytes:
        for pattern in self._byte_patterns:
            value = pattern.sub(self._placeholder_bytes, value)
        return value

    def pieces(self, pieces: list[bytes]) -> list[bytes]:
        """Scrub a sequence of pieces as one stream (a secret may straddle two pieces).

        A match is replaced in the piece where it starts; pieces left empty are dropped.
        """
        return [piece for piece in self._aligned(pieces) if piece]

    def _aligned(self, pieces: list[bytes]) -> list[bytes]:
        """`pieces` scrubbed as one stream, one output per input (some may become empty)."""
        if not self._byte_patterns or not pieces:
            return pieces
        joined = b"".join(pieces)
        spans: list[tuple[int, int]] = []
        for pattern in self._byte_patterns:
            spans += [m.span() for m in pattern.finditer(joined) if m.end() > m.start()]
        if not spans:
            return pieces
        spans = _merge(spans)
        out: list[bytes] = []
        start = 0
        span_index = 0
        for piece in pieces:
            end = start + len(piece)
            buf = bytearray()
            pos = start
            while pos < end:
                while span_index < len(spans) and spans[span_index][1] <= pos:
                    span_index += 1
                if span_index < len(spans) and spans[span_index][0] <= pos:
                    # inside a match: emit the placeholder once, where the match starts
                    s, e = spans[span_index]
                    if s == pos:
                        buf += self._placeholder_bytes
                    pos = min(e, end)
                    continue
                next_start = spans[span_index][0] if span_index < len(spans) else end
                stop = min(next_start, end)
                buf += joined[pos:stop]
                pos = stop
            out.append(bytes(buf))
            start = end
        return out

    def _json(self, value: Any, *, everything_but: frozenset[str] | None = None) -> Any:
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                lkey = key.lower() if isinstance(key, str) else key
                if everything_but is not None:
                    secret = lkey not in everything_but
                else:
                    secret = lkey in self._json_keys
                if secret and isinstance(item, str) and item:
                    result[key] = self.placeholder
                else:
                    result[key] = self._json(item)
            return result
        if isinstance(value, list):
            return [self._json(item) for item in value]
        return value

    def body(self, data: bytes, *, auth_request: bool = False) -> bytes:
        """Scrub one body or piece: JSON secrets first, then the patterns."""
        return self.data(self._structural(data, auth_request=auth_request))

    def _structural(self, data: bytes, *, auth_request: bool = False) -> bytes:
        if data[:1] in (b"{", b"["):
            try:
                value = json.loads(data)
            except ValueError:
                pass
            else:
                scrubbed = self._json(value, everything_but=_AUTH_KEEP if auth_request else None)
                if scrubbed != value:
                    newline = b"\n" if data.endswith(b"\n") else b""
                    data = dumps_compact(scrubbed).encode() + newline
        elif auth_request and data:
            data = self._placeholder_bytes
        return data

    def headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [
            (name, self.placeholder if name.lower() in self._headers else self.text(value))
            for name, value in headers
        ]

    # -- exchanges -------------------------------------------------------------------------------

    def request(self, request: Request) -> Request:
        auth = request.method == "POST" and request.path == "/auth"
        return attrs.evolve(
            request,
            path=self.text(request.path),
            query=[(self.text(n), self.text(v)) for n, v in request.query],
            headers=self.headers(request.headers),
            body=self.body(request.body, auth_request=auth) if request.body else b"",
        )

    def response(self, response: Response) -> Response:
        chunks = response.chunks
        if chunks is not None:
            chunks = self.pieces([self._structural(chunk) for chunk in chunks])
        return attrs.evolve(
            response,
            reason=self.text(response.reason),
            headers=self.headers(response.headers),
            body=self.body(response.body) if response.body else response.body,
            chunks=chunks,
        )

    def hijack(self, steps: list[HijackStep]) -> list[HijackStep]:
        """Scrub each direction as one stream, keeping the steps' order."""
        result = list(steps)
        for source in ("client", "daemon"):
            indexes = [i for i, s in enumerate(steps) if s.source == source and s.data]
            scrubbed = self._aligned([steps[i].data for i in indexes])
            for i, data in zip(indexes, scrubbed, strict=True):
                result[i] = attrs.evolve(steps[i], data=data)
        return [s for s in result if s.data or s.close_write or s.eof]

    def exchange(self, exchange: Exchange) -> Exchange:
        return Exchange(
            request=self.request(exchange.request),
            response=self.response(exchange.response) if exchange.response else None,
            hijack=self.hijack(exchange.hijack) if exchange.hijack is not None else None,
        )


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged
