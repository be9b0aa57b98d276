"""Backends on httpx: `HttpxBackend` (an ``httpx.Client``) and `AsyncHttpxBackend`.

Install with ``pip install engineapi[httpx]``. Either backend is built from the daemon's
`Endpoint` (or a host string such as ``unix:///var/run/docker.sock``), when it makes and owns
its httpx client, or around a caller's preconfigured client, which it uses but never closes.

Only httpx's public API is used. Bodies stream both ways (``iter_raw()`` out, iterables in).
A ``101`` response hands over the raw connection through httpcore's ``network_stream``
response extension; half-close shuts down the write side of that stream's socket
(``get_extra_info("socket")``).

``ssh://`` hosts (and any host reached through an engineapi `Transport` that is not a plain
socket) go through httpcore's public network-backend seam: an ``httpcore.ConnectionPool`` whose
``network_backend`` opens every connection with the engineapi transport's ``connect()`` /
``aconnect()``, wrapped in a small ``httpx.BaseTransport``. Half-close then uses the engineapi
stream's own ``close_write()``.

Timeouts: httpx has one read timeout for the response head and every body read, where
engineapi has two (`Timeouts.response` and `Timeouts.read`). The async backend keeps them
apart by bounding the head and each body piece itself (the head's clock starts when
httpcore's public ``trace`` extension reports the request going out). The sync backend cannot: it gives
httpx the larger of the two, or none if either is ``None``, so it never gives up earlier than
engineapi's own engine would, but may wait longer.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import socket
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import httpcore
import httpx

from engineapi._timeouts import Timeouts
from engineapi.backends._lent import Lent
from engineapi.config import Endpoint, resolve_endpoint
from engineapi.errors import (
    CLIENT_CLOSED_STREAM,
    ConfigError,
    ConnectError,
    ConnectionLost,
    LocalProtocolError,
    PoolTimeout,
    RemoteProtocolError,
    TimeoutError,
)

if TYPE_CHECKING:
    import ssl
    import typing

    from engineapi.transports.base import AsyncStream, Stream, Transport

__all__ = ["AsyncHttpxBackend", "HttpxBackend"]

_READ_SIZE = 256 * 1024


def _endpoint(endpoint: Endpoint | str) -> Endpoint:
    return resolve_endpoint(endpoint) if isinstance(endpoint, str) else endpoint


_SOCKET_SCHEMES = ("unix", "tcp")


def _base_url(endpoint: Endpoint, *, through_transport: bool = False) -> str:
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


def _uses_transport(endpoint: Endpoint, transport: Transport | None) -> bool:
    """True if connections go through the engineapi `transport`: whenever one is given (a
    recording or replaying transport, an SSH one), else httpx dials the socket itself."""
    if transport is not None:
        return True
    _base_url(endpoint)  # refuse ssh:// without a transport
    return False


def _client_options(endpoint: Endpoint) -> dict[str, Any]:
    """Keyword arguments for an httpx client (and its transport) that reaches `endpoint`."""
    _base_url(endpoint)  # refuse ssh:// early
    options: dict[str, Any] = {"uds": endpoint.host.socket_path}
    if endpoint.tls is not None:
        options["verify"] = endpoint.tls.ssl_context()
    return options


def _httpx_timeout(timeouts: Timeouts, read: float | None) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeouts.connect, read=read, write=timeouts.response, pool=timeouts.pool
    )


def _one_read_timeout(timeouts: Timeouts) -> float | None:
    """httpx's single read timeout standing for both of engineapi's (see the module doc)."""
    if timeouts.response is None or timeouts.read is None:
        return None
    return max(timeouts.response, timeouts.read)


def _translate(exc: Exception, where: str) -> Exception:
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


def _headers(headers: list[tuple[str, str]], content_length: int | None) -> list[tuple[str, str]]:
    if content_length is None:
        return headers
    return [*headers, ("Content-Length", str(content_length))]


def _extensions(endpoint: Endpoint | None) -> dict[str, Any]:
    if endpoint is not None and endpoint.tls is not None and endpoint.tls.server_hostname:
        return {"sni_hostname": endpoint.tls.server_hostname}
    return {}


def _half_close(network_stream: Any) -> None:
    """Shut down the write side of the upgraded connection's socket (stdin EOF).

    The shutdown goes through a duplicate of the descriptor: it acts on the shared socket
    while leaving the original socket object (and its TLS state) untouched.
    """
    own = network_stream.get_extra_info(_ENGINE_STREAM)
    if own is not None:
        own.close_write()
        return
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


def _not_upgraded(status: int) -> NoReturn:
    raise RemoteProtocolError(
        f"the daemon answered {status} instead of 101 Switching Protocols: an httpx connection "
        "can only be taken over after a 101 (use the built-in backend for such engines)"
    )


# -- engineapi transports as httpcore's network backend (ssh://) -----------------------------------

#: The `get_extra_info` key under which our network streams expose the engineapi stream.
_ENGINE_STREAM = "engineapi_stream"


def _cut(network_stream: Any) -> None:
    """Wake whoever reads `network_stream`: shut its socket down (closing a socket does not wake
    a thread blocked on it); an engineapi transport's stream is closed, which wakes its reader."""
    if network_stream is None:
        return
    own = network_stream.get_extra_info(_ENGINE_STREAM)
    if own is not None:
        sock = getattr(own, "socket", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        elif hasattr(own, "close"):
            with contextlib.suppress(Exception):
                own.close()
        return
    sock = network_stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _no_tls() -> NoReturn:
    raise LocalProtocolError("TLS over an engineapi transport stream is not supported")


class _NetworkStream(httpcore.NetworkStream):
    """An engineapi `Stream` as an ``httpcore.NetworkStream``."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        _no_tls()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._stream.is_readable()
        if info == _ENGINE_STREAM:
            return self._stream
        return None


class _AsyncNetworkStream(httpcore.AsyncNetworkStream):
    """An engineapi `AsyncStream` as an ``httpcore.AsyncNetworkStream``."""

    def __init__(self, stream: AsyncStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        _no_tls()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._stream.is_readable()
        if info == _ENGINE_STREAM:
            return self._stream
        return None


class _NetworkBackend(httpcore.NetworkBackend):
    """Every connection httpcore opens is a new stream of the engineapi `Transport`."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _NetworkStream(self._transport.connect(timeout))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _NetworkStream(self._transport.connect(timeout))


class _AsyncNetworkBackend(httpcore.AsyncNetworkBackend):
    """The asyncio twin of `_NetworkBackend`."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncNetworkStream(await self._transport.aconnect(timeout))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncNetworkStream(await self._transport.aconnect(timeout))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _core_request(request: httpx.Request, content: Any) -> httpcore.Request:
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


class _CoreBody(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], response: httpcore.Response) -> None:
        self._stream = stream
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        self._response.close()


class _AsyncCoreBody(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], response: httpcore.Response) -> None:
        self._stream = stream
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._stream:
            yield piece

    async def aclose(self) -> None:
        await self._response.aclose()


class _EngineTransport(httpx.BaseTransport):
    """An ``httpx.BaseTransport`` on an ``httpcore.ConnectionPool`` over an engineapi transport."""

    def __init__(self, transport: Transport, *, max_connections: int) -> None:
        self._pool = httpcore.ConnectionPool(
            max_connections=max_connections, network_backend=_NetworkBackend(transport)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        response = self._pool.handle_request(_core_request(request, request.stream))
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CoreBody(response.stream, response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _AsyncEngineTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of `_EngineTransport`."""

    def __init__(self, transport: Transport, *, max_connections: int) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=max_connections, network_backend=_AsyncNetworkBackend(transport)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        response = await self._pool.handle_async_request(_core_request(request, request.stream))
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_AsyncCoreBody(response.stream, response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


# -- async ----------------------------------------------------------------------------------------


class _AsyncResponse:
    __slots__ = ("__weakref__", "_lent", "_read_timeout", "_response", "_where")

    def __init__(
        self, response: httpx.Response, read_timeout: float | None, where: str, lent: Lent
    ) -> None:
        self._response = response
        self._read_timeout = read_timeout
        self._where = where
        self._lent = lent
        lent.items.add(self)

    @property
    def network_stream(self) -> Any:
        return self._response.extensions.get("network_stream")

    def cut(self) -> None:
        _cut(self.network_stream)

    @property
    def status(self) -> int:
        return self._response.status_code

    def hijack(self) -> _AsyncDuplex:
        """The upgraded connection httpcore hands over after a 101 (its network stream)."""
        if self.status != 101:
            _not_upgraded(self.status)
        return _AsyncDuplex(self._response, self._where, self._lent)

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.iter_bytes()])

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        if self._response.is_stream_consumed:  # a transport that preloads (MockTransport)
            yield self._response.content
            return
        pieces = self._response.aiter_raw()
        try:
            while True:
                try:
                    async with asyncio.timeout(self._read_timeout):
                        piece = await anext(pieces)
                except StopAsyncIteration:
                    break
                except builtins.TimeoutError as exc:
                    raise TimeoutError(
                        f"{self._where} sent nothing for {self._read_timeout} s"
                    ) from exc
                except Exception as exc:
                    if self._lent.closed:
                        raise ConnectionLost(CLIENT_CLOSED_STREAM) from exc
                    raise _translate(exc, self._where) from exc
                yield piece
            if self._lent.closed:
                raise ConnectionLost(CLIENT_CLOSED_STREAM)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()


