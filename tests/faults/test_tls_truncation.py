"""TCP closed under TLS without a close_notify cuts a close-delimited body or a hijacked stream:
`ConnectionLost`, never a clean end; with a close_notify both end cleanly. Sync and async, on a
local TLS stub (certificates made here with the ``openssl`` CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, ConnectionLost, Timeouts
from engineapi.config import TLSConfig

TIMEOUTS = Timeouts(connect=5, response=5, read=5, pool=5)

PING = (
    b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Type: text/plain\r\n"
    b"Connection: close\r\n\r\nOK"
)
INSPECT_BODY = b'{"Id":"c","Config":{"Tty":true}}'
INSPECT = b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Type: application/json\r\n" + (
    b"Content-Length: %d\r\n\r\n%s" % (len(INSPECT_BODY), INSPECT_BODY)
)
UPGRADED = (
    b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
    b"Connection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1.51\r\n\r\nhello"
)


def _certificates(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make the stub's certificate", pytrace=False)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key),
            "-out", str(cert), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _serve(server: socket.socket, cert: str, key: str, notify: bool) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def serve(raw: socket.socket) -> None:
        with contextlib.suppress(OSError), context.wrap_socket(raw, server_side=True) as conn:
            while True:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(65536)
                    if not data:
                        return
                    head += data
                if b"/json " in head:
                    conn.sendall(INSPECT)  # keep-alive: the next request follows
                    continue
                conn.sendall(UPGRADED if b"/attach" in head else PING)
                if notify:
                    conn.unwrap().close()  # close_notify, then TCP closed
                # else: SSLSocket.close() closes TCP without a close_notify
                return

    while True:
        raw, _ = server.accept()
        threading.Thread(target=serve, args=(raw,), daemon=True).start()


@contextlib.contextmanager
def tls_stub(directory: Path, *, notify: bool) -> Iterator[tuple[str, TLSConfig]]:
    cert, key = _certificates(directory)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    child = multiprocessing.get_context("fork").Process(
        target=_serve, args=(server, str(cert), str(key), notify), daemon=True
    )
    child.start()
    server.close()
    try:
        yield f"tcp://127.0.0.1:{port}", TLSConfig(ca_cert=str(cert))
    finally:
        if child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        child.join(5)
        child.close()


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_sync_close_delimited_body(tmp_path: Path) -> None:
    with tls_stub(tmp_path, notify=False) as (host, tls):
        before = _descriptors()
        with Client(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            with pytest.raises(ConnectionLost, match="close_notify"):
                client.system.ping()
        assert _descriptors() <= before


def test_sync_close_delimited_body_with_close_notify(tmp_path: Path) -> None:
    with tls_stub(tmp_path, notify=True) as (host, tls):
        with Client(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            assert client.system.ping().api_version == "1.51"


def test_sync_hijacked(tmp_path: Path) -> None:
    with tls_stub(tmp_path, notify=False) as (host, tls):
        before = _descriptors()
        with Client(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            with client.containers.attach("c") as attached:
                with pytest.raises(ConnectionLost, match="close_notify"):
                    for _ in attached:
                        pass
        assert _descriptors() <= before


def test_sync_hijacked_with_close_notify(tmp_path: Path) -> None:
    with tls_stub(tmp_path, notify=True) as (host, tls):
        with Client(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as client:
            with client.containers.attach("c") as attached:
                assert b"".join(data for _, data in attached) == b"hello"


def test_async_close_delimited_body(tmp_path: Path) -> None:
    async def main(host: str, tls: TLSConfig) -> None:
        async with AsyncClient(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as c:
            with pytest.raises(ConnectionLost, match="close_notify"):
                await c.system.ping()

    with tls_stub(tmp_path, notify=False) as (host, tls):
        before = _descriptors()
        asyncio.run(main(host, tls))
        assert _descriptors() <= before


def test_async_close_delimited_body_with_close_notify(tmp_path: Path) -> None:
    async def main(host: str, tls: TLSConfig) -> None:
        async with AsyncClient(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as c:
            assert (await c.system.ping()).api_version == "1.51"

    with tls_stub(tmp_path, notify=True) as (host, tls):
        asyncio.run(main(host, tls))


def test_async_hijacked(tmp_path: Path) -> None:
    async def main(host: str, tls: TLSConfig) -> None:
        async with AsyncClient(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as c:
            async with await c.containers.attach("c") as attached:
                with pytest.raises(ConnectionLost, match="close_notify"):
                    async for _ in attached:
                        pass

    with tls_stub(tmp_path, notify=False) as (host, tls):
        before = _descriptors()
        asyncio.run(main(host, tls))
        assert _descriptors() <= before


def test_async_hijacked_with_close_notify(tmp_path: Path) -> None:
    async def main(host: str, tls: TLSConfig) -> None:
        async with AsyncClient(host, tls=tls, version="1.51", timeout=TIMEOUTS, environ={}) as c:
            async with await c.containers.attach("c") as attached:
                assert b"".join([data async for _, data in attached]) == b"hello"

    with tls_stub(tmp_path, notify=True) as (host, tls):
        asyncio.run(main(host, tls))
