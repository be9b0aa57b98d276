"""The cassette: what one scenario said to the daemon and what the daemon answered.

In memory a cassette is plain objects holding bytes; on disk it is one pretty-printed JSON file,
keys in a fixed order, so that a re-recording shows up as a readable diff::

    {
      "engineapi_cassette": 1,
      "meta": {"engine": "docker28", "server": "Docker/28.5.1 (linux)",
               "engine_version": "28.5.1", "api_version": "1.51", "negotiated": true,
               "host": "unix:///run/engineapi/docker28.sock",
               "recorded_at": "2026-11-28T15:16:51Z", "engineapi_version": "0.1.0"},
      "volatile": ["GET /info response.body"],
      "exchanges": [
        {"request": {"method": "HEAD", "path": "/_ping"},
         "response": {"status": 200, "reason": "OK", "headers": {"Api-Version": "1.51", …}}},
        {"request": {"method": "GET", "path": "/events",
                     "query": {"since": "1795878000", "filters": "{\"label\":[\"a=b\"]}"}},
         "response": {"status": 200, "reason": "OK", "headers": {…},
                      "chunks": [{"json": {"Type": "container", "Action": "create", …}}, …]}},
        {"request": {"method": "POST", "path": "/containers/0123…/attach", …},
         "response": {"status": 101, "reason": "UPGRADED", "headers": {…}},
         "hijack": [{"from": "client", "data": "hello\n"},
                    {"from": "client", "close_write": true},
                    {"from": "daemon", "data": {"frames": [{"stdout": "hello\n"}]}},
                    {"from": "daemon", "eof": true}]}
      ]
    }

Requests: the path is stored without its ``/v1.NN`` prefix (the version is in ``meta``); the
query is decoded (a repeated name holds a list); ``Host``, ``User-Agent`` and the framing headers
are left out. Responses: ``Date`` is dropped; ``Content-Length``/``Transfer-Encoding`` are implied
by the body: ``"body"`` is served with a Content-Length, ``"chunks"`` chunked (one chunk per
piece, as received), ``"until_close": true`` marks a body delimited by the connection closing,
``"complete": false`` a response the client stopped reading before its end. ``"response": null``
is a request that was never answered (the client gave up waiting).

A body, chunk or hijack piece is stored, in this order of preference, as:

- ``{"json": value}``: the bytes are exactly the compact JSON of `value` plus a newline, as the
  daemon writes it; ``"newline": false`` when there is no trailing newline (our requests);
- ``{"frames": [{"stdout": "…"}, {"stderr": "…"}, …]}``: a multiplexed stream (attach, exec,
  logs without a TTY), frame by frame, each payload UTF-8 text;
- a string: the bytes are UTF-8 text (no run of NUL bytes);
- ``{"base64": ["…", …]}``: anything else (tar archives), in lines of 76 characters.

Bodies round-trip byte for byte: the JSON form is used only when re-encoding gives the same bytes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs

from engineapi.errors import CassetteError

__all__ = [
    "FORMAT",
    "Cassette",
    "CassetteError",
    "Exchange",
    "HijackStep",
    "Meta",
    "Request",
    "Response",
    "decode_body",
    "dumps_compact",
    "encode_body",
    "split_target",
]

#: The cassette format version, stored as ``engineapi_cassette``.
FORMAT = 1

_VERSION_PREFIX = re.compile(r"/v(\d+\.\d+)(/.*)")
_NUL_RUN = b"\0" * 16
_BASE64_LINE = 76
#: The streams of a multiplexed (stdcopy) body, by the number in each frame header.
_STREAMS = ("stdin", "stdout", "stderr", "systemerr")


@attrs.define
class Request:
    """A request as the daemon saw it (path without version prefix, query decoded)."""

    method: str
    path: str
    query: list[tuple[str, str]] = attrs.field(factory=list)
    headers: list[tuple[str, str]] = attrs.field(factory=list)
    body: bytes = b""
    #: The ``/vX.Y`` prefix the request was sent with (not stored per exchange, not compared).
    api_version: str | None = attrs.field(default=None, eq=False)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def upgrade(self) -> bool:
        return self.header("upgrade") is not None

    def describe(self) -> str:
        """``METHOD /path?query`` for messages."""
        query = "&".join(f"{n}={v}" for n, v in self.query)
        return f"{self.method} {self.path}{'?' + query if query else ''}"


@attrs.define
class Response:
    """A response head and its body, framed as it was received."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = attrs.field(factory=list)
    #: The whole body (Content-Length or close-delimited); ``None`` when there is none.
    body: bytes | None = None
    #: The pieces of a chunked body, as received; ``None`` when not chunked.
    chunks: list[bytes] | None = None
    #: The body ended when the daemon closed the connection.
    until_close: bool = False
    #: False if the client stopped reading before the end.
    complete: bool = True

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