class _AsyncDuplex:
    __slots__ = ("__weakref__", "_lent", "_response", "_stream", "_where")

    def __init__(self, response: httpx.Response, where: str, lent: Lent) -> None:
        self._response = response
        self._stream = response.extensions["network_stream"]
        self._where = where
        self._lent = lent
        lent.items.add(self)

    @property
    def network_stream(self) -> Any:
        return self._stream

    def cut(self) -> None:
        _cut(self.network_stream)

    async def read(self, max_bytes: int = _READ_SIZE, timeout: float | None = None) -> bytes:
        try:
            data: bytes = await self._stream.read(max_bytes, timeout=timeout)
        except Exception as exc:
            error = _translate(exc, self._where)
            if not isinstance(error, ConnectionLost):
                raise error from exc
            data = b""  # as the built-in engine: a reset after the output is its end
        if not data and self._lent.closed:
            raise ConnectionLost(CLIENT_CLOSED_STREAM)
        return data

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        try:
            await self._stream.write(data, timeout=timeout)
        except Exception as exc:
            raise _translate(exc, self._where) from exc

    async def close_write(self) -> None:
        own = self._stream.get_extra_info(_ENGINE_STREAM)
        if own is not None:
            await own.close_write()
        else:
            _half_close(self._stream)

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            await self._response.aclose()

    async def __aenter__(self) -> _AsyncDuplex:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _aiter(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


class AsyncHttpxBackend:
    """An `engineapi.backends.AsyncBackend` on an ``httpx.AsyncClient``.

    ``AsyncHttpxBackend("unix:///var/run/docker.sock")`` makes its own client;
    ``AsyncHttpxBackend(endpoint, client=my_client)`` uses yours (with your limits, proxies,
    event hooks…) and leaves closing it to you. A given client with a ``base_url`` receives
    relative URLs; without one, the URL comes from `endpoint`, and for a unix socket your
    client's transport must dial it (``httpx.AsyncHTTPTransport(uds=…)``).

    With `transport`, an engineapi `Transport`, httpcore opens each connection with
    ``transport.aconnect()`` whatever the scheme (a recording or replaying transport, a
    caller's own); an ``ssh://`` endpoint needs one (``AsyncClient(..., backend="httpx")``
    passes its own). The transport stays the caller's to close.
    """

    def __init__(
        self,
        endpoint: Endpoint | str | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        max_connections: int = 10,
        transport: Transport | None = None,
    ) -> None:
        self.endpoint = None if endpoint is None else _endpoint(endpoint)
        self._owned = client is None
        if client is None:
            if self.endpoint is None:
                raise ConfigError("AsyncHttpxBackend needs an endpoint or a client")
            if _uses_transport(self.endpoint, transport):
                assert transport is not None
                client = httpx.AsyncClient(
                    transport=_AsyncEngineTransport(transport, max_connections=max_connections),
                    base_url=_base_url(self.endpoint, through_transport=True),
                )
            else:
                options = _client_options(self.endpoint)
                http = httpx.AsyncHTTPTransport(
                    uds=options.pop("uds"),
                    limits=httpx.Limits(max_connections=max_connections),
                    **options,
                )
                client = httpx.AsyncClient(transport=http, base_url=_base_url(self.endpoint))
        self.client = client
        self._prefix = "" if str(client.base_url) else _base_url(_require(self.endpoint))
        self._where = self.endpoint.host.url if self.endpoint else str(client.base_url)
        self._lent = Lent()

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes] | AsyncIterable[bytes] | None = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> _AsyncResponse:
        content: bytes | AsyncIterable[bytes] | None = (
            body if body is None or isinstance(body, bytes | AsyncIterable) else _aiter(body)
        )
        # The response timeout runs from the moment the request goes out (once connected, a
        # bound httpx enforces itself): httpcore's public "trace" extension says when.
        head = asyncio.timeout(None)
        response_timeout = timeouts.response

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            if event == "http11.send_request_headers.started" and response_timeout is not None:
                head.reschedule(asyncio.get_running_loop().time() + response_timeout)

        request = self.client.build_request(
            method,
            self._prefix + target,
            headers=_headers(headers, content_length),
            content=content,
            timeout=_httpx_timeout(timeouts, None),
            extensions={**_extensions(self.endpoint), "trace": trace},
        )
        try:
            async with head:
                response = await self.client.send(request, stream=True)
        except builtins.TimeoutError as exc:
            raise TimeoutError(
                f"{self._where} did not answer {method} within {timeouts.response} s"
            ) from exc
        except Exception as exc:
            raise _translate(exc, self._where) from exc
        return _AsyncResponse(response, timeouts.read, self._where, self._lent)

    async def aclose(self) -> None:
        self._lent.cut_all()
        if self._owned:
            await self.client.aclose()


