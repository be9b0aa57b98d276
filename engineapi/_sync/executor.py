# GENERATED from engineapi/_async/executor.py by `python -m engineapi._codegen.unasync`.
# Do not edit: change the async source and regenerate (make gen).
"""The seam between what is sent and how: the executor the streams and namespaces depend on.

`Client` is the executor. Streams, namespaces and flows see only this protocol, never the
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
    from engineapi.backends.base import BackendResponse, Duplex

__all__ = ["Executor", "Hijacked", "Opened", "TimedExecutor", "timed"]

T = TypeVar("T")


@attrs.frozen
class Opened:
    """A response whose head is in; `multiplexed` tells how container output is framed
    (stdcopy frames, or a TTY's raw bytes); False for other bodies."""

    response: BackendResponse
    multiplexed: bool = False


@attrs.frozen
class Hijacked:
    """The raw connection after an upgrade; `multiplexed` as for `Opened`."""

    stream: Duplex
    multiplexed: bool = False


class Executor(Protocol):
    def send(self, call: Call[T]) -> T:
        """Send `call`, read the whole response and decode it; raise daemon errors."""

    def open_stream(self, call: Call[Any]) -> Opened:
        """Send `call` and return once the response head is in; raise daemon errors."""

    def hijack(self, call: Call[Any]) -> Hijacked:
        """Send `call` asking for the connection (101 Upgrade, or a WebSocket handshake)."""

    def run_flow(self, flow: Flow[T], timeouts: Timeouts | None = None) -> T:
        """Drive `flow`: each step's result is sent back into it, a daemon error thrown in;
        every step sent with `timeouts` when given."""


class TimedExecutor:
    """An executor that sends every call with its own `timeouts` (a method's ``timeout=``):
    one request, a stream, or each step of a multi-step operation."""

    __slots__ = ("_executor", "_timeouts")

    def __init__(self, executor: Executor, timeouts: Timeouts) -> None:
        self._executor = executor
        self._timeouts = timeouts

    def send(self, call: Call[T]) -> T:
        return self._executor.send(with_timeout(call, self._timeouts))

    def open_stream(self, call: Call[Any]) -> Opened:
        return self._executor.open_stream(with_timeout(call, self._timeouts))

    def hijack(self, call: Call[Any]) -> Hijacked:
        return self._executor.hijack(with_timeout(call, self._timeouts))

    def run_flow(self, flow: Flow[T], timeouts: Timeouts | None = None) -> T:
        return self._executor.run_flow(flow, timeouts or self._timeouts)


def timed(executor: Executor, timeout: Timeouts | float | None) -> Executor:
    """`executor` itself, or one sending every call with `timeout` (see `with_timeout`)."""
    if timeout is None:
        return executor
    return TimedExecutor(executor, Timeouts.coerce(timeout))
