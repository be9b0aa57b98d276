"""The unix socket transport: ``unix:///var/run/docker.sock``."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from engineapi.transports._socket import SocketStream, dial

if TYPE_CHECKING:
    from engineapi.transports._aio import AsyncSocketStream

__all__ = ["UnixTransport"]


class UnixTransport:
    """Dials a daemon's unix socket."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.address = f"unix://{path}"

    def connect(self, timeout: float | None) -> SocketStream:
        return dial(socket.AF_UNIX, self.path, timeout, describe=self.address)

    async def aconnect(self, timeout: float | None) -> AsyncSocketStream:
        import asyncio  # only async users pay for it

        from engineapi.transports._aio import async_dial

        loop = asyncio.get_running_loop()
        return await async_dial(
            lambda factory: loop.create_unix_connection(factory, self.path),
            timeout,
            describe=self.address,
        )

    def __repr__(self) -> str:
        return f"UnixTransport({self.path!r})"
