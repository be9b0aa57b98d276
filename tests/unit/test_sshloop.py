"""`SharedLoop`: the event loop the blocking SSH client's callers drive themselves."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from engineapi import ConnectError
from engineapi.transports._sshloop import SharedLoop

NAME = "engineapi-test-loop"


@pytest.fixture
def shared() -> Iterator[SharedLoop]:
    loop = SharedLoop(NAME)
    yield loop
    loop.stop()
    assert not [t for t in threading.enumerate() if t.name == NAME]


def _later(shared: SharedLoop, delay: float, callback: Callable[[], object]) -> None:
    """Schedule `callback` on the loop in `delay` s (and announce it, as channels do)."""

    def fire() -> None:
        callback()
        with shared.cond:
            shared.notify()

    async def schedule() -> None:
        asyncio.get_running_loop().call_later(delay, fire)

    shared.run(schedule(), 5)


def _eventually(check: Callable[[], object], within: float = 5) -> None:
    """Poll `check` without running the loop (the daemon thread has to)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _thread_name(shared: SharedLoop, ran_on: list[str]) -> Callable[[], None]:
    """A callback noting the thread it runs on (and announcing it, as channels do)."""

    def note() -> None:
        with shared.cond:
            ran_on.append(threading.current_thread().name)
            shared.notify()

    return note


def test_the_waiting_thread_runs_the_loop(shared: SharedLoop) -> None:
    ran_on: list[str] = []
    _later(shared, 0.05, _thread_name(shared, ran_on))
    assert shared.wait_until(lambda: ran_on, 5)
    assert ran_on == [threading.current_thread().name]
    # Right after, a call is run at once, on this thread.
    assert shared.call_soon(_thread_name(shared, ran_on))
    assert ran_on[1:] == [threading.current_thread().name]


def test_the_daemon_thread_serves_an_idle_loop(shared: SharedLoop) -> None:
    ran_on: list[str] = []
    _later(shared, 0.05, _thread_name(shared, ran_on))
    _eventually(lambda: ran_on)  # nobody waits: the daemon thread runs the loop
    assert ran_on == [NAME]
    # The daemon thread gives the loop back to a waiting caller.
    _later(shared, 0.05, _thread_name(shared, ran_on))
    assert shared.wait_until(lambda: len(ran_on) == 2, 5)
    assert ran_on[1] == threading.current_thread().name


def test_a_thread_with_a_running_loop_of_its_own_hands_over(shared: SharedLoop) -> None:
    ran_on: list[str] = []

    async def inside_a_loop() -> None:
        _later(shared, 0.05, _thread_name(shared, ran_on))
        assert shared.wait_until(lambda: ran_on, 5)
        assert shared.call_soon(_thread_name(shared, ran_on))
        assert shared.wait_until(lambda: len(ran_on) == 2, 5)

    asyncio.run(inside_a_loop())
    assert ran_on == [NAME, NAME]


def test_timeouts_whoever_drives(shared: SharedLoop) -> None:
    start = time.monotonic()
    assert not shared.wait_until(lambda: False, 0.2)
    assert 0.2 <= time.monotonic() - start < 2
    # Another thread drives, waiting for something that never comes.
    release = threading.Event()
    other = threading.Thread(target=shared.wait_until, args=(release.is_set, 10))
    other.start()
    time.sleep(0.05)
    start = time.monotonic()
    assert not shared.wait_until(lambda: False, 0.2)
    assert 0.2 <= time.monotonic() - start < 2
    release.set()
    _later(shared, 0, lambda: None)  # wake the driver to look again
    other.join(5)
    assert not other.is_alive()


def test_many_threads_wait_and_write_at_once(shared: SharedLoop) -> None:
    rounds, threads = 200, 8
    counts = [0] * threads
    errors: list[BaseException] = []

    def bump(index: int) -> None:
        with shared.cond:
            counts[index] += 1
            shared.notify()

    def worker(index: int) -> None:
        try:
            for n in range(1, rounds + 1):
                assert shared.call_soon(bump, index)
                assert shared.wait_until(lambda n=n: counts[index] >= n, 10)  # type: ignore[misc]
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert not errors
    assert counts == [rounds] * threads


def test_run_returns_raises_and_times_out(shared: SharedLoop) -> None:
    async def answer() -> int:
        await asyncio.sleep(0.01)
        return 42

    async def fail() -> None:
        raise ValueError("boom")

    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    assert shared.run(answer(), 5) == 42
    with pytest.raises(ValueError, match="boom"):
        shared.run(fail(), 5)
    with pytest.raises(TimeoutError):
        shared.run(forever(), 0.1)
    _eventually(cancelled.is_set)  # the daemon thread delivers the cancellation


def test_stop_runs_final_and_wakes_a_driving_waiter(shared: SharedLoop) -> None:
    finals: list[str] = []

    async def final() -> None:
        finals.append(threading.current_thread().name)

    shared.loop  # noqa: B018  (starts the loop)
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(shared.wait_until(lambda: False, 30)))
    waiter.start()
    time.sleep(0.05)
    start = time.monotonic()
    shared.stop(final)
    waiter.join(5)
    assert time.monotonic() - start < 3
    assert woke == [True] and shared.dead
    assert finals == [NAME]
    assert not [t for t in threading.enumerate() if t.name == NAME]
    with pytest.raises(ConnectError, match="closed"):
        shared.loop  # noqa: B018
    assert not shared.call_soon(lambda: None)
    shared.stop()  # again: nothing


def test_stop_from_the_driving_thread_does_not_deadlock(shared: SharedLoop) -> None:
    # As a finalizer run by the garbage collector in the middle of a loop callback would.
    stopped = threading.Event()

    def stop_here() -> None:
        shared.stop()
        stopped.set()

    _later(shared, 0.01, stop_here)
    assert shared.wait_until(stopped.is_set, 5)
    _eventually(lambda: shared.dead)


def test_an_interrupt_while_driving_calls_on_interrupt(shared: SharedLoop) -> None:
    interrupted: list[str] = []
    shared.on_interrupt = _thread_name(shared, interrupted)

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    shared.wait_until(lambda: False, 0.01)  # this thread drives now
    with pytest.raises(KeyboardInterrupt):
        shared.call_soon(ctrl_c)
    _eventually(lambda: interrupted)
    assert interrupted == [NAME]  # run on the loop, by the daemon thread, at once
    # The loop still works.
    ran_on: list[str] = []
    _later(shared, 0.01, _thread_name(shared, ran_on))
    assert shared.wait_until(lambda: ran_on, 5)
