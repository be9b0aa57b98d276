"""The only hand-paired concurrency primitives: everything in `_async/` uses these, and the
generated `_sync/` twin gets the blocking ones by renaming (`AsyncLock` → `Lock`, …)."""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    import asyncio

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "AsyncBackground",
    "AsyncLock",
    "AsyncPendingRead",
    "AsyncSemaphore",
    "Background",
    "Lock",
    "PendingRead",
    "Semaphore",
    "arun_blocking",
    "asleep",
    "run_blocking",
    "sleep",
]


class AsyncLock:
    """`asyncio.Lock`, created lazily so a client can be built outside a running loop, and
    made anew for each event loop it is used on (a client reused across ``asyncio.run()``)."""

    __slots__ = ("_lock", "_loop")

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> None:
        import asyncio  # lazily: the blocking client never needs it

        loop = asyncio.get_running_loop()
        if self._lock is None or loop is not self._loop:
            self._lock = asyncio.Lock()
            self._loop = loop
        await self._lock.acquire()

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._lock is not None
        self._lock.release()


class Lock:
    """A `threading.Lock` with the same shape as `AsyncLock`."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()


class AsyncSemaphore:
    """Bounds the connections in use. Its own, not `asyncio.Semaphore`: a token is taken by a
    plain method call when one is free (`acquire_nowait`), no coroutine, on every request.
    Waiters are futures of the running loop (a pool makes a new semaphore for a new loop)."""

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: int) -> None:
        self._value = value
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def acquire_nowait(self) -> bool:
        """Take a token if one is free and nobody waits for one; else False."""
        if self._value > 0 and not self._waiters:
            self._value -= 1
            return True
        return False

    async def acquire(self, timeout: float | None = None) -> bool:
        """Take a token; False if none came free within `timeout` seconds."""
        if self.acquire_nowait():
            return True
        import asyncio

        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            if timeout is None:
                await waiter
            else:
                async with asyncio.timeout(timeout):
                    await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a token just as this wait ended: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            if isinstance(exc, TimeoutError) and timeout is not None:
                return False
            raise
        return True

    def release(self) -> None:
        """Give a token back: to the longest waiter, if any (it then holds it)."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._value += 1


class Semaphore:
    """A blocking semaphore with the same shape as `AsyncSemaphore`.

    A queue of tokens: `SimpleQueue` is implemented in C, several times cheaper per request
    than `threading.Semaphore`, which is written in Python around a Condition.
    """

    __slots__ = ("_tokens",)

    def __init__(self, value: int) -> None:
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(value):
            self._tokens.put(None)

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a token; False if none came free within `timeout` seconds."""
        try:
            self._tokens.get(timeout=timeout)
        except queue.Empty:
            return False
        return True

    def acquire_nowait(self) -> bool:
        """Take a token if one is free; else False."""
        try:
            self._tokens.get_nowait()
        except queue.Empty:
            return False
        return True

    def release(self) -> None:
        self._tokens.put(None)


async def asleep(seconds: float) -> None:
    """`asyncio.sleep`; the generated sync code calls `sleep` instead."""
    import asyncio

    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    """`time.sleep`, the blocking twin of `asleep`."""
    time.sleep(seconds)


async def arun_blocking(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run blocking work (files, a credential helper) in a worker thread, off the event loop;
    the generated sync code calls `run_blocking` instead."""
    import asyncio

    return await asyncio.to_thread(function, *args, **kwargs)


def run_blocking(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """The blocking twin of `arun_blocking`: a plain call."""
    return function(*args, **kwargs)


class AsyncBackground:
    """A coroutine run as a task beside the caller's work (stdin written while output is read);
    `join()` waits for it and raises what it raised, `stop()` cancels it and ignores errors."""

    __slots__ = ("_task",)

    def __init__(self, function: Callable[P, Awaitable[Any]], *args: P.args, **kwargs: P.kwargs):
        import asyncio

        async def run() -> None:
            await function(*args, **kwargs)

        self._task = asyncio.ensure_future(run())

    async def join(self) -> None:
        await self._task

    async def stop(self) -> None:
        import asyncio

        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):
            pass


class Background:
    """The blocking twin of `AsyncBackground`: a daemon thread. `stop()` cannot interrupt it:
    the caller first closes what it blocks on (a closed stream wakes its writer)."""

    __slots__ = ("_error", "_thread")

    def __init__(self, function: Callable[P, Any], *args: P.args, **kwargs: P.kwargs):
        self._error: BaseException | None = None

        def run() -> None:
            try:
                function(*args, **kwargs)
            except BaseException as exc:  # handed to join()
                self._error = exc

        self._thread = threading.Thread(target=run, name="engineapi-background", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._thread.join(5.0)


class AsyncPendingRead:
    """Reads of an async iterator (a plug-in backend's body) that a timeout or a cancel does
    not lose: the read in flight runs as a task, which the next `next()` awaits again."""

    __slots__ = ("_iterator", "_task")

    def __init__(self, iterator: AsyncIterator[bytes]) -> None:
        self._iterator = iterator
        self._task: asyncio.Future[bytes | None] | None = None

    async def next(self, wait: float | None) -> bytes | None:
        """The next piece (``None`` at the end); `WaitTimeout` after `wait` seconds, the read
        still in flight."""
        import asyncio

        from engineapi.errors import WaitTimeout

        if self._task is None:
            self._task = asyncio.ensure_future(anext(self._iterator, None))
        task = self._task
        # asyncio.wait neither cancels the task when it times out nor when it is cancelled.
        done, _ = await asyncio.wait((task,), timeout=wait)
        if not done:
            raise WaitTimeout(f"nothing came within {wait} s")
        self._task = None
        return task.result()

    async def stop(self) -> None:
        """Cancel the read in flight, if any."""
        import asyncio

        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass


class PendingRead:
    """The blocking twin of `AsyncPendingRead`: a read with a `wait` runs in a daemon thread
    that the next `next()` waits for again (one without a `wait` is a plain call)."""

    __slots__ = ("_iterator", "_result", "_thread")

    def __init__(self, iterator: Iterator[bytes]) -> None:
        self._iterator = iterator
        self._thread: threading.Thread | None = None
        self._result: list[tuple[bytes | None, BaseException | None]] = []

    def next(self, wait: float | None) -> bytes | None:
        from engineapi.errors import WaitTimeout

        if self._thread is None:
            if wait is None:
                return next(self._iterator, None)
            result: list[tuple[bytes | None, BaseException | None]] = []
            self._result = result

            def read() -> None:
                try:
                    result.append((next(self._iterator, None), None))
                except BaseException as exc:  # handed to the reader
                    result.append((None, exc))

            self._thread = threading.Thread(target=read, name="engineapi-read", daemon=True)
            self._thread.start()
        self._thread.join(wait)
        if self._thread.is_alive():
            raise WaitTimeout(f"nothing came within {wait} s")
        self._thread = None
        piece, error = self._result[0]
        if error is not None:
            raise error
        return piece

    def stop(self) -> None:
        """Nothing to do: closing the response wakes a read in flight, which then ends."""