# -- sync -----------------------------------------------------------------------------------------


class _Response:
    __slots__ = ("__weakref__", "_lent", "_response", "_where")

    def __init__(self, response: httpx.Response, where: str, lent: Lent) -> None:
        self._response = response
        self._where = where
        self._lent = lent
        lent.items.add(self)

    @property
    def network_stream(self) -> Any:
        return self._response.extensions.get("network_stream")

    def cut(self) -> None:
        _cut(self.network_stream)

    @property
    def status(self) -> int:
        return self._response.status_code

    def hijack(self) -> _Duplex:
        """The upgraded connection httpcore hands over after a 101 (its network stream)."""
        if self.status != 101:
            _not_upgraded(self.status)
        return _Duplex(self._response, self._where, self._lent)

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def read(self) -> bytes:
        return b"".join(list(self.iter_bytes()))

    def iter_bytes(self) -> Iterator[bytes]:
        if self._response.is_stream_consumed:  # a transport that preloads (MockTransport)
            yield self._response.content
            return
        try:
            try:
                yield from self._response.iter_raw()
            except Exception as exc:
                if self._lent.closed:
                    raise ConnectionLost(CLIENT_CLOSED_STREAM) from exc
                raise _translate(exc, self._where) from exc
            if self._lent.closed:
                raise ConnectionLost(CLIENT_CLOSED_STREAM)
        finally:
            self.close()

    def close(self) -> None:
        self._response.close()


