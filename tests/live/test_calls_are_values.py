"""A call is a value: the client builds each request from it without changing it, so the same
call sent twice — by one client, or by two speaking different API versions — sends what each
send should, on a real engine.

The requests are read from a `RecordingTransport` around the engine's own transport.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import Client
from engineapi._sync.streams import attach, websocket
from engineapi.api import containers as calls
from engineapi.replay import ISOLATED_ENVIRON, RecordingTransport, Request, Scrubber
from engineapi.transports import transport_for
from tests.conftest import Engine


def new_recorder(engine: Engine, path: Path) -> RecordingTransport:
    from engineapi.config import resolve_endpoint

    inner = transport_for(resolve_endpoint(engine.host, environ=ISOLATED_ENVIRON))
    return RecordingTransport(inner, path, Scrubber(), engine=engine.name)


@pytest.fixture
def recorded(engine: Engine, tmp_path: Path) -> Iterator[tuple[RecordingTransport, str]]:
    recorder = new_recorder(engine, tmp_path / "c.json")
    cid = engine.docker(
        "run", "-d", "--label", "engineapi.test=1", "busybox", "sh", "-c", "echo hi; sleep 300"
    ).strip()
    try:
        yield recorder, cid
    finally:
        engine.docker("rm", "-f", cid, check=False)


def requests(recorder: RecordingTransport, path_end: str) -> list[Request]:
    cassette = recorder.result(host="unix:///recorded.sock")
    return [e.request for e in cassette.exchanges if e.request.path.endswith(path_end)]


def test_a_hijack_sent_twice_asks_for_the_upgrade_once_each_time(
    engine: Engine, recorded: tuple[RecordingTransport, str]
) -> None:
    if engine.is_podman:
        # Its logs replay frames "hi\n" with a length of 2: the third byte breaks the framing.
        pytest.skip("Podman 4.3 frames the logs of an attach with wrong lengths")
    recorder, cid = recorded
    call = calls.attach(cid, stdout=True, stderr=True, logs=True, stream=False)
    headers_before = call.headers
    with Client(engine.host, transport=recorder, environ=ISOLATED_ENVIRON) as client:
        for _ in range(2):
            with attach(client, call) as attached:
                out, _ = attached.read_split()
                assert out == b"hi\n"
    assert call.headers == headers_before
    sent = requests(recorder, "/attach")
    assert len(sent) == 2
    for request in sent:
        upgrades = [v for n, v in request.headers if n.lower() == "upgrade"]
        assert upgrades == ["tcp"], request.headers


def test_optional_parameters_follow_the_version_of_each_send(
    engine: Engine, recorded: tuple[RecordingTransport, str], tmp_path: Path
) -> None:
    """``attach/ws`` takes stdin/stdout/stderr from API 1.42: a client pinned to 1.41 leaves
    them out, a client on 1.42 sends them — for the same call object, in either order."""
    if engine.is_podman:
        pytest.skip("Podman 4.3's compat API has no /containers/{id}/attach/ws")
    if engine.api_version < "1.42":
        pytest.skip("needs an engine that speaks API 1.42")
    _, cid = recorded
    call = calls.attach_websocket(cid, stdout=True, stderr=True, logs=True, stream=False)
    sent = []
    for version in ("1.41", "1.42", "1.41"):
        recorder = new_recorder(engine, tmp_path / f"{len(sent)}.json")
        with Client(
            engine.host, transport=recorder, environ=ISOLATED_ENVIRON, version=version
        ) as client:
            socket = websocket(client, call)
            deadline = time.monotonic() + 10
            data = b""
            while b"hi" not in data and time.monotonic() < deadline:
                piece = socket.read(timeout=5)
                if not piece:
                    break
                data += piece
            socket.close()
        sent += requests(recorder, "/attach/ws")
    names = [sorted({name for name, _ in request.query}) for request in sent]
    assert names == [
        ["logs"],
        ["logs", "stderr", "stdin", "stdout"],
        ["logs"],
    ], names


def test_local_files_are_read_when_the_call_is_sent(
    engine: Engine, recorded: tuple[RecordingTransport, str], tmp_path: Path
) -> None:
    """A builder names a path and reads nothing: the file may not even exist yet. The client
    reads it at each send, so one call sent twice sends what the file holds each time."""
    _, cid = recorded
    source = tmp_path / "note.txt"
    call = calls.copy_to(cid, source, path="/tmp")
    with Client(engine.host, environ=ISOLATED_ENVIRON) as client:
        for content in (b"first\n", b"second, longer\n"):
            source.write_bytes(content)
            client.send(call)
            assert client.exec.run(cid, ["cat", "/tmp/note.txt"]).stdout == content


async def test_a_missing_build_context_is_reported_when_sent(
    engine: Engine, tmp_path: Path
) -> None:
    from engineapi import AsyncClient
    from engineapi.archive.dockerignore import BuildContextError

    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    async with AsyncClient(engine.host, environ=ISOLATED_ENVIRON) as client:
        progress = client.images.build(tmp_path, dockerfile="Missingfile")  # nothing read yet
        with pytest.raises(BuildContextError, match="Missingfile"):
            await progress.wait()