@attrs.define
class HijackStep:
    """One step of a hijacked connection: bytes one way, a half-close, or the daemon's EOF."""

    source: str  # "client" or "daemon"
    data: bytes = b""
    close_write: bool = False
    eof: bool = False


@attrs.define
class Exchange:
    request: Request
    response: Response | None = None
    #: For a hijacked connection (attach, exec start): the raw bytes, in order.
    hijack: list[HijackStep] | None = None


@attrs.define
class Meta:
    """Where and when a cassette was recorded."""

    engine: str | None = None
    server: str | None = None
    engine_version: str | None = None
    api_version: str | None = None
    #: True when the client negotiated the version (``HEAD /_ping``), False when pinned.
    negotiated: bool = True
    host: str | None = None
    recorded_at: str | None = None
    engineapi_version: str | None = None


@attrs.define
class Cassette:
    """Ordered exchanges plus metadata; `load` / `save` read and write the JSON file."""

    meta: Meta = attrs.field(factory=Meta)
    exchanges: list[Exchange] = attrs.field(factory=list)
    #: Rules naming values that may change between recordings (see `engineapi.replay.drift`).
    volatile: list[str] = attrs.field(factory=list)
    path: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Cassette:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CassetteError(
                f"no cassette at {path}: record it against a live engine first "
                "(pytest --engine-record-mode=once, --engine-record or ENGINEAPI_RECORD=1)"
            ) from None
        cassette = cls.loads(text, source=str(path))
        cassette.path = path
        return cassette

    @classmethod
    def loads(cls, text: str, *, source: str = "<string>") -> Cassette:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise CassetteError(f"{source} is not JSON: {exc}") from None
        return cls.from_document(document, source=source)

    @classmethod
    def from_document(cls, document: Any, *, source: str = "<document>") -> Cassette:
        if not isinstance(document, dict) or document.get("engineapi_cassette") != FORMAT:
            raise CassetteError(f"{source} is not an engineapi cassette (format {FORMAT})")
        try:
            meta = Meta(**document.get("meta", {}))
            exchanges = [_exchange_from(item) for item in document.get("exchanges", [])]
        except (TypeError, KeyError, ValueError) as exc:
            raise CassetteError(f"{source}: malformed cassette: {exc!r}") from None
        return cls(meta, exchanges, list(document.get("volatile", [])))

    def to_document(self) -> dict[str, Any]:
        return {
            "engineapi_cassette": FORMAT,
            "meta": attrs.asdict(self.meta),
            "volatile": list(self.volatile),
            "exchanges": [_exchange_to(exchange) for exchange in self.exchanges],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_document(), indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the file atomically (a temporary file renamed over the old one)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise CassetteError("the cassette has no path to save to")
        target.parent.mkdir(parents=True, exist_ok=True)
        text = self.dumps()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            os.fchmod(fd, 0o644)  # a file to commit, not mkstemp's private 0600
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.path = target
        return target


# -- requests targets ----------------------------------------------------------------------------


def split_target(target: str) -> tuple[str, list[tuple[str, str]], str | None]:
    """A request target as (path without version prefix, decoded query, version or None)."""
    path, _, query = target.partition("?")
    version = None
    match = _VERSION_PREFIX.fullmatch(path)
    if match is not None:
        version, path = match.group(1), match.group(2)
    return path, parse_qsl(query, keep_blank_values=True), version


# -- bodies --------------------------------------------------------------------------------------


def dumps_compact(value: Any) -> str:
    """Compact JSON as the daemon (Go's encoding/json) writes it, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def encode_body(data: bytes, *, allow_json: bool = True) -> Any:
    """The stored form of `data` (see the module docstring); ``None`` for no bytes."""
    if not data:
        return None
    if allow_json and data[:1] in (b"{", b"["):
        try:
            value = json.loads(data)
        except ValueError:
            pass
        else:
            compact = dumps_compact(value).encode()
            if data == compact + b"\n":
                return {"json": value}
            if data == compact:
                return {"json": value, "newline": False}
    frames = _frames(data)
    if frames is not None:
        return {"frames": frames}
    if _NUL_RUN not in data:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    text = base64.b64encode(data).decode("ascii")
    return {"base64": [text[i : i + _BASE64_LINE] for i in range(0, len(text), _BASE64_LINE)]}


def _frames(data: bytes) -> list[dict[str, str]] | None:
    """A multiplexed (stdcopy) stream as ``[{"stdout": text}, …]``, if it is exactly one."""
    if data[0] > 3 or data[1:4] != b"\0\0\0":
        return None
    frames: list[dict[str, str]] = []
    pos = 0
    while pos < len(data):
        header = data[pos : pos + 8]
        if len(header) < 8 or header[0] > 3 or header[1:4] != b"\0\0\0":
            return None
        end = pos + 8 + int.from_bytes(header[4:8], "big")
        if end > len(data):
            return None
        try:
            frames.append({_STREAMS[header[0]]: data[pos + 8 : end].decode("utf-8")})
        except UnicodeDecodeError:
            return None
        pos = end
    return frames


def decode_body(value: Any) -> bytes:
    """The bytes a stored body stands for."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict):
        if "json" in value:
            text = dumps_compact(value["json"])
            return (text + "\n" if value.get("newline", True) else text).encode()
        if "frames" in value:
            out = bytearray()
            for frame in value["frames"]:
                ((name, text),) = frame.items()
                payload = text.encode("utf-8")
                out += bytes([_STREAMS.index(name), 0, 0, 0]) + len(payload).to_bytes(4, "big")
                out += payload
            return bytes(out)
        if "base64" in value:
            lines = value["base64"]
            return base64.b64decode("".join(lines) if isinstance(lines, list) else lines)
    raise ValueError(f"unknown body form {str(value)[:80]!r}")


# -- (de)serialisation ---------------------------------------------------------------------------


def _pairs_to_map(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = value
    return result


def _map_to_pairs(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in mapping.items():
        if isinstance(value, list):
            pairs.extend((name, str(item)) for item in value)
        else:
            pairs.append((name, str(value)))
    return pairs


def _headers_to_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in pairs:
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def _request_to(request: Request) -> dict[str, Any]:
    item: dict[str, Any] = {"method": request.method, "path": request.path}
    if request.query:
        item["query"] = _pairs_to_map(request.query)
    if request.headers:
        item["headers"] = _headers_to_map(request.headers)
    if request.body:
        item["body"] = encode_body(request.body)
    return item


def _request_from(item: dict[str, Any]) -> Request:
    return Request(
        method=item["method"],
        path=item["path"],
        query=_map_to_pairs(item.get("query", {})),
        headers=list(item.get("headers", {}).items()),
        body=decode_body(item.get("body")),
    )


def _response_to(response: Response) -> dict[str, Any]:
    item: dict[str, Any] = {
        "status": response.status,
        "reason": response.reason,
        "headers": _headers_to_map(response.headers),
    }
    if response.chunks is not None:
        item["chunks"] = [encode_body(chunk) for chunk in response.chunks]
    elif response.body is not None:
        item["body"] = encode_body(response.body) or ""
    if response.until_close:
        item["until_close"] = True
    if not response.complete:
        item["complete"] = False
    return item


def _response_from(item: dict[str, Any]) -> Response:
    chunks = item.get("chunks")
    return Response(
        status=int(item["status"]),
        reason=item.get("reason", ""),
        headers=list(item.get("headers", {}).items()),
        body=decode_body(item["body"]) if "body" in item else None,
        chunks=[decode_body(chunk) for chunk in chunks] if chunks is not None else None,
        until_close=bool(item.get("until_close", False)),
        complete=bool(item.get("complete", True)),
    )


def _step_to(step: HijackStep) -> dict[str, Any]:
    item: dict[str, Any] = {"from": step.source}
    if step.close_write:
        item["close_write"] = True
    elif step.eof:
        item["eof"] = True
    else:
        item["data"] = encode_body(step.data, allow_json=False) or ""
    return item


def _step_from(item: dict[str, Any]) -> HijackStep:
    source = item["from"]
    if source not in ("client", "daemon"):
        raise ValueError(f"hijack step from {source!r}")
    return HijackStep(
        source=source,
        data=decode_body(item.get("data")),
        close_write=bool(item.get("close_write", False)),
        eof=bool(item.get("eof", False)),
    )


def _exchange_to(exchange: Exchange) -> dict[str, Any]:
    item: dict[str, Any] = {
        "request": _request_to(exchange.request),
        "response": _response_to(exchange.response) if exchange.response is not None else None,
    }
    if exchange.hijack is not None:
        item["hijack"] = [_step_to(step) for step in exchange.hijack]
    return item


def _exchange_from(item: dict[str, Any]) -> Exchange:
    response = item.get("response")
    hijack = item.get("hijack")
    return Exchange(
        request=_request_from(item["request"]),
        response=_response_from(response) if response is not None else None,
        hijack=[_step_from(step) for step in hijack] if hijack is not None else None,
    )