class _Duplex:
    __slots__ = ("__weakref__", "_lent", "_response", "_stream", "_where")

    def __init__(self, response: httpx.Response, where: str, lent: Lent) -> None:
        self._response = response
        self._stream = response.extensions["network_stream"]
        self._where = where
        self._lent = lent
        lent.items.add(self)

    @property
    def network_stream(self) -> Any:
        return self._stream

    def cut(self) -> None:
        _cut(self.network_stream)

    def read(self, max_bytes: int = _READ_SIZE, timeout: float | None = None) -> bytes:
        try:
            data: bytes = self._stream.read(max_bytes, timeout=timeout)
        except Exception as exc:
            error = _translate(exc, self._where)
            if not isinstance(error, ConnectionLost):
                raise error from exc
            data = b""
        if not data and self._lent.closed:
            raise ConnectionLost(CLIENT_CLOSED_STREAM)
        return data

    def write(self, data: bytes, timeout: float | None = None) -> None:
        try:
            self._stream.write(data, timeout=timeout)
        except Exception as exc:
            raise _translate(exc, self._where) from exc

    def close_write(self) -> None:
        _half_close(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._response.close()

    def __enter__(self) -> _Duplex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HttpxBackend:
    """An `engineapi.backends.Backend` on an ``httpx.Client``; see `AsyncHttpxBackend`."""

    def __init__(
        self,
        endpoint: Endpoint | str | None = None,
        *,
        client: httpx.Client | None = None,
        max_connections: int = 10,
        transport: Transport | None = None,
    ) -> None:
        self.endpoint = None if endpoint is None else _endpoint(endpoint)
        self._owned = client is None
        if client is None:
            if self.endpoint is None:
                raise ConfigError("HttpxBackend needs an endpoint or a client")
            if _uses_transport(self.endpoint, transport):
                assert transport is not None
                client = httpx.Client(
                    transport=_EngineTransport(transport, max_connections=max_connections),
                    base_url=_base_url(self.endpoint, through_transport=True),
                )
            else:
                options = _client_options(self.endpoint)
                http = httpx.HTTPTransport(
                    uds=options.pop("uds"),
                    limits=httpx.Limits(max_connections=max_connections),
                    **options,
                )
                client = httpx.Client(transport=http, base_url=_base_url(self.endpoint))
        self.client = client
        self._prefix = "" if str(client.base_url) else _base_url(_require(self.endpoint))
        self._where = self.endpoint.host.url if self.endpoint else str(client.base_url)
        self._lent = Lent()

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes] | None = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> _Response:
        request = self.client.build_request(
            method,
            self._prefix + target,
            headers=_headers(headers, content_length),
            content=body,
            timeout=_httpx_timeout(timeouts, _one_read_timeout(timeouts)),
            extensions=_extensions(self.endpoint),
        )
        try:
            response = self.client.send(request, stream=True)
        except Exception as exc:
            raise _translate(exc, self._where) from exc
        return _Response(response, self._where, self._lent)

    def close(self) -> None:
        self._lent.cut_all()
        if self._owned:
            self.client.close()


def _require(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        raise ConfigError(
            "a client without base_url needs the endpoint too: pass endpoint= or give the "
            "client a base_url"
        )
    return endpoint
