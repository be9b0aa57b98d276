"""The transport contract: a transport dials the daemon and returns a byte stream.

Everything above this seam (HTTP/1.1, the pool, hijacked attach/exec) sees only these methods.
A stream is duplex and supports half-close: `close_write()` tells the far end no more bytes
are coming (stdin EOF for attach/exec) while reading goes on. Timeouts are passed per call, in
seconds; ``None`` waits forever. Errors are raised as `engineapi.errors.TransportError`s.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from engineapi.errors import ConnectionLost

__all__ = ["AsyncStream", "Stream", "Transport", "TruncatedStream"]


class TruncatedStream(ConnectionLost):
    """The far end stopped in a way that proves the stream was cut, not ended: TCP closed under
    TLS without a close_notify. A hijacked stream, which otherwise takes a lost connection for
    the end of the session, reports this one."""


#: How much a stream asks the OS for per read: big enough for log streams at socket speed.
READ_SIZE = 256 * 1024


@runtime_checkable
class Stream(Protocol):
    """A blocking duplex byte stream."""

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        """Up to `max_bytes` bytes; ``b""`` once the far end has closed its side."""

    def write(self, data: bytes, timeout: float | None) -> None:
        """Send all of `data`."""

    def close_write(self) -> None:
        """Half-close: no more writes; the far end reads EOF, reads here go on."""

    def close(self) -> None:
        """Close both directions and release the connection. Idempotent."""

    def is_readable(self) -> bool:
        """True if a read would not block: on an idle connection that means it is dead."""


@runtime_checkable
class AsyncStream(Protocol):
    """The asyncio twin of `Stream`."""

    async def read(self, max_bytes: int, timeout: float | None) -> bytes: ...

    async def write(self, data: bytes, timeout: float | None) -> None: ...

    async def close_write(self) -> None: ...

    async def aclose(self) -> None: ...

    def is_readable(self) -> bool: ...


@runtime_checkable
class Transport(Protocol):
    """Dials the daemon. One object serves the sync and the async client."""

    #: The address as the user would write it, e.g. ``unix:///var/run/docker.sock``.
    address: str

    def connect(self, timeout: float | None) -> Stream:
        """Open a new blocking stream to the daemon."""

    async def aconnect(self, timeout: float | None) -> AsyncStream:
        """Open a new asyncio stream to the daemon."""


# A transport that holds resources of its own (an SSH connection, a loop thread) may also have
# `close()` and `async aclose()`; the clients call them when they close.
