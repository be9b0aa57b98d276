"""A real dockerd SIGKILLed under the client: mid-request, mid-stream, hijacked and while its
connections idle in the pool. Each time the client raises a typed error within the timeouts
(never hangs), the next call on the same client succeeds once the daemon is back (the pool drops
the dead connections), and no descriptor or thread is left behind — sync and async.

The daemon is one of the test's own (`tests.faults.dockerd`): the shared engines are never
disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from engineapi import AsyncClient, Client, ConnectError, EngineAPIError, Timeouts
from engineapi.api import system as api_system
from engineapi.errors import ConnectionLost, TransportError
from tests.conftest import OPT_OUT
from tests.faults.dockerd import IMAGE, IMAGE_TAR, DedicatedDockerd, missing

pytestmark = pytest.mark.live

TIMEOUTS = Timeouts(connect=2, response=10, read=10, pool=2)
#: From the kill to the error: the daemon's death is seen at once (EOF), not by a timeout.
WITHIN = 3.0
#: What a test may take at all before it counts as hung.
HANG = 20
#: How long after the call starts the daemon is killed (mid-request cases).
KILL_AFTER = 0.5
#: A container that writes a line every 0.1 s. Its PID 1 (a shell with no handler) ignores
#: SIGTERM; its stop signal is SIGKILL so that the restarted daemon does not wait to stop it.
TICKER = ["sh", "-c", "while :; do echo tick; sleep 0.1; done"]
CONFIG = {"StopSignal": "SIGKILL", "HostConfig": {"NetworkMode": "none"}}


@pytest.fixture(scope="module")
def dockerd() -> Iterator[DedicatedDockerd]:
    reason = missing()
    if reason is not None:
        if os.environ.get(OPT_OUT):
            pytest.skip(f"{OPT_OUT}=1 and no dedicated dockerd can run here: {reason}")
        pytest.fail(f"cannot start a dedicated dockerd: {reason}", pytrace=False)
    daemon = DedicatedDockerd()
    try:
        daemon.start()
        with Client(daemon.host, timeout=TIMEOUTS, environ={}) as client:
            client.images.import_image(
                IMAGE_TAR.read_bytes(), repo="busybox", tag="latest", changes=['CMD ["sh"]']
            ).wait()
        yield daemon
    finally:
        daemon.teardown()


@pytest.fixture
def daemon(dockerd: DedicatedDockerd) -> DedicatedDockerd:
    """The dedicated dockerd, answering (a test that failed half-way may have left it dead)."""
    if not dockerd.running():
        dockerd.kill()
        dockerd.start()
    return dockerd


def _descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def _no_leaks() -> Iterator[None]:
    """Descriptors and threads after as before (the client is made and closed inside)."""
    threads = threading.active_count()
    before = _descriptors()
    yield
    assert _descriptors() <= before, f"descriptors: {before} before, {_descriptors()} after"
    deadline = time.monotonic() + 5
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads


class Hung(AssertionError):
    pass


@contextlib.contextmanager
def _hang_guard(seconds: float) -> Iterator[None]:
    """Fail (rather than hang the suite) if the block takes longer than `seconds`."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"the client hung for {seconds} s after the daemon was killed")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _typed(error: BaseException) -> None:
    """The daemon's death as engineapi reports it: the connection was lost."""
    assert isinstance(error, EngineAPIError), f"untyped {error!r}"
    assert isinstance(error, (ConnectionLost, ConnectError)), f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------------------- sync --


def _run(client: Client, cid: str, case: str, kill: Callable[[], None]) -> None:
    """The call `case` names; `kill()` is called when the call is under way (mid-stream cases)
    or a timer calls it (mid-request cases)."""
    if case == "stop-before-first-byte":
        # PID 1 ignores SIGTERM: 30 s of silence before the daemon answers.
        client.containers.stop(cid, timeout=30, signal="SIGTERM")
    elif case == "wait":
        client.containers.wait(cid)
    elif case == "exec-run":
        client.exec.run(cid, ["sleep", "30"])
    elif case == "logs-follow":
        with client.containers.logs(cid, follow=True) as logs:
            for _ in logs:
                kill()
    elif case == "events":
        with client.system.events(since=0) as events:
            for _ in events:
                kill()
    elif case == "attach":
        with client.containers.attach(cid, stdout=True, stderr=True) as attached:
            for _ in attached:
                kill()
        # A hijacked stream has no end marker: over a unix socket the daemon's death is an EOF
        # like the container's exit (the docker CLI sees the same). The next call tells.
        client.containers.inspect(cid)
    else:
        raise AssertionError(case)


TIMED = {"stop-before-first-byte", "wait", "exec-run"}
CASES = ["stop-before-first-byte", "wait", "exec-run", "logs-follow", "events", "attach"]


@pytest.mark.parametrize("case", CASES)
def test_sync_killed(daemon: DedicatedDockerd, case: str) -> None:
    with _no_leaks(), _hang_guard(HANG):
        with Client(daemon.host, timeout=TIMEOUTS, environ={}) as client:
            cid = client.containers.run_detached(IMAGE, TICKER, config=CONFIG, pull="never")
            killed: list[float] = []

            def kill() -> None:
                if not killed:
                    killed.append(time.monotonic())
                    daemon.kill_now()

            timer = threading.Timer(KILL_AFTER, kill) if case in TIMED else None
            if timer:
                timer.start()
            try:
                with pytest.raises(EngineAPIError) as caught:
                    _run(client, cid, case, kill)
            finally:
                if timer:
                    timer.cancel()
                    timer.join()
            assert killed, "the call ended before the daemon was killed"
            assert time.monotonic() - killed[0] < WITHIN
            _typed(caught.value)

            daemon.restart()
            # The same client, on a fresh connection.
            assert client.system.ping().api_version
            client.containers.inspect(cid)
            client.containers.delete(cid, force=True)


