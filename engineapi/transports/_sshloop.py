"""An asyncio event loop on a daemon thread of its own, for blocking callers of async code.

The asyncssh transport keeps its SSH connection on such a loop when the sync client uses it:
blocking streams hand work to the loop and wait for the answer. The thread starts on first use
and `stop()` ends it (and joins it); it is a daemon thread, so a forgotten loop never keeps
the interpreter alive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from engineapi.errors import ConnectError

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """One event loop running on one background daemon thread."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (the thread is started on first use)."""
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._stopped:
                raise ConnectError(f"{self._name}: the transport is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=_run, args=(loop, ready), name=self._name, daemon=True
                )
                thread.start()
                ready.wait()
                self._thread = thread
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run `coro` on the loop and wait for its result (cancelled if the wait fails)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def call_soon(self, callback: Callable[..., object], *args: object) -> bool:
        """Schedule `callback(*args)` on the loop; False if the loop is gone."""
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # closed
            return False
        return True

    def stop(
        self,
        final: Callable[[], Coroutine[Any, Any, object]] | None = None,
        timeout: float = 3.0,
    ) -> None:
        """Run `final()` on the loop (at most `timeout` s), stop the loop and join the thread.

        Idempotent. From the loop's own thread it only asks the loop to stop.
        """
        with self._lock:
            self._stopped = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:
            loop.stop()
            return
        if final is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(final(), loop)
            try:
                future.result(timeout)
            except (Exception, concurrent.futures.CancelledError):
                future.cancel()
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            pass
        thread.join(timeout)


def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            # Joins the executor's threads (asyncssh resolves names and reads keys there).
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
