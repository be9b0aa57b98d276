"""What the two httpx backends share (`engineapi.backends.httpx` documents them): everything
that does not await, and the one thing in which they differ, how they keep time (`AsyncTimer`
and `Timer`).

`_httpx_async.py` is written by hand; `_httpx_sync.py` is generated from it by
``python -m engineapi._codegen.unasync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import httpcore
import httpx

from engineapi.backends._lent import one_read_timeout, shut_down
from engineapi.config import Endpoint, resolve_endpoint
from engineapi.errors import (
    ConfigError,
    ConnectError,
    ConnectionLost,
    LocalProtocolError,
    PoolTimeout,
    RemoteProtocolError,
    TimeoutError,
)

if TYPE_CHECKING:
    from engineapi._timeouts import Timeouts
    from engineapi.transports.base import Transport

#: What a request may carry: the async backend also takes async iterables.
AsyncBody = bytes | Iterable[bytes] | AsyncIterable[bytes] | None
Body = bytes | Iterable[bytes] | None

#: The `get_extra_info` key under which our network streams expose the engineapi stream.
ENGINE_STREAM = "engineapi_stream"


def endpoint_of(endpoint: Endpoint | str) -> Endpoint:
    return resolve_endpoint(endpoint) if isinstance(endpoint, str) else endpoint


def require(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        raise ConfigError(
            "a client without base_url needs the endpoint too: pass endpoint= or give the "
            "client a base_url"
        )
    return endpoint


def base_url(endpoint: Endpoint, *, through_transport: bool = False) -> str:
    host = endpoint.host
    if host.scheme == "unix":
        return "http://localhost"  # the transport dials the socket; the name is not used
    if host.scheme == "tcp":
        return f"{'https' if endpoint.tls else 'http'}://{host.netloc}"
    if through_transport:
        # The engineapi transport dials; the URL only names the Host header (as the CLI's).
        return f"http://{host.http_host}"
    raise ConfigError(
        f"the httpx backend reaches {host.url} only through an engineapi transport: pass "
        "transport=engineapi.transports.transport_for(endpoint), as Client(..., "
        "backend='httpx') does, or use the built-in backend",
        source=endpoint.source,
    )


def uses_transport(endpoint: Endpoint, transport: Transport | None) -> bool:
    """True if connections go through the engineapi `transport`: whenever one is given (a
    recording or replaying transport, an SSH one), else httpx dials the socket itself."""
    if transport is not None:
        return True
    base_url(endpoint)  # refuse ssh:// without a transport
    return False


def client_options(endpoint: Endpoint) -> dict[str, Any]:
    """Keyword arguments for an httpx client (and its transport) that reaches `endpoint`."""
    base_url(endpoint)  # refuse ssh:// early
    options: dict[str, Any] = {"uds": endpoint.host.socket_path}
    if endpoint.tls is not None:
        options["verify"] = endpoint.tls.ssl_context()
    return options


def translate(exc: Exception, where: str) -> Exception:
    """An engineapi error for an httpx/httpcore one (others are returned unchanged)."""
    if isinstance(exc, httpx.PoolTimeout | httpcore.PoolTimeout):
        return PoolTimeout(
            f"no connection to {where} came free in time: every connection of the pool is in "
            "use (by open streams, most often); close those you are done with, or raise "
            "max_connections= or Timeouts(pool=…)"
        )
    if isinstance(exc, httpx.ConnectTimeout | httpcore.ConnectTimeout):
        return TimeoutError(f"connecting to {where} timed out")
    if isinstance(exc, httpx.TimeoutException | httpcore.TimeoutException):
        return TimeoutError(f"{where} did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError | httpcore.ConnectError):
        return ConnectError(f"cannot connect to {where}: {exc}", host=where)
    if isinstance(exc, httpx.RemoteProtocolError | httpcore.RemoteProtocolError):
        return RemoteProtocolError(f"{where}: {exc}")
    if isinstance(exc, httpx.LocalProtocolError | httpcore.LocalProtocolError):
        return LocalProtocolError(str(exc))
    if isinstance(exc, httpx.TransportError | httpcore.NetworkError):
        return ConnectionLost(f"the connection to {where} broke: {exc}")
    return exc


def with_length(
    headers: list[tuple[str, str]], content_length: int | None
) -> list[tuple[str, str]]:
    if content_length is None:
        return headers
    return [*headers, ("Content-Length", str(content_length))]


def _extensions(endpoint: Endpoint | None) -> dict[str, Any]:
    if endpoint is not None and endpoint.tls is not None and endpoint.tls.server_hostname:
        return {"sni_hostname": endpoint.tls.server_hostname}
    return {}


def _httpx_timeout(timeouts: Timeouts, read: float | None) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeouts.connect, read=read, write=timeouts.response, pool=timeouts.pool
    )


_NO_BOUND: contextlib.nullcontext[None] = contextlib.nullcontext()


class AsyncTimer:
    """How the async backend keeps engineapi's two read timeouts apart: httpx gets none, and
    the response head (`Timeouts.response`) and each body piece (`Timeouts.read`) are bounded
    here. The head's clock starts when httpcore's public ``trace`` extension reports the
    request going out (once connected, a bound httpx enforces itself)."""

    __slots__ = ("_head", "_response", "httpx", "read")

    def __init__(self, timeouts: Timeouts) -> None:
        self.httpx = _httpx_timeout(timeouts, None)
        #: The bound of each body piece, for `piece`.
        self.read = timeouts.read
        self._response = timeouts.response
        self._head = asyncio.timeout(None)

    def extensions(self, endpoint: Endpoint | None) -> dict[str, Any]:
        return {**_extensions(endpoint), "trace": self._trace}

    async def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "http11.send_request_headers.started" and self._response is not None:
            self._head.reschedule(asyncio.get_running_loop().time() + self._response)

    def head(self) -> asyncio.Timeout:
        """The bound of the wait for the response head (raises `builtins.TimeoutError`)."""
        return self._head

    @staticmethod
    def piece(seconds: float | None) -> asyncio.Timeout:
        """The bound of the wait for one body piece (raises `builtins.TimeoutError`)."""
        return asyncio.timeout(seconds)


class Timer:
    """How the sync backend stands for engineapi's two read timeouts: it cannot keep them apart,
    so httpx's one read timeout is the larger of the two (`one_read_timeout`) and nothing is
    bounded here."""

    __slots__ = ("httpx",)

    #: No bound of our own on a body piece: httpx's read timeout is it.
    read = None

    def __init__(self, timeouts: Timeouts) -> None:
        self.httpx = _httpx_timeout(timeouts, one_read_timeout(timeouts))

    def extensions(self, endpoint: Endpoint | None) -> dict[str, Any]:
        return _extensions(endpoint)

    def head(self) -> contextlib.nullcontext[None]:
        return _NO_BOUND

    @staticmethod
    def piece(seconds: float | None) -> contextlib.nullcontext[None]:
        return _NO_BOUND


async def _aiter(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def async_content(body: AsyncBody) -> bytes | AsyncIterable[bytes] | None:
    """`body` as an ``httpx.AsyncClient`` takes it (which refuses plain iterables)."""
    if body is None or isinstance(body, bytes | AsyncIterable):
        return body
    return _aiter(body)


def half_close(network_stream: Any) -> None:
    """Shut down the write side of the upgraded connection's socket (stdin EOF).

    The shutdown goes through a duplicate of the descriptor: it acts on the shared socket
    while leaving the original socket object (and its TLS state) untouched.
    """
    sock = network_stream.get_extra_info("socket")
    if not isinstance(sock, socket.socket):
        raise LocalProtocolError("this httpx connection does not expose its socket: no half-close")
    dup = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
    try:
        dup.shutdown(socket.SHUT_WR)
    except OSError as exc:
        raise ConnectionLost(f"half-closing the connection failed: {exc}") from exc
    finally:
        dup.close()


def not_upgraded(status: int) -> NoReturn:
    raise RemoteProtocolError(
        f"the daemon answered {status} instead of 101 Switching Protocols: an httpx connection "
        "can only be taken over after a 101 (use the built-in backend for such engines)"
    )


def cut(network_stream: Any) -> None:
    """Wake whoever reads `network_stream`: shut its socket down (closing a socket does not wake
    a thread blocked on it); an engineapi transport's stream is closed, which wakes its reader."""
    if network_stream is None:
        return
    own = network_stream.get_extra_info(ENGINE_STREAM)
    if own is None:
        shut_down(network_stream.get_extra_info("socket"))
        return
    sock = getattr(own, "socket", None)
    if isinstance(sock, socket.socket):
        shut_down(sock)
    elif hasattr(own, "close"):
        with contextlib.suppress(Exception):
            own.close()


def no_tls() -> NoReturn:
    raise LocalProtocolError("TLS over an engineapi transport stream is not supported")


def core_request(request: httpx.Request, content: Any) -> httpcore.Request:
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        ),
        headers=request.headers.raw,
        content=content,
        extensions=request.extensions,
    )
