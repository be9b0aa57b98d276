"""Scrubbing: secrets are replaced by placeholders before a cassette is written.

What is always scrubbed:

- the request headers ``X-Registry-Auth``, ``X-Registry-Config``, ``Authorization`` and
  ``Proxy-Authorization`` (their whole value);
- the body of ``POST /auth``: every field but ``serveraddress``;
- in any JSON body, and in every JSON line of a stream once its pieces are joined (a value may
  straddle two pieces), the string values of the keys ``password``, ``auth``,
  ``identitytoken``, ``registrytoken`` and ``secret`` (any case) — identity tokens included;
- the ``Data`` of a secret sent with ``POST /secrets/create`` or ``/secrets/{id}/update``;

and, everywhere (path, query, header values, bodies, chunks, hijacked bytes), anything matching
the patterns you give: regular expressions (`patterns`) or literal strings (`secrets`), a
literal also in its base64 forms (standard and URL-safe, at any alignment inside a longer
base64 text), as secrets travel base64-encoded in ``X-Registry-Auth`` and secret payloads.

The replayer scrubs the requests it receives with the same `Scrubber` before matching them, so a
test that sends real credentials still matches its scrubbed cassette.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any

import attrs

from engineapi.replay._cassette import Exchange, HijackStep, Request, Response, dumps_compact

__all__ = ["PLACEHOLDER", "SECRET_HEADERS", "SECRET_KEYS", "Scrubber"]

PLACEHOLDER = "<scrubbed>"
SECRET_HEADERS = ("X-Registry-Auth", "X-Registry-Config", "Authorization", "Proxy-Authorization")
SECRET_KEYS = ("password", "auth", "identitytoken", "registrytoken", "secret")
#: Requests whose JSON ``Data`` is a secret's payload (base64).
_SECRET_PAYLOAD = re.compile(r"^/secrets/(create|[^/]+/update)$")
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
        for secret in secrets:
            if secret:
                compiled += [re.compile(re.escape(form)) for form in _literal_forms(secret)]
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

    def _json(
        self,
        value: Any,
        *,
        everything_but: frozenset[str] | None = None,
        also: frozenset[str] = frozenset(),
    ) -> Any:
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                lkey = key.lower() if isinstance(key, str) else key
                if everything_but is not None:
                    secret = lkey not in everything_but
                else:
                    secret = lkey in self._json_keys or lkey in also
                if secret and isinstance(item, str) and item:
                    result[key] = self.placeholder
                else:
                    result[key] = self._json(item)
            return result
        if isinstance(value, list):
            return [self._json(item) for item in value]
        return value

    def body(
        self, data: bytes, *, auth_request: bool = False, also: frozenset[str] = frozenset()
    ) -> bytes:
        """Scrub one body: JSON secrets first (the whole document, or each of its JSON lines),
        then the patterns."""
        return self.data(self._structural(data, auth_request=auth_request, also=also))

    def _structural(
        self, data: bytes, *, auth_request: bool = False, also: frozenset[str] = frozenset()
    ) -> bytes:
        if auth_request:
            value = _json_or_none(data)
            if value is None:
                return self._placeholder_bytes if data else data
            scrubbed = self._json(value, everything_but=_AUTH_KEEP)
            return dumps_compact(scrubbed).encode() + (b"\n" if data.endswith(b"\n") else b"")
        value = _json_or_none(data)
        if value is not None:  # one document, however it is spaced
            scrubbed = self._json(value, also=also)
            if scrubbed == value:
                return data
            return dumps_compact(scrubbed).encode() + (b"\n" if data.endswith(b"\n") else b"")
        if b"\n" not in data.strip():
            return data
        lines = data.split(b"\n")  # JSON lines: each on its own
        changed = False
        for index, line in enumerate(lines):
            value = _json_or_none(line)
            if value is None:
                continue
            scrubbed = self._json(value, also=also)
            if scrubbed != value:
                lines[index] = dumps_compact(scrubbed).encode()
                changed = True
        return b"\n".join(lines) if changed else data

    def headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [
            (name, self.placeholder if name.lower() in self._headers else self.text(value))
            for name, value in headers
        ]

    # -- exchanges -------------------------------------------------------------------------------

    def request(self, request: Request) -> Request:
        auth = request.method == "POST" and request.path == "/auth"
        payload = request.method == "POST" and _SECRET_PAYLOAD.match(request.path) is not None
        body = b""
        if request.body:
            body = self.body(
                request.body, auth_request=auth, also=frozenset({"data"}) if payload else _NONE
            )
        return attrs.evolve(
            request,
            path=self.text(request.path),
            query=[(self.text(n), self.text(v)) for n, v in request.query],
            headers=self.headers(request.headers),
            body=body,
        )

    def response(self, response: Response) -> Response:
        chunks = response.chunks
        if chunks is not None:
            chunks = self._stream(chunks)
        return attrs.evolve(
            response,
            reason=self.text(response.reason),
            headers=self.headers(response.headers),
            body=self.body(response.body) if response.body else response.body,
            chunks=chunks,
        )

    def _stream(self, chunks: list[bytes]) -> list[bytes]:
        """A chunked body scrubbed as one stream: structurally once its pieces are joined (a
        JSON value split across pieces, several lines in one piece), then by the patterns.
        When the structure changed, the pieces become one per line."""
        joined = b"".join(chunks)
        scrubbed = self._structural(joined)
        if scrubbed != joined:
            chunks = [line for line in scrubbed.splitlines(keepends=True) if line]
        return self.pieces(chunks)

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


_NONE: frozenset[str] = frozenset()


def _json_or_none(data: bytes) -> Any:
    """`data` as one JSON value (leading and trailing space allowed), or None."""
    if data.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _literal_forms(secret: str) -> list[str]:
    """`secret` and its base64 forms: the text that encodes it at each of the three
    alignments it can have inside a longer base64 text (standard and URL-safe alphabets)."""
    raw = secret.encode("utf-8")
    forms = [secret]
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        # The characters that depend on the secret's bytes alone.
        first = -(-offset * 8 // 6)  # ceil(offset * 8 / 6)
        last = (offset + len(raw)) * 8 // 6
        middle = encoded[first:last]
        if len(middle) >= 8:
            forms += [middle, middle.replace("+", "-").replace("/", "_")]
    return list(dict.fromkeys(forms))
