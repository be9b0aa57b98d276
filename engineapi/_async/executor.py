"""The seam between what is sent and how: the executor the streams and namespaces depend on.

`AsyncClient` is the executor. Streams, namespaces and flows see only this protocol, never the
client, so the layers form a line with no cycle::

    namespaces ──> streams ──> executor (this protocol) <── client (implements it)

`send` reads a whole response and decodes it; `open_stream` returns once the head is in, the
body left to read (with, for container output, whether it is multiplexed); `hijack` takes the
connection over after the upgrade (attach, exec start, WebSocket); `run_flow` drives a
multi-step operation (`engineapi.api._call.Flow`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from engineapi._timeouts import Timeouts
from engineapi.api._call import with_timeout

if TYPE_CHECKING:
    from engineapi.api._call import Call, Flow
    from engineapi.backends.base import AsyncBackendResponse, AsyncDuplex

__all__ = ["AsyncExecutor", "AsyncHijacked", "AsyncOpened", "AsyncTimedExecutor", "timed"]

T = TypeVar("T")


@attrs.frozen
class AsyncOpened:
    """A response whose head is in; `multiplexed` tells how container output is framed
    (stdcopy frames, or a TTY's raw bytes); False for other bodies."""

    response: AsyncBackendResponse
    multiplexed: bool = False


@attrs.frozen
class AsyncHijacked:
    """The raw connection after an upgrade; `multiplexed` as for `AsyncOpened`."""

    stream: AsyncDuplex
    multiplexed: bool = False


class AsyncExecutor(Protocol):
    async def send(self, call: Call[T]) -> T:
        """Send `call`, read the whole response and decode it; raise daemon errors."""

    async def open_stream(self, call: Call[Any]) -> AsyncOpened:
        """Send `call` and return once the response head is in; raise daemon errors."""

    async def hijack(self, call: Call[Any]) -> AsyncHijacked:
        """Send `call` asking for the connection (101 Upgrade, or a WebSocket handshake)."""

    async def run_flow(self, flow: Flow[T], timeouts: Timeouts | None = None) -> T:
        """Drive `flow`: each step's result is sent back into it, a daemon error thrown in;
        every step sent with `timeouts` when given."""


class AsyncTimedExecutor:
    """An executor that sends every call with its own `timeouts` (a method's ``timeout=``):
    one request, a stream, or each step of a multi-step operation."""

    __slots__ = ("_executor", "_timeouts")

    def __init__(self, executor: AsyncExecutor, timeouts: Timeouts) -> None:
        self._executor = executor
        self._timeouts = timeouts

    async def send(self, call: Call[T]) -> T:
        return await self._executor.send(with_timeout(call, self._timeouts))

    async def open_stream(self, call: Call[Any]) -> AsyncOpened:
        return await self._executor.open_stream(with_timeout(call, self._timeouts))

    async def hijack(self, call: Call[Any]) -> AsyncHijacked:
        return await self._executor.hijack(with_timeout(call, self._timeouts))

    async def run_flow(self, flow: Flow[T], timeouts: Timeouts | None = None) -> T:
        return await self._executor.run_flow(flow, timeouts or self._timeouts)


def timed(executor: AsyncExecutor, timeout: Timeouts | float | None) -> AsyncExecutor:
    """`executor` itself, or one sending every call with `timeout` (see `with_timeout`)."""
    if timeout is None:
        return executor
    return AsyncTimedExecutor(executor, Timeouts.coerce(timeout))
