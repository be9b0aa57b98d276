"""The pool's slot semaphore (`engineapi._concurrency.AsyncSemaphore`): a token is never lost
or made up, whether a waiter gets it, times out or is cancelled."""

from __future__ import annotations

import asyncio

from engineapi._concurrency import AsyncSemaphore, Semaphore


async def test_tokens_taken_without_waiting_then_waited_for() -> None:
    slots = AsyncSemaphore(2)
    assert slots.acquire_nowait()
    assert await slots.acquire(0.01)
    assert not slots.acquire_nowait()
    assert not await slots.acquire(0.01)  # none came free: False, not an error
    waiter = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to the waiter, not left for a newcomer
    assert not slots.acquire_nowait()
    assert await waiter
    slots.release()
    slots.release()
    assert slots.acquire_nowait() and slots.acquire_nowait() and not slots.acquire_nowait()


async def test_waiters_served_in_order() -> None:
    slots = AsyncSemaphore(1)
    assert slots.acquire_nowait()
    order: list[int] = []

    async def take(n: int) -> None:
        await slots.acquire()
        order.append(n)
        slots.release()

    tasks = [asyncio.ensure_future(take(n)) for n in range(5)]
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert slots.acquire_nowait() and not slots.acquire_nowait()


async def test_cancelled_waiter_passes_a_token_it_was_handed_on() -> None:
    slots = AsyncSemaphore(1)
    assert slots.acquire_nowait()
    first = asyncio.ensure_future(slots.acquire())
    second = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # the token goes to `first`...
    first.cancel()  # ...which is cancelled before it runs: `second` must get it
    assert await second
    assert first.cancelled()
    assert not slots.acquire_nowait()
    slots.release()
    assert slots.acquire_nowait()


async def test_cancelled_or_timed_out_waiters_leave_no_trace() -> None:
    slots = AsyncSemaphore(1)
    assert slots.acquire_nowait()
    waiter = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert not await slots.acquire(0.01)
    slots.release()
    assert slots.acquire_nowait()  # no dead waiter stands in front


def test_blocking_twin() -> None:
    slots = Semaphore(1)
    assert slots.acquire_nowait()
    assert not slots.acquire_nowait()
    assert not slots.acquire(0.01)
    slots.release()
    assert slots.acquire(0.01)
