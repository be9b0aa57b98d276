"""An asyncio event loop that blocking callers run themselves, with a daemon thread for idle times.

The asyncssh transport keeps the blocking client's SSH connection on such a loop. Handing every
read and write to a loop on another thread costs two thread wake-ups per request (about 60 µs
here, a third of a ping over SSH), so a thread that waits for its channel *drives* the loop
itself instead: it runs the loop until what it waits for has happened, as asyncio code would.

- One thread drives at a time (`driver`). A thread that cannot drive (another one does, or it
  has a running event loop of its own, as in a notebook) waits on `cond`, which every change
  of channel state notifies, and hands its work over with ``call_soon_threadsafe``.
- A daemon thread drives whenever nobody has for `IDLE_HANDOVER` seconds, so that an idle
  connection is still served (keep-alives, closes, other channels' data), and gives the loop
  back to the first caller that asks for it. The short delay keeps it out of the way between
  the requests of a busy caller.
- `stop()` has the daemon thread close the link, end the loop and exit; waiters wake up with
  `dead` set. A caller interrupted while driving (Ctrl-C can land in the middle of an SSH
  packet) has `on_interrupt` scheduled: the transport drops its SSH connections then.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from engineapi.errors import ConnectError

__all__ = ["IDLE_HANDOVER", "SharedLoop"]

T = TypeVar("T")

#: Seconds without a driving caller after which the daemon thread takes the loop over.
IDLE_HANDOVER = 0.005
#: `driver` while the daemon thread runs the loop.
_DAEMON = -1


def _may_drive() -> bool:
    """Whether this thread can run a loop: not while it runs one of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


