"""Transports, the pool, timeouts, hijack and errors against the live engines."""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engineapi import (
    APIVersionError,
    AsyncClient,
    Client,
    ConfigError,
    ConnectError,
    NotFound,
    PoolTimeout,
    TimeoutError,
    Timeouts,
)
from engineapi._sync.streams import RawStream
from engineapi.api._call import Call, RawCall
from engineapi.config import TLSConfig
from engineapi.streams.stdcopy import STDOUT
from tests.conftest import Engine
from tests.tools.descriptors import many_descriptors


def test_tcp_transport(tcp_engine: Engine) -> None:
    assert tcp_engine.tcp
    with Client(tcp_engine.tcp) as client:
        assert type(client.transport).__name__ == "TCPTransport"
        assert client.api_version() == tcp_engine.api_version
        assert client.system.info().id


def _dual_stack(monkeypatch: pytest.MonkeyPatch, name: str, port: int) -> None:
    """`name` resolves as ``localhost`` often does: ``::1`` first (where nothing listens on
    `port`), then 127.0.0.1. Only the resolver is stood in for: the sockets are real."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return real(host, *args, **kwargs)
        found = []
        for literal in ("::1", "127.0.0.1"):
            try:
                found += real(literal, *args, **kwargs)
            except OSError:  # a machine without IPv6: the second address alone
                continue
        return found

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_tcp_tries_every_address_of_a_name(
    tcp_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tcp_engine.tcp
    port = int(tcp_engine.tcp.rsplit(":", 1)[1])
    _dual_stack(monkeypatch, "dual.engineapi.test", port)
    with Client(f"tcp://dual.engineapi.test:{port}") as client:
        assert client.api_version() == tcp_engine.api_version

    async def main() -> str:
        async with AsyncClient(f"tcp://dual.engineapi.test:{port}") as client:
            return await client.api_version()

    assert asyncio.run(main()) == tcp_engine.api_version


def test_when_every_address_fails_the_error_names_each(monkeypatch: pytest.MonkeyPatch) -> None:
    _dual_stack(monkeypatch, "dual.engineapi.test", 1)
    with Client("tcp://dual.engineapi.test:1") as client, pytest.raises(ConnectError) as info:
        client.system.ping()
    message = str(info.value)
    assert "tcp://dual.engineapi.test:1" in message and "127.0.0.1:1" in message


def test_a_process_with_more_than_1024_descriptors(engine: Engine, tls_engine: Engine) -> None:
    """select() refuses descriptors from 1024 on; a second request (an idle connection checked
    before reuse) used to fail there with ValueError."""
    with many_descriptors(1100):
        with Client(engine.host) as client:
            for _ in range(3):
                assert client.system.ping().api_version
            assert client.containers.list(all=True) is not None
        assert tls_engine.tls_host and tls_engine.tls_cert_path
        tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
        with Client(tls_engine.tls_host, tls=tls) as client:
            for _ in range(3):
                assert client.system.ping().api_version


def test_tls_transport_with_client_certificate(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    with Client(tls_engine.tls_host, tls=tls) as client:
        assert type(client.transport).__name__ == "TLSTransport"
        assert client.api_version() == tls_engine.api_version
        assert client.system.version().version


def test_tls_from_environment_like_the_cli(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    environ = {
        "DOCKER_HOST": tls_engine.tls_host,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": tls_engine.tls_cert_path,
    }
    with Client.from_env(environ=environ) as client:
        assert client.endpoint.tls is not None and client.endpoint.tls.verify
        assert client.system.ping().api_version == tls_engine.api_version


async def test_async_tls(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    async with AsyncClient(tls_engine.tls_host, tls=tls) as client:
        infos = await asyncio.gather(*[client.system.info() for _ in range(5)])
    assert len({i.id for i in infos}) == 1


def test_tls_rejects_an_unknown_ca(tls_engine: Engine, tmp_path: Path) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    # The system CAs do not know the engine's throwaway CA: verification must fail.
    certs = Path(tls_engine.tls_cert_path)
    tls = TLSConfig(
        ca_cert=None,
        client_cert=str(certs / "cert.pem"),
        client_key=str(certs / "key.pem"),
        verify=True,
    )
    with Client(tls_engine.tls_host, tls=tls) as client, pytest.raises(ConnectError) as info:
        client.system.ping()
    assert "certificate" in str(info.value).lower()
    assert isinstance(info.value.__cause__, ConnectError | ssl.SSLError)


def test_tls_without_client_certificate_is_refused(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig(ca_cert=str(Path(tls_engine.tls_cert_path) / "ca.pem"), verify=True)
    with Client(tls_engine.tls_host, tls=tls) as client, pytest.raises(ConnectError):
        client.system.ping()


def test_keep_alive_reuses_one_connection(engine: Engine) -> None:
    with Client(engine.host) as client:
        for _ in range(20):
            client.system.ping()
        assert client._pool.idle_connections == 1


def test_missing_socket_names_host_and_how_it_was_chosen(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sock"
    with Client.from_env(environ={"DOCKER_HOST": f"unix://{missing}"}) as client:
        with pytest.raises(ConnectError) as info:
            client.system.ping()
    message = str(info.value)
    assert str(missing) in message and "DOCKER_HOST" in message
    assert info.value.host == f"unix://{missing}"


def test_refused_tcp_port_says_what_to_check() -> None:
    with Client("tcp://127.0.0.1:1") as client, pytest.raises(ConnectError) as info:
        client.system.info()
    assert "tcp://127.0.0.1:1" in str(info.value) and "argument" in str(info.value)


def test_version_gating_happens_before_anything_is_sent(tmp_path: Path) -> None:
    # Nothing listens there: if the request were sent this would be a ConnectError.
    with Client(f"unix://{tmp_path}/none.sock", version="1.41") as client:
        with pytest.raises(APIVersionError, match="manifests"):
            client.images.list(manifests=True)


def test_version_gating_on_a_real_old_engine(engine: Engine) -> None:
    with Client(engine.host) as client:
        if client.api_version() >= "1.47":
            assert isinstance(client.images.list(manifests=True), list)
        else:
            with pytest.raises(APIVersionError):
                client.images.list(manifests=True)


def test_pinned_version_below_minimum_is_refused() -> None:
    with pytest.raises(ConfigError, match="1.41"):
        Client("unix:///var/run/none.sock", version="1.40")


def test_pinned_version_is_used_without_negotiation(engine: Engine) -> None:
    with Client(engine.host, version="1.41") as client:
        assert client.api_version() == "1.41"
        assert client.last_ping is None
        assert client.system.version().api_version


def test_daemon_error_is_typed_with_message(engine: Engine) -> None:
    with Client(engine.host) as client:
        call: Call[object] = Call(
            "ContainerInspect",
            method="GET",
            path="/containers/engineapi-no-such/json",
            decode=lambda r: r,
        )
        with pytest.raises(NotFound) as info:
            client.send(call)
    error = info.value
    assert error.status == 404
    assert "engineapi-no-such" in error.message
    assert error.method == "GET" and error.path == "/containers/engineapi-no-such/json"
    assert error.host == engine.host


def test_stream_idle_timeout_not_a_whole_body_timeout(engine: Engine) -> None:
    with Client(engine.host, timeout=None) as client:
        client.timeouts = type(client.timeouts)(connect=5, response=5, read=0.5)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            for _ in client.system.events(filters={"container": ["engineapi-never"]}):
                pass
        assert 0.4 < time.monotonic() - start < 5
        assert client.system.ping().api_version  # the client is still usable


def test_breaking_out_of_a_stream_closes_its_connection(engine: Engine) -> None:
    with Client(engine.host, max_connections=1) as client:
        engine.docker("run", "--rm", "busybox", "true")
        for _event in client.system.events(since=time.time() - 60):
            break
        # With one slot, this would block forever if the stream had kept its connection.
        assert client.system.ping().api_version
        assert client._pool.idle_connections == 1


async def test_cancelling_an_async_stream_releases_the_connection(engine: Engine) -> None:
    async with AsyncClient(engine.host, max_connections=1) as client:

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


def _hijack_cat(client: Client, engine: Engine, payload: bytes) -> bytes:
    cid = engine.docker("create", "-i", "busybox", "cat").strip()
    try:
        call: Call[object] = Call(
            "ContainerAttach",
            method="POST",
            path=f"/containers/{cid}/attach",
            query={"stream": True, "stdin": True, "stdout": True, "stderr": True},
            decode=lambda r: r,
        )
        stream = client.hijack(call).stream
        with stream:
            engine.docker("start", cid)
            stream.write(payload)
            stream.close_write()
            out = bytearray()
            while chunk := stream.read(65536, timeout=30):
                out += chunk
        return bytes(out)
    finally:
        engine.docker("rm", "-f", cid, check=False)


def _stdout_of(frames: bytes) -> bytes:
    out = bytearray()
    while frames:
        size = int.from_bytes(frames[4:8], "big")
        if frames[0] == 1:
            out += frames[8 : 8 + size]
        frames = frames[8 + size :]
    return bytes(out)


def test_hijack_with_half_close_on_unix(engine: Engine) -> None:
    payload = os.urandom(64 * 1024).hex().encode()
    with Client(engine.host) as client:
        assert _stdout_of(_hijack_cat(client, engine, payload)) == payload


def test_hijack_with_half_close_on_tcp(tcp_engine: Engine) -> None:
    assert tcp_engine.tcp
    with Client(tcp_engine.tcp) as client:
        assert _stdout_of(_hijack_cat(client, tcp_engine, b"hello over tcp\n")) == (
            b"hello over tcp\n"
        )


def test_hijack_with_half_close_on_tls(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    with Client(tls_engine.tls_host, tls=tls) as client:
        assert _stdout_of(_hijack_cat(client, tls_engine, b"hello over tls\n")) == (
            b"hello over tls\n"
        )


def _cat_with_two_threads(client: Client, engine: Engine, payload: bytes) -> bytes:
    """Attach to ``cat``: one thread writes stdin (and half-closes) while this one reads."""
    cid = engine.docker("create", "-i", "--label", "engineapi.test=1", "busybox", "cat").strip()
    try:
        with client.containers.attach(cid, stdin=True) as attached:
            engine.docker("start", cid)
            failures: list[BaseException] = []

            def feed() -> None:
                try:
                    for start in range(0, len(payload), 65536):
                        attached.write(payload[start : start + 65536], timeout=30)
                    attached.close_write()
                except BaseException as exc:
                    failures.append(exc)

            writer = threading.Thread(target=feed)
            writer.start()
            out = bytearray()
            # A timeout unlike the writer's, so that a regression fails instead of hanging.
            while (frame := attached.read_frame(timeout=60)) is not None:
                if frame[0] == STDOUT:
                    out += frame[1]
            writer.join(30)
        assert not failures, failures
        return bytes(out)
    finally:
        engine.docker("rm", "-f", cid, check=False)


def _two_thread_payload() -> bytes:
    # Bigger than every buffer on the way, so both directions block in turn.
    return os.urandom(4 * 1024 * 1024).hex().encode()


def test_reading_and_writing_from_two_threads_on_unix(engine: Engine) -> None:
    # The writer's timeout (30 s) differs from the reader's (none): a socket timeout shared
    # by both directions hung this.
    payload = _two_thread_payload()
    with Client(engine.host) as client:
        assert _cat_with_two_threads(client, engine, payload) == payload


@pytest.mark.parametrize("over", ["tcp", "tls"])
def test_reading_and_writing_from_two_threads_over_the_network(
    over: str, tcp_engine: Engine, tls_engine: Engine
) -> None:
    # Over TLS both threads use one OpenSSL object, which must never run two calls at once.
    payload = _two_thread_payload()
    if over == "tcp":
        assert tcp_engine.tcp
        target, client = tcp_engine, Client(tcp_engine.tcp)
    else:
        assert tls_engine.tls_host and tls_engine.tls_cert_path
        tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
        target, client = tls_engine, Client(tls_engine.tls_host, tls=tls)
    with client:
        assert _cat_with_two_threads(client, target, payload) == payload


def test_tls_half_close_after_a_partial_read(tls_engine: Engine) -> None:
    # Output already received but not read yet must survive our close_notify: OpenSSL's
    # second SSL_shutdown (inside unwrap) refuses to skip over it.
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    script = "head -c 300000 /dev/zero | tr '\\0' a; cat"
    cid = tls_engine.docker("create", "-i", "busybox", "sh", "-c", script).strip()
    try:
        with Client(tls_engine.tls_host, tls=tls) as client:
            with client.containers.attach(cid, stdin=True) as attached:
                tls_engine.docker("start", cid)
                first = attached.read_frame(timeout=30)
                assert first is not None
                time.sleep(0.5)  # the rest of the 300 000 bytes arrives, unread
                attached.write(b"after\n")
                attached.close_write()
                out = bytearray(first[1])
                while (frame := attached.read_frame(timeout=30)) is not None:
                    out += frame[1]
        assert out == b"a" * 300000 + b"after\n"
    finally:
        tls_engine.docker("rm", "-f", cid, check=False)


async def test_async_tls_half_close_after_a_partial_read(tls_engine: Engine) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    script = "head -c 300000 /dev/zero | tr '\\0' a; cat"
    cid = tls_engine.docker("create", "-i", "busybox", "sh", "-c", script).strip()
    try:
        async with AsyncClient(tls_engine.tls_host, tls=tls) as client:
            async with await client.containers.attach(cid, stdin=True) as attached:
                await asyncio.to_thread(tls_engine.docker, "start", cid)
                first = await attached.read_frame(timeout=30)
                assert first is not None
                await asyncio.sleep(0.5)
                await attached.write(b"after\n")
                await attached.close_write()
                out = bytearray(first[1])
                while (frame := await attached.read_frame(timeout=30)) is not None:
                    out += frame[1]
        assert out == b"a" * 300000 + b"after\n"
    finally:
        tls_engine.docker("rm", "-f", cid, check=False)


def test_raw_body_streams_at_socket_pace(engine: Engine, busybox_container: str) -> None:
    with Client(engine.host) as client:
        call = RawCall(
            "ContainerExport", method="GET", path=f"/containers/{busybox_container}/export"
        )
        size = 0
        with RawStream(client, call) as stream:
            for piece in stream:
                size += len(piece)
    assert size > 500_000  # a busybox root filesystem as a tar


def _tar_of(name: str, content: bytes) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_streamed_request_body(engine: Engine, busybox_container: str, framing: str) -> None:
    content = os.urandom(300_000)
    tar = _tar_of("upload.bin", content)
    pieces = [tar[i : i + 65536] for i in range(0, len(tar), 65536)]
    call: Call[object] = Call(
        "PutContainerArchive",
        method="PUT",
        path=f"/containers/{busybox_container}/archive",
        query={"path": "/tmp"},
        headers=[("Content-Type", "application/x-tar")],
        body=iter(pieces),
        content_length=len(tar) if framing == "content-length" else None,
        decode=lambda r: r.status,
    )
    with Client(engine.host) as client:
        assert client.send(call) == 200
    size = engine.docker("exec", busybox_container, "wc", "-c", "/tmp/upload.bin").split()[0]
    assert int(size) == len(content)


async def test_async_streamed_request_body(engine: Engine, busybox_container: str) -> None:
    tar = _tar_of("async.txt", b"from an async generator\n")

    async def pieces() -> object:
        for i in range(0, len(tar), 1000):
            await asyncio.sleep(0)
            yield tar[i : i + 1000]

    call: Call[object] = Call(
        "PutContainerArchive",
        method="PUT",
        path=f"/containers/{busybox_container}/archive",
        query={"path": "/tmp"},
        body=pieces(),  # type: ignore[arg-type]
        decode=lambda r: r.status,
    )
    async with AsyncClient(engine.host) as client:
        assert await client.send(call) == 200
    assert engine.docker("exec", busybox_container, "cat", "/tmp/async.txt") == (
        "from an async generator\n"
    )


def test_response_timeout_bounds_the_wait_for_the_head(
    engine: Engine, busybox_container: str
) -> None:
    # busybox sleep as PID 1 ignores SIGTERM: stop answers only after its 3 s grace period.
    call: Call[object] = Call(
        "ContainerStop",
        method="POST",
        path=f"/containers/{busybox_container}/stop",
        query={"t": 3},
        decode=lambda r: r.status,
    )
    with Client(engine.host) as client:
        client.timeouts = type(client.timeouts)(connect=5, response=0.5, read=None)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            client.send(call)
        assert time.monotonic() - start < 2.5
        assert client.system.ping().api_version  # a fresh connection works


async def test_async_stream_idle_timeout(engine: Engine) -> None:
    from engineapi import Timeouts

    async with AsyncClient(
        engine.host, timeout=Timeouts(connect=5, response=5, read=0.5)
    ) as client:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            async for _ in client.system.events(filters={"container": ["engineapi-never"]}):
                pass
        assert 0.4 < time.monotonic() - start < 5
        assert (await client.system.ping()).api_version


def test_a_full_pool_times_out_naming_what_holds_it(engine: Engine) -> None:
    """Two streams kept open on a two-connection pool: a third call waits `Timeouts.pool`,
    then fails with a PoolTimeout that says how the connections are held — and once a stream
    is closed, calls go through again."""
    # It says something at once: Podman sends the head of a followed log only with output.
    cid = engine.docker(
        "run", "-d", "--label", "engineapi.test=1", "busybox", "sh", "-c", "echo hi; sleep 60"
    ).strip()
    try:
        with Client(engine.host, max_connections=2, timeout=Timeouts(pool=0.5)) as client:
            client.api_version()
            with client.system.events(), client.containers.logs(cid, follow=True):
                started = time.monotonic()
                with pytest.raises(PoolTimeout) as info:
                    client.system.ping()
                assert 0.4 < time.monotonic() - started < 5
                message = str(info.value)
                assert "all 2 connections" in message and "0 of them by hijacked" in message
            assert client.system.ping().api_version
    finally:
        engine.docker("rm", "-f", cid, check=False)


async def test_async_a_full_pool_times_out(engine: Engine) -> None:
    timeouts = Timeouts(pool=0.5)
    async with AsyncClient(engine.host, max_connections=1, timeout=timeouts) as client:
        await client.api_version()
        async with client.system.events() as events:
            started = time.monotonic()
            with pytest.raises(PoolTimeout, match="all 1 connections"):
                await client.system.ping()
            assert 0.4 < time.monotonic() - started < 5
            del events
        assert (await client.system.ping()).api_version
