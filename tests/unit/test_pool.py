"""Pool behaviour no real engine produces on demand: a peer that drops kept-alive connections.

The peer is a small scripted HTTP/1.1 server on a unix socket: for each connection it follows a
script of "answer" / "drop" (read the request, close without answering).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client
from engineapi.api._call import Call
from engineapi.errors import ConnectionLost, RemoteProtocolError

ANSWER = b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Length: 2\r\n\r\nOK"


class ScriptedPeer:
    def __init__(self, path: Path, scripts: list[list[str]]) -> None:
        self.path = path
        self.scripts = scripts
        self.connections = 0
        self.requests: list[bytes] = []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            script = (
                self.scripts[self.connections]
                if self.connections < len(self.scripts)
                else ["answer"] * 100
            )
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn, script), daemon=True).start()

    def _handle(self, conn: socket.socket, script: list[str]) -> None:
        with conn:
            for step in script:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.requests.append(data.split(b"\r\n")[0])
                if step == "drop":
                    return
                if step == "hang":  # never answer: wait for the client to close
                    while conn.recv(65536):
                        pass
                    return
                conn.sendall(ANSWER)
                if step == "answer-then-close":
                    return

    def close(self) -> None:
        self.server.close()


PeerFactory = Callable[[list[list[str]]], ScriptedPeer]


@pytest.fixture
def peer_path(tmp_path: Path) -> Path:
    return tmp_path / "peer.sock"


@pytest.fixture
def make_peer(peer_path: Path) -> Iterator[PeerFactory]:
    peers: list[ScriptedPeer] = []

    def make(scripts: list[list[str]]) -> ScriptedPeer:
        peer = ScriptedPeer(peer_path, scripts)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


def ping_call(method: str = "GET") -> Call[bytes]:
    return Call(
        "SystemPing", method=method, path="/_ping", decode=lambda r: r.body, versioned=False
    )


def test_idle_connection_closed_by_peer_is_detected(
    make_peer: PeerFactory, peer_path: Path
) -> None:
    """A request that is never retried (POST) checks the idle connection before use: the one
    the peer closed is dropped, the request goes on a new one (sent once, never lost)."""
    peer = make_peer([["answer-then-close"], ["answer"] * 10])
    with Client(f"unix://{peer_path}", version="1.51") as client:
        assert client.send(ping_call("POST")) == b"OK"
        time.sleep(0.1)  # the peer has closed the idle connection by now
        assert client.send(ping_call("POST")) == b"OK"
    assert peer.connections == 2
    assert len(peer.requests) == 2


def test_get_on_connection_closed_while_idle_succeeds(
    make_peer: PeerFactory, peer_path: Path
) -> None:
    """An idempotent request skips the check (a syscall per request) and is retried instead:
    sent on the dead connection, failed before any response byte, sent again on a new one."""
    peer = make_peer([["answer-then-close"], ["answer"] * 10])
    with Client(f"unix://{peer_path}", version="1.51") as client:
        assert client.send(ping_call()) == b"OK"
        time.sleep(0.1)  # the peer has closed the idle connection by now
        assert client.send(ping_call()) == b"OK"
        assert client._pool.idle_connections == 1  # type: ignore[attr-defined]
    assert peer.connections == 2


async def test_async_get_on_connection_closed_while_idle_succeeds(
    make_peer: PeerFactory, peer_path: Path
) -> None:
    peer = make_peer([["answer-then-close"], ["answer"] * 10, ["answer"] * 10])
    async with AsyncClient(f"unix://{peer_path}", version="1.51") as client:
        assert await client.send(ping_call()) == b"OK"
        await asyncio.sleep(0.1)  # the peer has closed the idle connection by now
        assert await client.send(ping_call()) == b"OK"
        # A POST then finds the (live) connection of the retry and uses it.
        assert await client.send(ping_call("POST")) == b"OK"
        assert client._pool.idle_connections == 1
    assert peer.connections == 2


async def test_async_idle_connection_closed_by_peer_is_detected(
    make_peer: PeerFactory, peer_path: Path
) -> None:
    peer = make_peer([["answer-then-close"], ["answer"] * 10])
    async with AsyncClient(f"unix://{peer_path}", version="1.51") as client:
        assert await client.send(ping_call("POST")) == b"OK"
        await asyncio.sleep(0.1)
        assert await client.send(ping_call("POST")) == b"OK"
    assert peer.connections == 2
    assert len(peer.requests) == 2


def test_idempotent_request_retried_once_when_reused_connection_dies(
    make_peer: PeerFactory, peer_path: Path
) -> None:
    peer = make_peer([["answer", "drop"], ["answer"]])
    with Client(f"unix://{peer_path}", version="1.51") as client:
        assert client.send(ping_call()) == b"OK"
        assert client.send(ping_call()) == b"OK"  # dropped, then retried on a new connection
    assert peer.connections == 2
    assert len(peer.requests) == 3


def test_non_idempotent_request_is_not_retried(make_peer: PeerFactory, peer_path: Path) -> None:
    peer = make_peer([["answer", "drop"], ["answer"]])
    with Client(f"unix://{peer_path}", version="1.51") as client:
        assert client.send(ping_call("POST")) == b"OK"
        with pytest.raises((ConnectionLost, RemoteProtocolError)):
            client.send(ping_call("POST"))
    assert peer.connections == 1


def test_fresh_connection_failure_is_not_retried(make_peer: PeerFactory, peer_path: Path) -> None:
    peer = make_peer([["drop"], ["answer"]])
    with Client(f"unix://{peer_path}", version="1.51") as client:
        with pytest.raises(ConnectionLost, match="without a response"):
            client.send(ping_call())
    assert peer.connections == 1


async def test_async_retry_and_pool_limit(make_peer: PeerFactory, peer_path: Path) -> None:
    peer = make_peer([["answer", "drop"]] + [["answer"] * 100] * 10)
    async with AsyncClient(f"unix://{peer_path}", version="1.51", max_connections=3) as client:
        assert await client.send(ping_call()) == b"OK"
        assert await client.send(ping_call()) == b"OK"
        results = await asyncio.gather(*[client.send(ping_call()) for _ in range(30)])
        assert results == [b"OK"] * 30
        assert client._pool.idle_connections <= 3
    assert peer.connections <= 1 + 3


async def test_async_close_cuts_a_call_on_a_reused_connection(
    make_peer: PeerFactory, peer_path: Path
) -> None:
    """A GET cut by the client's close is not retried on a new connection (which the closed
    client would then hold): it fails with `ConnectionLost` saying the client closed."""
    peer = make_peer([["answer", "hang"], ["answer"] * 10])
    client = AsyncClient(f"unix://{peer_path}", version="1.51")
    assert await client.send(ping_call()) == b"OK"
    pending = asyncio.ensure_future(client.send(ping_call()))
    await asyncio.sleep(0.1)  # sent on the reused connection, the peer holds it
    await client.aclose()
    with pytest.raises(ConnectionLost, match="closed"):
        await pending
    assert peer.connections == 1


def test_close_cuts_a_call_on_a_reused_connection(make_peer: PeerFactory, peer_path: Path) -> None:
    peer = make_peer([["answer", "hang"], ["answer"] * 10])
    client = Client(f"unix://{peer_path}", version="1.51")
    assert client.send(ping_call()) == b"OK"
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.send(ping_call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.1)  # sent on the reused connection, the peer holds it
    client.close()
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ConnectionLost), errors
    assert peer.connections == 1
