"""Stopping a follower thread the docker-py way: another thread closes the stream.

The reading thread must wake within 100 ms and end its loop cleanly (no exception), on every
engine; the descriptor is closed once no thread uses it, so a reused number is never read.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from engineapi import Client, ConnectionLost
from engineapi.transports._socket import SocketStream
from tests.conftest import Engine


@pytest.fixture
def talker(engine: Engine) -> Iterator[str]:
    """A container that prints a line every 50 ms."""
    cid = engine.docker(
        "run",
        "-d",
        "--label",
        "engineapi.test=1",
        "busybox",
        "sh",
        "-c",
        "while true; do echo tick; sleep 0.05; done",
    ).strip()
    try:
        yield cid
    finally:
        engine.docker("rm", "-f", cid, check=False)


def _follow_then_close(stream: Any, *, quiet_after: float) -> tuple[float, list[BaseException]]:
    """Iterate `stream` in a thread, close it from here once it has run `quiet_after` s; how
    long the reader took to stop after close(), and what it raised."""
    errors: list[BaseException] = []
    items: list[object] = []
    stopped = threading.Event()

    def read() -> None:
        try:
            for item in stream:
                items.append(item)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stopped.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(quiet_after)
    started = time.monotonic()
    stream.close()
    assert stopped.wait(5), "the reader is still blocked 5 s after close()"
    reader.join(5)
    return time.monotonic() - started, errors


def test_logs_follow_closed_from_another_thread(engine: Engine, talker: str) -> None:
    with Client(engine.host) as client:
        logs = client.containers.logs(talker, follow=True)
        took, errors = _follow_then_close(logs, quiet_after=0.5)
        assert errors == [] and took < 0.1, (took, errors)
        # The pool is sound afterwards: the connection was dropped, a new one serves.
        assert client.system.ping().api_version


def test_events_closed_from_another_thread_while_silent(engine: Engine) -> None:
    """No event comes: the reader is blocked in the wait itself, not between items."""
    with Client(engine.host) as client:
        events = client.system.events(filters={"label": ["engineapi.never=1"]})
        took, errors = _follow_then_close(events, quiet_after=0.5)
        assert errors == [] and took < 0.1, (took, errors)
        assert client.system.ping().api_version


def test_an_attached_stream_closed_from_another_thread(engine: Engine, talker: str) -> None:
    with Client(engine.host) as client:
        attached = client.containers.attach(talker, stdout=True, stream=True)
        took, errors = _follow_then_close(attached, quiet_after=0.3)
        assert errors == [] and took < 0.1, (took, errors)


def test_a_closed_socket_stream_is_never_read_again() -> None:
    """Its descriptor number may already name another file: reading it is refused."""
    left, right = socket.socketpair()
    stream = SocketStream(left)
    right.sendall(b"x")
    assert stream.read(10, 1) == b"x"
    stream.close()
    with pytest.raises(ConnectionLost, match="closed by the client"):
        stream.read(10, 1)
    right.close()


def test_a_socket_stream_closed_under_a_blocked_reader() -> None:
    left, right = socket.socketpair()
    stream = SocketStream(left)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(stream.read(10, 30)))
    reader.start()
    time.sleep(0.2)
    started = time.monotonic()
    stream.close()
    reader.join(5)
    assert got == [b""] and time.monotonic() - started < 0.1
    assert left.fileno() == -1  # closed by the reader on its way out
    right.close()


def test_over_tls_too(tls_engine: Engine) -> None:
    from engineapi.config import TLSConfig

    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    with Client(tls_engine.tls_host, tls=tls) as client:
        events = client.system.events(filters={"label": ["engineapi.never=1"]})
        took, errors = _follow_then_close(events, quiet_after=0.5)
        assert errors == [] and took < 0.1, (took, errors)
        assert client.system.ping().api_version


# -- closing the client ends what it opened ------------------------------------------------------


def test_closing_the_client_ends_its_streams_and_refuses_new_calls(
    engine: Engine, talker: str
) -> None:
    from engineapi import ClientClosed

    client = Client(engine.host)
    logs = client.containers.logs(talker, follow=True)
    events = client.system.events(filters={"label": ["engineapi.never=1"]})
    attached = client.containers.attach(talker, stdout=True, stream=True)
    outcomes: dict[str, BaseException | None] = {}
    stopped = {name: threading.Event() for name in ("logs", "events", "attach")}

    def follow(name: str, stream: Any) -> None:
        try:
            for _ in stream:
                pass
            outcomes[name] = None
        except BaseException as exc:
            outcomes[name] = exc
        finally:
            stopped[name].set()

    for name, stream in (("logs", logs), ("events", events), ("attach", attached)):
        threading.Thread(target=follow, args=(name, stream), daemon=True).start()
    time.sleep(0.5)
    started = time.monotonic()
    client.close()
    for name, event in stopped.items():
        assert event.wait(5), f"{name} still running 5 s after close()"
    assert time.monotonic() - started < 0.5
    for name, outcome in outcomes.items():
        assert isinstance(outcome, ConnectionLost), (name, outcome)
        assert "the client was closed" in str(outcome), (name, outcome)
    with pytest.raises(ClientClosed, match="make a new one"):
        client.system.ping()
    with pytest.raises(ClientClosed):
        client.containers.logs(talker).read()


async def test_aclose_ends_the_async_clients_streams(engine: Engine, talker: str) -> None:
    import asyncio

    from engineapi import AsyncClient, ClientClosed

    client = AsyncClient(engine.host)
    logs = client.containers.logs(talker, follow=True)

    async def follow() -> BaseException | None:
        try:
            async for _ in logs:
                pass
        except BaseException as exc:
            return exc
        return None

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    await client.aclose()
    outcome = await asyncio.wait_for(task, 5)
    assert isinstance(outcome, ConnectionLost) and "the client was closed" in str(outcome)
    with pytest.raises(ClientClosed):
        await client.system.ping()