class SharedLoop:
    """One event loop driven by whichever thread waits on it (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self._name = name
        lock = threading.RLock()
        #: Guards the driver role and the state of every channel on the loop; notified when
        #: either changes.
        self.cond = threading.Condition(lock)
        # The daemon thread's own, so that channel traffic does not wake it.
        self._daemon_cond = threading.Condition(lock)
        #: True once the loop is closed: waiters stop waiting.
        self.dead = False
        #: Called on the loop after a caller was interrupted while driving it.
        self.on_interrupt: Callable[[], object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._driver: int | None = None
        self._ready: Callable[[], object] | None = None  # what the driving caller waits for
        self._released_at = 0.0
        self._waiting = 0  # callers in cond.wait
        self._urgent = False  # work was handed over while nobody drove
        self._stopping = False
        self._final: Callable[[], Coroutine[Any, Any, object]] | None = None
        self._final_timeout = 3.0

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, made (and its daemon thread started) on first use."""
        loop = self._loop
        if loop is not None and not self._stopping:
            return loop
        with self.cond:
            if self._stopping:
                raise ConnectError(f"{self._name}: the transport is closed")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._released_at = time.monotonic()
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            return self._loop

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop, started if need be; None once stopped."""
        try:
            return self._loop or self.loop
        except ConnectError:
            return None

    # -- callers -----------------------------------------------------------------------------

    def wait_until(self, ready: Callable[[], object], timeout: float | None) -> bool:
        """Block until `ready()` (checked under `cond`) or the loop is dead; False on timeout.

        Drives the loop when it can, else waits for the driver to make `ready()` true or to
        let go of the loop.
        """
        loop = self._running_loop()
        if loop is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        me = threading.get_ident()
        may_drive = _may_drive()
        cond = self.cond
        while True:
            with cond:
                asked = False
                while True:
                    if ready() or self.dead:
                        return True
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    if self._driver is None and not self._stopping:
                        if may_drive:
                            self._driver = me
                            break
                        self._urgent = True  # the daemon thread drives for us, now
                        self._daemon_cond.notify()
                    if self._driver == _DAEMON and may_drive and not asked:
                        asked = True  # the daemon thread gives the loop back when it stops
                        with contextlib.suppress(RuntimeError):
                            loop.call_soon_threadsafe(loop.stop)
                    self._waiting += 1
                    try:
                        cond.wait(remaining)
                    finally:
                        self._waiting -= 1
            self._drive(loop, ready, remaining)

    def call_soon(self, callback: Callable[..., object], *args: object) -> bool:
        """Run `callback(*args)` on the loop: now if this thread can drive it, else soon.

        False if the loop is gone.
        """
        loop = self._running_loop()
        if loop is None:
            return False
        cond = self.cond
        with cond:
            mine = self._driver is None and not self._stopping and _may_drive()
            if mine:
                self._driver = threading.get_ident()
        if mine:
            loop.call_soon(callback, *args)
            self._drive(loop, None, None)  # one iteration: runs it, sends what it wrote
            return True
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # closed
            return False
        with cond:
            if self._driver is None:
                self._urgent = True
                self._daemon_cond.notify()
        return True

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run `coro` on the loop and return its result (cancelled if the wait fails).

        Raises `TimeoutError` after `timeout` seconds, `ConnectError` if the loop is stopped.
        """
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        future.add_done_callback(self._wake_driver)
        try:
            if not self.wait_until(future.done, timeout):
                raise TimeoutError(f"{self._name}: no answer within {timeout} s")
            if not future.done():
                raise ConnectError(f"{self._name}: the transport was closed")
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def notify(self) -> None:
        """Channel state changed (called on the loop, under `cond`): wake whoever waits."""
        if self._waiting:
            self.cond.notify_all()
        ready = self._ready
        if ready is not None and ready():
            loop = self._loop
            assert loop is not None
            loop.stop()

    def _wake_driver(self, _: concurrent.futures.Future[Any]) -> None:
        with self.cond:
            self.notify()

    def _drive(
        self,
        loop: asyncio.AbstractEventLoop,
        ready: Callable[[], object] | None,
        timeout: float | None,
    ) -> None:
        """Run the loop on this thread (which holds the driver role) until `ready()` or the
        timeout; with no `ready`, for one iteration."""
        timer = None
        interrupted = False
        try:
            if ready is None:
                loop.call_soon(loop.stop)
            else:
                self._ready = ready
                if timeout is not None:
                    timer = loop.call_later(timeout, loop.stop)
            loop.run_forever()
        except BaseException:
            on_interrupt = self.on_interrupt
            if on_interrupt is not None:
                interrupted = True
                loop.call_soon(on_interrupt)
            raise
        finally:
            self._ready = None
            if timer is not None:
                timer.cancel()
            with self.cond:
                self._urgent = self._urgent or interrupted
                self._driver = None
                self._released_at = time.monotonic()
                if self._waiting:
                    self.cond.notify_all()
                if self._urgent or self._stopping:
                    self._daemon_cond.notify()

    # -- the daemon thread -------------------------------------------------------------------

    def _serve(self) -> None:
        loop = self._loop
        assert loop is not None
        cond = self.cond
        while True:
            with cond:
                asked = False
                while True:
                    if self._driver is None:
                        idle = time.monotonic() - self._released_at
                        if self._stopping or self._urgent or idle >= IDLE_HANDOVER:
                            self._driver = _DAEMON
                            self._urgent = False
                            break
                        wait: float | None = IDLE_HANDOVER - idle
                    else:
                        # A caller drives: look again in a while (a release does not wake us,
                        # to keep a busy caller's requests free of thread switches).
                        wait = IDLE_HANDOVER
                        if self._stopping and not asked:
                            asked = True
                            loop.call_soon_threadsafe(loop.stop)
                            wait = None
                    self._daemon_cond.wait(wait)
                stopping = self._stopping
            if stopping:
                self._shut_down(loop)
                return
            try:
                loop.run_forever()  # until a caller asks for the loop (loop.stop)
            finally:
                with cond:
                    self._driver = None
                    self._released_at = time.monotonic()
                    if self._waiting:
                        cond.notify_all()

    def _shut_down(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            if self._final is not None:
                with contextlib.suppress(Exception):
                    _complete(loop, asyncio.wait_for(self._final(), self._final_timeout))
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                _complete(loop, asyncio.gather(*pending, return_exceptions=True))
            _complete(loop, loop.shutdown_asyncgens())
            # Joins the executor's threads (asyncssh resolves names and reads keys there).
            _complete(loop, loop.shutdown_default_executor())
        finally:
            loop.close()
            with self.cond:
                self.dead = True
                self._driver = None
                self.cond.notify_all()

    def stop(
        self,
        final: Callable[[], Coroutine[Any, Any, object]] | None = None,
        timeout: float = 3.0,
    ) -> None:
        """Have the daemon thread run `final()` (at most `timeout` s), close the loop and exit;
        wait for it unless called from the loop's own driving thread. Idempotent."""
        me = threading.get_ident()
        with self.cond:
            first = not self._stopping
            self._stopping = True
            if first:
                self._final = final
                self._final_timeout = timeout
            loop, thread, driver = self._loop, self._thread, self._driver
            if loop is not None and driver is not None:
                # The driver gives the loop up; the daemon thread takes it to shut it down.
                if driver == me:
                    loop.stop()
                else:
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(loop.stop)
            self._daemon_cond.notify()
        if thread is None or thread is threading.current_thread() or driver == me:
            return
        thread.join(timeout + 2)


def _complete(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> T:
    """`loop.run_until_complete`, unbothered by a ``loop.stop()`` left over from a caller that
    asked for the loop back."""
    future = asyncio.ensure_future(awaitable, loop=loop)
    future.add_done_callback(lambda _: loop.stop())
    while not future.done():
        loop.run_forever()
    return future.result()
