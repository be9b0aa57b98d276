"""The fuzz targets: each takes bytes, returns or raises an `EngineAPIError`, and checks its
own invariants (an `AssertionError` is a finding like any untyped exception)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engineapi.api import containers, system
from engineapi.api._call import Reply, decoded
from engineapi.archive.dockerignore import DockerIgnore
from engineapi.archive.tarball import extract_stream
from engineapi.errors import EngineAPIError
from engineapi.http import NEED_DATA, ClientConnection, EndOfMessage
from engineapi.http import Response as Head
from engineapi.streams.jsonlines import JSONLinesDecoder
from engineapi.streams.progress import ProgressTracker
from engineapi.streams.stdcopy import StdcopyDecoder, encode_frame
from engineapi.streams.websocket import WebSocketConnection

# -- HTTP/1.1 responses: fed whole and fed in small pieces, the same outcome -------------------


def _http_events(data: bytes, split: int | None) -> list[Any]:
    conn = ClientConnection()
    conn.send_request("GET", "/x", [("Host", "docker")])
    pieces = [data] if split is None else [data[i : i + split] for i in range(0, len(data), split)]
    events: list[Any] = []
    for piece in [*pieces, b""]:
        conn.receive_data(piece)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, EndOfMessage):
                return events
    return events


def _outcome(run: Callable[[], list[Any]]) -> tuple[str, Any]:
    try:
        events = run()
    except EngineAPIError as exc:
        return ("error", type(exc).__name__)
    head = [(e.status, list(e.headers.items())) for e in events if isinstance(e, Head)]
    body = b"".join(getattr(e, "data", b"") for e in events)
    return ("ok", (head, body))


def http_response(data: bytes) -> None:
    whole = _outcome(lambda: _http_events(data, None))
    pieces = _outcome(lambda: _http_events(data, 7))
    assert whole == pieces, (whole, pieces)
    if whole[0] == "error":
        raise _typed(whole[1])


class _Typed(EngineAPIError):
    pass


def _typed(name: str) -> EngineAPIError:
    return _Typed(name)


HTTP_SEEDS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nApi-Version: 1.51\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n",
    b'HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n{"message":"x"}',
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
]

# -- stdcopy, JSON lines, progress ---------------------------------------------------------------


def _merged(frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for stream, data in frames:
        if data and out and out[-1][0] == stream:
            out[-1] = (stream, out[-1][1] + data)
        elif data:
            out.append((stream, data))
    return out


def _frames(data: bytes, split: int) -> tuple[str, Any]:
    decoder = StdcopyDecoder()
    out: list[tuple[int, bytes]] = []
    try:
        for i in range(0, len(data), split):
            out += decoder.feed(data[i : i + split])
        out += decoder.end()
    except EngineAPIError as exc:
        return ("error", (type(exc).__name__, _merged(out)))
    return ("ok", _merged(out))


def stdcopy(data: bytes) -> None:
    whole = _frames(data, max(len(data), 1))
    small = _frames(data, 5)
    if whole[0] == small[0] == "ok":
        assert whole == small, (whole, small)
    if whole[0] == "error":
        raise _typed(str(whole[1][0]))


STDCOPY_SEEDS = [
    encode_frame(1, b"out\n") + encode_frame(2, b"err\n"),
    encode_frame(1, b"x" * 300) + encode_frame(3, b"boom"),
]


def jsonlines(data: bytes) -> None:
    decoder = JSONLinesDecoder(max_line=64 * 1024)
    values = decoder.feed(data) + decoder.end()
    tracker = ProgressTracker()
    for value in values:
        tracker.feed(value)
    tracker.render()
    tracker.total()


JSONLINES_SEEDS = [
    b'{"status":"Downloading","id":"a","progressDetail":{"current":1,"total":9}}\n',
    b'{"Type":"container","Action":"start"}\r\n{"Type":"image"}{"a":[1,2,{"b":null}]}\n',
]

# -- WebSocket frames ----------------------------------------------------------------------------


def websocket(data: bytes) -> None:
    ws = WebSocketConnection()
    ws.receive_data(data)
    ws.events()
    ws.receive_data(b"")
    ws.events()


WEBSOCKET_SEEDS = [b"\x82\x05hello\x89\x00\x88\x02\x03\xe8", b"\x01\x03abc\x80\x02de"]

# -- model decoding through the one decoding seam ------------------------------------------------

_DECODED_CALLS = [containers.list(), containers.inspect("c"), system.info(), system.version()]


def models(data: bytes) -> None:
    for call in _DECODED_CALLS:
        try:
            decoded(call, Reply(200, {}, data))
        except EngineAPIError:
            continue


MODEL_SEEDS = [
    json.dumps(
        [{"Id": "a", "Names": ["/x"], "Ports": [{"PrivatePort": 80}], "State": "up"}]
    ).encode(),
    json.dumps({"Id": "a", "State": {"Running": True, "Health": {"Log": [{}]}}}).encode(),
    json.dumps({"ID": "x", "NCPU": 2, "Plugins": {"Volume": ["local"]}}).encode(),
]

# -- configuration: hosts, contexts, credentials --------------------------------------------------


def config(data: bytes) -> None:
    from engineapi.config._host import parse_host
    from engineapi.config.auth import auth_for, registry_config

    text = data.decode("utf-8", "replace")
    try:
        parse_host(text.split("\n", 1)[0])
    except EngineAPIError:
        pass
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "config.json").write_bytes(data)
        env = {"DOCKER_CONFIG": home, "PATH": ""}
        try:
            auth_for("localhost:5000/app", env)
            registry_config(env)
        except EngineAPIError:
            pass


CONFIG_SEEDS = [
    b'tcp://127.0.0.1:2375\n{"auths": {"localhost:5000": {"auth": "dTpw"}}}',
    b'ssh://me@host:22/var/run/docker.sock\n{"credHelpers": {"x": "y"}, "currentContext": "c"}',
    b'unix:///run/d.sock\n{"auths": {"https://index.docker.io/v1/": {"identitytoken": "t"}}}',
]

# -- .dockerignore: typed errors, and never slow --------------------------------------------------


def dockerignore(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    patterns, paths = lines[: len(lines) // 2 + 1], lines[len(lines) // 2 + 1 :] or ["a/b"]
    ignore = DockerIgnore(patterns)
    for path in paths[:8]:
        ignore.matches(path.strip("/") or "a")


DOCKERIGNORE_SEEDS = [
    b"*.pyc\n!keep.pyc\n**/node_modules\nbuild/\nsrc/a.pyc\nbuild/x\n",
    b"*a*a*a*b\n[a-c]?x\n\\*lit\naaaaab\nbx\n",
]

# -- tar extraction: nothing lands outside, no link escapes ---------------------------------------


def _tar(members: list[tuple[str, bytes, str]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def extraction(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as root:
        dest = Path(root) / "dest"
        try:
            extract_stream([data[i : i + 700] for i in range(0, len(data), 700)], dest)
        finally:
            _check_contained(Path(root), dest)


def _check_contained(root: Path, dest: Path) -> None:
    real_dest = os.path.realpath(dest)
    for path in root.rglob("*"):
        if path == dest:
            continue
        assert dest in path.parents, f"{path} was written outside the destination"
        if path.is_symlink():
            real = os.path.realpath(path)
            assert real == real_dest or real.startswith(real_dest + os.sep), (
                f"{path} -> {os.readlink(path)} escapes"
            )


EXTRACTION_SEEDS = [
    _tar([("a/", b"", ""), ("a/f", b"data", ""), ("l", b"", "a/f")]),
    _tar([("sub/", b"", ""), ("sub/y", b"", "."), ("x", b"", "sub/y/.."), ("sub/y", b"", "..")]),
]

TARGETS: dict[str, tuple[Callable[[bytes], None], list[bytes]]] = {
    "http_response": (http_response, HTTP_SEEDS),
    "stdcopy": (stdcopy, STDCOPY_SEEDS),
    "jsonlines_progress": (jsonlines, JSONLINES_SEEDS),
    "websocket": (websocket, WEBSOCKET_SEEDS),
    "models": (models, MODEL_SEEDS),
    "config": (config, CONFIG_SEEDS),
    "dockerignore": (dockerignore, DOCKERIGNORE_SEEDS),
    "tar_extraction": (extraction, EXTRACTION_SEEDS),
}
