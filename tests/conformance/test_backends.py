"""The backend conformance suite: what every HTTP backend must do, live on every engine.

Each test runs for every backend of its flavour (sync: builtin, httpx, requests; async:
builtin, httpx) on every local engine. Backends are chosen by name, as a user would
(``Client(backend="httpx")``). Known, documented differences are asserted as such:

* requests cannot hijack: attach/exec go over engineapi's own engine (a connection of their
  own to the same endpoint), so they work there too;
* sync httpx and requests have one read timeout for the head and the body: they wait up to
  the larger of `Timeouts.response` and `Timeouts.read`.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from engineapi import AsyncClient, Client, Timeouts
from engineapi._async.streams import AsyncRawStream
from engineapi._sync.streams import RawStream
from engineapi.api._call import Call, RawCall
from engineapi.config import TLSConfig
from engineapi.errors import (
    ConfigError,
    Conflict,
    ConnectError,
    ConnectionLost,
    DaemonError,
    NotFound,
    ProtocolError,
    ServerError,
    TimeoutError,
    TransportError,
    daemon_error,
)
from tests.conftest import Engine

pytest.importorskip("httpx")
pytest.importorskip("requests_unixsocket")

SYNC_BACKENDS = ["builtin", "httpx", "requests"]
ASYNC_BACKENDS = ["builtin", "httpx"]
# Backends with a single read timeout for the head and the body pieces.
ONE_READ_TIMEOUT = {"httpx-sync", "requests"}


@pytest.fixture(params=SYNC_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=ASYNC_BACKENDS)
def abackend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(engine: Engine, backend: str) -> Iterator[Client]:
    with Client(engine.host, backend=backend) as c:
        yield c


@pytest.fixture
def container(engine: Engine) -> Iterator[str]:
    cid = engine.docker("run", "-d", "--label", "engineapi.test=1", "busybox", "sleep", "300")
    try:
        yield cid.strip()
    finally:
        engine.docker("rm", "-f", cid.strip(), check=False)


def _call(method: str, path: str, **kwargs: Any) -> Call[Any]:
    return Call("Conformance", method=method, path=path, decode=lambda r: r, **kwargs)


def _tar_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _stdout_of(frames: bytes) -> bytes:
    out = bytearray()
    while frames:
        size = int.from_bytes(frames[4:8], "big")
        if frames[0] == 1:
            out += frames[8 : 8 + size]
        frames = frames[8 + size :]
    return bytes(out)


def _ticker(engine: Engine, count: int, pause: float) -> str:
    script = f"for i in $(seq 1 {count}); do echo tick$i; sleep {pause}; done"
    return engine.docker("run", "-d", "busybox", "sh", "-c", script).strip()


# -- plain requests and errors ------------------------------------------------------------------


def test_json_requests(client: Client, engine: Engine) -> None:
    assert client.api_version() == engine.api_version
    assert client.system.info().id
    assert isinstance(client.containers.list(all=True), list)


def test_every_error_status_is_typed(client: Client, engine: Engine, container: str) -> None:
    with pytest.raises(NotFound) as missing:
        client.send(_call("GET", "/containers/engineapi-no-such/json"))
    assert missing.value.status == 404 and "engineapi-no-such" in missing.value.message
    name = engine.docker("inspect", "-f", "{{.Name}}", container).strip().lstrip("/")
    # Podman answers a name conflict with 500: the class must follow the status either way.
    expected = ServerError if engine.is_podman else Conflict
    with pytest.raises(expected) as taken:
        client.send(
            _call(
                "POST", "/containers/create", query={"name": name}, json_body={"Image": "busybox"}
            )
        )
    assert "already in use" in taken.value.message
    with pytest.raises(DaemonError) as bad:
        client.send(_call("GET", "/containers/json", query={"filters": "{not json"}))
    assert bad.value.status in (400, 500)
    assert type(bad.value) is type(daemon_error(bad.value.status, ""))
    assert bad.value.host == engine.host


# -- streamed responses ----------------------------------------------------------------------------


def test_logs_follow_streams_as_it_comes(client: Client, engine: Engine) -> None:
    cid = _ticker(engine, 4, 0.4)
    try:
        call = RawCall(
            "ContainerLogs",
            method="GET",
            path=f"/containers/{cid}/logs",
            query={"follow": True, "stdout": True},
        )
        arrivals: list[float] = []
        data = bytearray()
        with RawStream(client, call) as stream:
            for piece in stream:
                arrivals.append(time.monotonic())
                data += piece
        assert _stdout_of(bytes(data)).split() == [b"tick1", b"tick2", b"tick3", b"tick4"]
        assert arrivals[-1] - arrivals[0] > 0.6  # pieces came as printed, not all at the end
    finally:
        engine.docker("rm", "-f", cid, check=False)


def test_events_stream(client: Client, engine: Engine) -> None:
    since = time.time() - 1
    engine.docker("run", "--rm", "busybox", "true")
    events = list(client.system.events(since=since, until=time.time() + 1))
    assert any(e.type == "container" for e in events)


def test_large_raw_body(client: Client, container: str) -> None:
    call = RawCall("ContainerExport", method="GET", path=f"/containers/{container}/export")
    with RawStream(client, call) as stream:
        size = sum(len(piece) for piece in stream)
    assert size > 500_000


# -- streamed request bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_put_archive_streams_the_body(
    client: Client, engine: Engine, container: str, framing: str
) -> None:
    content = os.urandom(300_000)
    tar = _tar_of("upload.bin", content)
    pieces = iter([tar[i : i + 65536] for i in range(0, len(tar), 65536)])
    call = _call(
        "PUT",
        f"/containers/{container}/archive",
        query={"path": "/tmp"},
        headers=[("Content-Type", "application/x-tar")],
        body=pieces,
        content_length=len(tar) if framing == "content-length" else None,
    )
    assert client.send(call).status == 200
    size = engine.docker("exec", container, "wc", "-c", "/tmp/upload.bin").split()[0]
    assert int(size) == len(content)


def test_image_load_streams_the_body(client: Client, engine: Engine) -> None:
    image = engine.docker("image", "inspect", "-f", "{{.Id}}", "busybox").strip()
    with RawStream(client, RawCall("ImageGet", method="GET", path="/images/busybox/get")) as stream:
        tar = b"".join(stream)
    pieces = iter([tar[i : i + 100_000] for i in range(0, len(tar), 100_000)])
    call = RawCall(
        "ImageLoad",
        method="POST",
        path="/images/load",
        query={"quiet": True},
        headers=[("Content-Type", "application/x-tar")],
        body=pieces,
    )
    with RawStream(client, call) as stream:
        reply = b"".join(stream)
    assert reply  # progress / "Loaded image" messages
    assert engine.docker("image", "inspect", "-f", "{{.Id}}", "busybox").strip() == image


# -- hijack ------------------------------------------------------------------------------------------


def _attach_call(cid: str) -> Call[Any]:
    return _call(
        "POST",
        f"/containers/{cid}/attach",
        query={"stream": True, "stdin": True, "stdout": True, "stderr": True},
    )


def test_hijack_with_close_write(client: Client, engine: Engine, backend: str) -> None:
    payload = os.urandom(32 * 1024).hex().encode()
    cid = engine.docker("create", "-i", "busybox", "cat").strip()
    try:
        with client.hijack(_attach_call(cid)).stream as stream:  # type: ignore[attr-defined]
            engine.docker("start", cid)
            stream.write(payload)
            stream.close_write()
            out = bytearray()
            while chunk := stream.read(65536, timeout=30):
                out += chunk
        assert _stdout_of(bytes(out)) == payload
    finally:
        engine.docker("rm", "-f", cid, check=False)


def test_run_and_exec_streams(client: Client, engine: Engine) -> None:
    """``docker run`` and an exec stream (both hijack) on every backend: requests hands them
    to engineapi's own engine, the others take the connection over themselves."""
    result = client.containers.run("busybox", ["sh", "-c", "cat; echo err >&2"], input=b"in\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"in\n", b"err\n")
    cid = engine.docker("run", "-d", "busybox", "sleep", "60").strip()
    try:
        ran = client.exec.run(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (ran.exit_code, ran.stdout, ran.stderr) == (3, b"out\n", b"err\n")
        with client.exec.stream(cid, ["echo", "from exec"]) as stream:
            assert b"".join(data for _, data in stream) == b"from exec\n"
        assert stream.exit_code == 0
    finally:
        engine.docker("rm", "-f", cid, check=False)


def test_closing_the_client_ends_a_hijacked_session(engine: Engine, backend: str) -> None:
    client = Client(engine.host, backend=backend)
    cid = engine.docker("create", "-i", "busybox", "cat").strip()
    try:
        stream = client.hijack(_attach_call(cid)).stream  # type: ignore[attr-defined]
        engine.docker("start", cid)
        client.close()
        with pytest.raises(ConnectionLost, match="client was closed"):
            while stream.read(65536, timeout=30):
                pass
    finally:
        engine.docker("rm", "-f", cid, check=False)


def _websocket_lines(count: int) -> bytes:
    return b"".join(b"websocket line %d\n" % i for i in range(count))


def test_websocket_attach(client: Client, engine: Engine, backend: str) -> None:
    # The upgrade to a WebSocket is a hijack too: our own RFC 6455 framing over the stream
    # the backend hands over.
    cid = engine.docker("create", "-i", "busybox", "cat").strip()
    try:
        if engine.is_podman:  # Podman 4.3's compat API has no /attach/ws
            with pytest.raises(NotFound):
                client.containers.attach_websocket(cid, stdin=True)
            return
        payload = _websocket_lines(2000)
        with client.containers.attach_websocket(cid, stdin=True) as ws:
            engine.docker("start", cid)
            received = bytearray()
            for start in range(0, len(payload), 4096):
                ws.write(payload[start : start + 4096])
            while len(received) < len(payload):
                piece = ws.read(timeout=30)
                assert piece, "the session ended early"
                received += piece
        assert bytes(received) == payload
    finally:
        engine.docker("rm", "-f", cid, check=False)


def test_hijack_over_tcp_and_tls(tls_engine: Engine, tcp_engine: Engine, backend: str) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path and tcp_engine.tcp
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    for engine, client in [
        (tcp_engine, Client(tcp_engine.tcp, backend=backend)),
        (tls_engine, Client(tls_engine.tls_host, tls=tls, backend=backend)),
    ]:
        cid = engine.docker("create", "-i", "busybox", "cat").strip()
        try:
            with client, client.hijack(_attach_call(cid)).stream as stream:  # type: ignore[attr-defined]
                engine.docker("start", cid)
                stream.write(b"over the network\n")
                stream.close_write()
                out = bytearray()
                while chunk := stream.read(65536, timeout=30):
                    out += chunk
            assert _stdout_of(bytes(out)) == b"over the network\n"
        finally:
            engine.docker("rm", "-f", cid, check=False)


def test_tls_and_tcp_plain_requests(tls_engine: Engine, tcp_engine: Engine, backend: str) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path and tcp_engine.tcp
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    with Client(tls_engine.tls_host, tls=tls, backend=backend) as client:
        assert client.api_version() == tls_engine.api_version
    with Client(tcp_engine.tcp, backend=backend) as client:
        assert client.system.info().id


def test_tls_server_hostname(tls_engine: Engine, backend: str) -> None:
    # The test certificate names localhost and 127.0.0.1: the overriding name is the one sent
    # in SNI and checked, whatever the URL says.
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    named = attrs.evolve(tls, server_hostname="localhost")
    with Client(tls_engine.tls_host, tls=named, backend=backend) as client:
        assert client.api_version() == tls_engine.api_version
    wrong = attrs.evolve(tls, server_hostname="elsewhere.invalid")
    with Client(tls_engine.tls_host, tls=wrong, backend=backend) as client:
        with pytest.raises(ConnectError) as info:
            client.system.ping()
    assert "elsewhere.invalid" in str(info.value)


# -- timeouts, failures, reuse ----------------------------------------------------------------------


def _kind(backend: str) -> str:
    return "httpx-sync" if backend == "httpx" else backend


def test_response_timeout(client: Client, container: str) -> None:
    # busybox sleep as PID 1 ignores SIGTERM: stop answers only after its 3 s grace period.
    call = _call("POST", f"/containers/{container}/stop", query={"t": 3})
    client.timeouts = Timeouts(connect=5, response=0.5, read=0.5)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        client.send(call)
    assert time.monotonic() - start < 2.5
    assert client.system.ping().api_version  # still usable


def test_idle_read_timeout_is_not_a_whole_body_timeout(
    client: Client, engine: Engine, backend: str
) -> None:
    client.timeouts = Timeouts(connect=5, response=3, read=1)
    cid = _ticker(engine, 6, 0.3)  # ~2 s of output, never silent for 1 s
    try:
        call = RawCall(
            "ContainerLogs",
            method="GET",
            path=f"/containers/{cid}/logs",
            query={"follow": True, "stdout": True},
        )
        with RawStream(client, call) as stream:
            assert b"tick6" in b"".join(stream)
    finally:
        engine.docker("rm", "-f", cid, check=False)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        for _ in client.system.events(filters={"container": ["engineapi-never"]}):
            pass
    elapsed = time.monotonic() - start
    limit = 3 if _kind(backend) in ONE_READ_TIMEOUT else 1
    assert 0.8 < elapsed < limit + 1.5
    assert client.system.ping().api_version


def test_connection_reuse(engine: Engine, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    connects = _count_connects(monkeypatch)
    with Client(engine.host, backend=backend) as client:
        for _ in range(10):
            client.system.ping()
        client.system.info()
    assert connects[0] == 1


def _count_connects(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counter = [0]
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        counter[0] += 1
        original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return counter


def test_connect_error_names_the_host(tmp_path: Path, backend: str) -> None:
    missing = f"unix://{tmp_path}/none.sock"
    with Client(missing, backend=backend) as client, pytest.raises(ConnectError) as info:
        client.system.ping()
    assert info.value.host == missing and "argument" in str(info.value)


class _CutShortPeer:
    """A daemon that promises 100 body bytes, sends 10 and closes the connection."""

    def __init__(self, path: Path) -> None:
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
                    data += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")


@pytest.fixture
def cut_short(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "cut.sock"
    peer = _CutShortPeer(path)
    yield f"unix://{path}"
    peer.server.close()


def test_daemon_closing_mid_response(cut_short: str, backend: str) -> None:
    with Client(cut_short, backend=backend, version="1.41") as client:
        with pytest.raises((TransportError, ProtocolError)):
            client.send(_call("GET", "/info", versioned=False))


# -- async ---------------------------------------------------------------------------------------------


async def test_async_json_errors_and_concurrency(engine: Engine, abackend: str) -> None:
    async with AsyncClient(engine.host, backend=abackend) as client:
        pings = await asyncio.gather(*[client.system.ping() for _ in range(20)])
        assert {p.api_version for p in pings} == {engine.api_version}
        infos = await asyncio.gather(*[client.system.info() for _ in range(5)])
        assert all(i.containers is not None for i in infos)
        with pytest.raises(NotFound):
            await client.send(_call("GET", "/containers/engineapi-no-such/json"))


async def test_async_streams_concurrently(engine: Engine, abackend: str) -> None:
    cids = [_ticker(engine, 3, 0.3) for _ in range(3)]
    try:
        async with AsyncClient(engine.host, backend=abackend) as client:

            async def follow(cid: str) -> bytes:
                call = RawCall(
                    "ContainerLogs",
                    method="GET",
                    path=f"/containers/{cid}/logs",
                    query={"follow": True, "stdout": True},
                )
                async with AsyncRawStream(client, call) as stream:
                    return b"".join([piece async for piece in stream])

            outputs = await asyncio.gather(*[follow(cid) for cid in cids])
        assert all(_stdout_of(out).split() == [b"tick1", b"tick2", b"tick3"] for out in outputs)
    finally:
        for cid in cids:
            engine.docker("rm", "-f", cid, check=False)


async def test_async_streamed_request_body(engine: Engine, abackend: str, container: str) -> None:
    tar = _tar_of("async.txt", b"from an async generator\n")

    async def pieces() -> Any:
        for i in range(0, len(tar), 1000):
            await asyncio.sleep(0)
            yield tar[i : i + 1000]

    async with AsyncClient(engine.host, backend=abackend) as client:
        call = _call("PUT", f"/containers/{container}/archive", query={"path": "/tmp"})
        call.body = pieces()
        assert (await client.send(call)).status == 200
    assert engine.docker("exec", container, "cat", "/tmp/async.txt") == (
        "from an async generator\n"
    )


async def test_async_hijack_with_close_write(engine: Engine, abackend: str) -> None:
    cid = engine.docker("create", "-i", "busybox", "cat").strip()
    try:
        async with AsyncClient(engine.host, backend=abackend) as client:
            stream: Any = (await client.hijack(_attach_call(cid))).stream
            async with stream:
                engine.docker("start", cid)
                await stream.write(b"async stdin\n")
                await stream.close_write()
                out = bytearray()
                while chunk := await stream.read(65536, timeout=30):
                    out += chunk
        assert _stdout_of(bytes(out)) == b"async stdin\n"
    finally:
        engine.docker("rm", "-f", cid, check=False)


async def test_async_websocket_attach(engine: Engine, abackend: str) -> None:
    cid = engine.docker("create", "-i", "busybox", "cat").strip()
    payload = _websocket_lines(2000)
    try:
        async with AsyncClient(engine.host, backend=abackend) as client:
            if engine.is_podman:  # Podman 4.3's compat API has no /attach/ws
                with pytest.raises(NotFound):
                    await client.containers.attach_websocket(cid, stdin=True)
                return
            async with await client.containers.attach_websocket(cid, stdin=True) as ws:
                await asyncio.to_thread(engine.docker, "start", cid)
                for start in range(0, len(payload), 4096):
                    await ws.write(payload[start : start + 4096])
                received = bytearray()
                while len(received) < len(payload):
                    piece = await ws.read(timeout=30)
                    assert piece, "the session ended early"
                    received += piece
        assert bytes(received) == payload
    finally:
        engine.docker("rm", "-f", cid, check=False)


async def test_async_timeouts(engine: Engine, abackend: str, container: str) -> None:
    async with AsyncClient(engine.host, backend=abackend) as client:
        client.timeouts = Timeouts(connect=5, response=0.5, read=None)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.send(_call("POST", f"/containers/{container}/stop", query={"t": 3}))
        assert time.monotonic() - start < 2.5
        client.timeouts = Timeouts(connect=5, response=5, read=0.5)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            async for _ in client.system.events(filters={"container": ["engineapi-never"]}):
                pass
        assert 0.4 < time.monotonic() - start < 3
        assert (await client.system.ping()).api_version


async def test_async_cancellation_releases_the_connection(engine: Engine, abackend: str) -> None:
    async with AsyncClient(engine.host, backend=abackend, max_connections=1) as client:
        for _ in range(3):

            async def follow() -> None:
                async for _ in client.system.events(filters={"container": ["engineapi-never"]}):
                    pass

            task = asyncio.create_task(follow())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        async with asyncio.timeout(10):
            assert (await client.system.ping()).api_version


async def test_async_connection_reuse(
    engine: Engine, abackend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects = _count_connects(monkeypatch)
    async with AsyncClient(engine.host, backend=abackend) as client:
        for _ in range(10):
            await client.system.ping()
    assert connects[0] == 1


async def test_async_daemon_closing_mid_response(cut_short: str, abackend: str) -> None:
    async with AsyncClient(cut_short, backend=abackend, version="1.41") as client:
        with pytest.raises((TransportError, ProtocolError)):
            await client.send(_call("GET", "/info", versioned=False))


def test_a_given_transport_carries_every_request(
    engine: Engine, backend: str, tmp_path: Path
) -> None:
    """`transport=` (here a recorder) is used by every backend or refused — never bypassed:
    recording with ``ENGINEAPI_BACKEND=httpx`` once recorded nothing."""
    from engineapi.config import resolve_endpoint
    from engineapi.replay import ISOLATED_ENVIRON, Cassette, RecordingTransport, Scrubber
    from engineapi.transports import transport_for

    inner = transport_for(resolve_endpoint(engine.host, environ=ISOLATED_ENVIRON))
    recorder = RecordingTransport(inner, Cassette(path=tmp_path / "c.json"), Scrubber())
    if backend == "requests":
        with pytest.raises(ConfigError, match="cannot use the transport"):
            Client(engine.host, transport=recorder, backend=backend, environ=ISOLATED_ENVIRON)
        return
    with Client(engine.host, transport=recorder, backend=backend, environ=ISOLATED_ENVIRON) as c:
        assert c.system.version().api_version
    paths = [e.request.path for e in recorder.result(host=engine.host).exchanges]
    assert paths[-1] == "/version", paths


async def test_async_a_given_transport_carries_every_request(
    engine: Engine, abackend: str, tmp_path: Path
) -> None:
    from engineapi.config import resolve_endpoint
    from engineapi.replay import ISOLATED_ENVIRON, Cassette, RecordingTransport, Scrubber
    from engineapi.transports import transport_for

    inner = transport_for(resolve_endpoint(engine.host, environ=ISOLATED_ENVIRON))
    recorder = RecordingTransport(inner, Cassette(path=tmp_path / "c.json"), Scrubber())
    async with AsyncClient(
        engine.host, transport=recorder, backend=abackend, environ=ISOLATED_ENVIRON
    ) as client:
        assert (await client.system.version()).api_version
    paths = [e.request.path for e in recorder.result(host=engine.host).exchanges]
    assert paths[-1] == "/version", paths


def test_a_full_pool_times_out(engine: Engine, backend: str) -> None:
    """Every backend that bounds its connections says PoolTimeout when none comes free."""
    from engineapi import PoolTimeout

    if backend == "requests":
        # urllib3 opens another connection rather than wait (and discards it afterwards).
        pytest.skip("the requests backend does not block on a full pool")
    with Client(
        engine.host, backend=backend, max_connections=1, timeout=Timeouts(pool=0.5)
    ) as client:
        client.api_version()
        with client.system.events():
            with pytest.raises(PoolTimeout):
                client.system.ping()
        assert client.system.ping().api_version


def test_closing_the_client_ends_its_streams(engine: Engine, backend: str) -> None:
    """Every backend: a stream read in another thread ends with ConnectionLost saying the
    client closed it, and new calls raise ClientClosed (never a bare RuntimeError)."""
    import threading

    from engineapi import ClientClosed

    client = Client(engine.host, backend=backend)
    events = client.system.events(filters={"label": ["engineapi.never=1"]})
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def follow() -> None:
        try:
            for _ in events:
                pass
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(0.5)
    client.close()
    assert done.wait(5), "the stream is still read 5 s after close()"
    assert isinstance(outcome[0], ConnectionLost), outcome
    assert "client was closed" in str(outcome[0])
    with pytest.raises(ClientClosed):
        client.system.ping()


async def test_async_aclose_ends_the_streams(engine: Engine, abackend: str) -> None:
    from engineapi import ClientClosed

    client = AsyncClient(engine.host, backend=abackend)
    events = client.system.events(filters={"label": ["engineapi.never=1"]})

    async def follow() -> BaseException | None:
        try:
            async for _ in events:
                pass
        except BaseException as exc:
            return exc
        return None

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    await client.aclose()
    outcome = await asyncio.wait_for(task, 5)
    assert isinstance(outcome, ConnectionLost) and "client was closed" in str(outcome), outcome
    with pytest.raises(ClientClosed):
        await client.system.ping()
