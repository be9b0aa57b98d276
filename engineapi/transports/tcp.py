"""The plain TCP transport: ``tcp://host:2375``."""

from __future__ import annotations

import ipaddress
import socket
import time
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
        """Each address the name resolves to, in the resolver's order, until one answers
        (``localhost`` is often ``::1`` first, with the daemon on 127.0.0.1 only), all within
        `timeout`; the error names every address tried."""
        from engineapi.errors import ConnectError, TimeoutError

        deadline = None if timeout is None else time.monotonic() + timeout
        failures: list[tuple[str, ConnectError | TimeoutError]] = []
        named = None if _is_literal(self.host) else self.host
        for family, address in _resolve(self.host, self.port):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            # A name's message says which of its addresses was tried.
            where = self.address if named is None else f"{self.address} ({_shown(address)})"
            try:
                return dial(family, address, left, describe=where)
            except (ConnectError, TimeoutError) as exc:
                failures.append((_shown(address), exc))
        if len(failures) == 1:
            raise failures[0][1]
        if not failures:
            raise TimeoutError(f"connecting to {self.address} timed out after {timeout} s")
        raise ConnectError(
            f"cannot connect to {self.address}: every address failed: "
            + "; ".join(f"{where}: {exc}" for where, exc in failures),
            host=self.address,
        ) from failures[-1][1]

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


def _resolve(host: str, port: int) -> list[tuple[int, tuple[str, int]]]:
    """Every address for host:port, in the resolver's order (literal IPs skip the resolver)."""
    from engineapi.errors import ConnectError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"cannot resolve {host!r}: {exc}", host=f"tcp://{host}:{port}") from exc
    return [(family, address) for family, _, _, _, address in infos]  # type: ignore[misc]


def _shown(address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
