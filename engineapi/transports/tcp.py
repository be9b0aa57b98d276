"""The plain TCP transport: ``tcp://host:2375``."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from engineapi.transports._socket import SocketStream, dial

if TYPE_CHECKING:
    from engineapi.transports._aio import AsyncSocketStream

__all__ = ["TCPTransport"]


class TCPTransport:
    """Dials a daemon over TCP (IPv4, IPv6 or a host name)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.address = f"tcp://{shown}:{port}"

    def connect(self, timeout: float | None) -> SocketStream:
        family, address = _resolve(self.host, self.port)
        return dial(family, address, timeout, describe=self.address)

    async def aconnect(self, timeout: float | None) -> AsyncSocketStream:
        import asyncio  # only async users pay for it

        from engineapi.transports._aio import async_dial

        loop = asyncio.get_running_loop()
        return await async_dial(
            lambda factory: loop.create_connection(factory, self.host, self.port),
            timeout,
            describe=self.address,
        )

    def __repr__(self) -> str:
        return f"TCPTransport({self.host!r}, {self.port})"


def _resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """The first address for host:port (literal IPs skip the resolver)."""
    from engineapi.errors import ConnectError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"cannot resolve {host!r}: {exc}", host=f"tcp://{host}:{port}") from exc
    family, _, _, _, address = infos[0]
    return family, address  # type: ignore[return-value]