def test_sync_idle_connections(daemon: DedicatedDockerd) -> None:
    with _no_leaks(), _hang_guard(HANG):
        with Client(daemon.host, timeout=TIMEOUTS, environ={}, max_connections=4) as client:
            _fill_pool_sync(client)
            daemon.kill()
            started = time.monotonic()
            with pytest.raises(EngineAPIError) as caught:
                client.system.info()
            assert time.monotonic() - started < WITHIN
            assert isinstance(caught.value, TransportError), repr(caught.value)
            daemon.start()
            client.system.info()
            assert client.system.ping().api_version


def test_sync_idle_connections_restarted_quietly(daemon: DedicatedDockerd) -> None:
    """Killed and back before the next call: every idle connection is dead; none is used, even
    by requests that are never retried (POST)."""
    with _no_leaks(), _hang_guard(HANG):
        with Client(daemon.host, timeout=TIMEOUTS, environ={}, max_connections=4) as client:
            _fill_pool_sync(client)
            daemon.restart()
            for _ in range(IDLE + 1):
                cid = client.containers.create({"Image": IMAGE, **CONFIG}).id
                client.containers.delete(cid)


#: How many connections the pool holds idle when the daemon is killed.
IDLE = 3


def _fill_pool_sync(client: Client) -> None:
    """`IDLE` connections idle in the pool: streams opened at once, then each read to its end."""
    opened = [client.open_stream(api_system.info()) for _ in range(IDLE)]
    for each in opened:
        each.response.read()
    assert client._pool.idle_connections == IDLE  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------- async --


async def _arun(client: AsyncClient, cid: str, case: str, kill: Callable[[], None]) -> None:
    if case == "stop-before-first-byte":
        await client.containers.stop(cid, timeout=30, signal="SIGTERM")
    elif case == "wait":
        await client.containers.wait(cid)
    elif case == "exec-run":
        await client.exec.run(cid, ["sleep", "30"])
    elif case == "logs-follow":
        async with client.containers.logs(cid, follow=True) as logs:
            async for _ in logs:
                kill()
    elif case == "events":
        async with client.system.events(since=0) as events:
            async for _ in events:
                kill()
    elif case == "attach":
        async with await client.containers.attach(cid, stdout=True, stderr=True) as attached:
            async for _ in attached:
                kill()
        await client.containers.inspect(cid)
    else:
        raise AssertionError(case)


@pytest.mark.parametrize("case", CASES)
def test_async_killed(daemon: DedicatedDockerd, case: str) -> None:
    async def main() -> None:
        async with AsyncClient(daemon.host, timeout=TIMEOUTS, environ={}) as client:
            cid = await client.containers.run_detached(IMAGE, TICKER, config=CONFIG, pull="never")
            killed: list[float] = []

            def kill() -> None:
                if not killed:
                    killed.append(time.monotonic())
                    daemon.kill_now()

            timer = (
                asyncio.get_running_loop().call_later(KILL_AFTER, kill) if case in TIMED else None
            )
            try:
                with pytest.raises(EngineAPIError) as caught:
                    async with asyncio.timeout(HANG):
                        await _arun(client, cid, case, kill)
            finally:
                if timer:
                    timer.cancel()
            assert killed, "the call ended before the daemon was killed"
            assert time.monotonic() - killed[0] < WITHIN
            _typed(caught.value)

            daemon.restart()
            assert (await client.system.ping()).api_version
            await client.containers.inspect(cid)
            await client.containers.delete(cid, force=True)

    with _no_leaks(), _hang_guard(HANG + 5):
        asyncio.run(main())


def test_async_idle_connections(daemon: DedicatedDockerd) -> None:
    async def main() -> None:
        async with AsyncClient(
            daemon.host, timeout=TIMEOUTS, environ={}, max_connections=4
        ) as client:
            await _fill_pool_async(client)
            daemon.kill()
            started = time.monotonic()
            with pytest.raises(EngineAPIError) as caught:
                await client.system.info()
            assert time.monotonic() - started < WITHIN
            assert isinstance(caught.value, TransportError), repr(caught.value)
            daemon.start()
            await client.system.info()
            assert (await client.system.ping()).api_version

    with _no_leaks(), _hang_guard(HANG):
        asyncio.run(main())


def test_async_idle_connections_restarted_quietly(daemon: DedicatedDockerd) -> None:
    async def main() -> None:
        async with AsyncClient(
            daemon.host, timeout=TIMEOUTS, environ={}, max_connections=4
        ) as client:
            await _fill_pool_async(client)
            daemon.restart()
            for _ in range(IDLE + 1):
                cid = (await client.containers.create({"Image": IMAGE, **CONFIG})).id
                await client.containers.delete(cid)

    with _no_leaks(), _hang_guard(HANG):
        asyncio.run(main())


async def _fill_pool_async(client: AsyncClient) -> None:
    opened = [await client.open_stream(api_system.info()) for _ in range(IDLE)]
    for each in opened:
        await each.response.read()
    assert client._pool.idle_connections == IDLE  # type: ignore[attr-defined]
