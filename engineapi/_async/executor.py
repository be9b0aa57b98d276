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

if TYPE_CHECKING:
    from engineapi.api._call import Call, Flow
    from engineapi.backends.base import AsyncBackendResponse, AsyncDuplex

__all__ = ["AsyncExecutor", "AsyncHijacked", "AsyncOpened"]

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

    async def run_flow(self, flow: Flow[T]) -> T:
        """Drive `flow`: each step's result is sent back into it, a daemon error thrown in."""
