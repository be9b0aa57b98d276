"""`AsyncHttpxBackend`, on an ``httpx.AsyncClient`` (`engineapi.backends.httpx` documents it).

The helpers that are the same in both flavours live in `engineapi.backends._httpx_common`,
and so does the one thing in which the two differ, how they keep time (`AsyncTimer`).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from engineapi.backends._httpx_common import (
    ENGINE_STREAM,
    AsyncBody,
    AsyncTimer,
    async_content,
    base_url,
    client_options,
    core_request,
    cut,
    endpoint_of,
    half_close,
    no_tls,
    not_upgraded,
    require,
    translate,
    uses_transport,
    with_length,
)
from engineapi.backends._lent import Lent
from engineapi.config import Endpoint
from engineapi.errors import ConfigError, ConnectionLost, TimeoutError
from engineapi.transports.base import READ_SIZE

if TYPE_CHECKING:
    import ssl
    import typing

    from engineapi._timeouts import Timeouts
    from engineapi.transports.base import AsyncStream, Transport

__all__ = ["AsyncHttpxBackend"]


# -- engineapi transports as httpcore's network backend (ssh://) -----------------------------------


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
        no_tls()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._stream.is_readable()
        if info == ENGINE_STREAM:
            return self._stream
        return None


class _AsyncNetworkBackend(httpcore.AsyncNetworkBackend):
    """Every connection httpcore opens is a new stream of the engineapi `Transport`."""

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

    async def sleep(self, seconds: float) -> None:  # unasync: remove
        await asyncio.sleep(seconds)  # unasync: remove


class _AsyncCoreBody(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], response: httpcore.Response) -> None:
        self._stream = stream
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._stream:
            yield piece

    async def aclose(self) -> None:
        await self._response.aclose()


class _AsyncEngineTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` on an ``httpcore.AsyncConnectionPool`` over an engineapi
    transport."""

    def __init__(self, transport: Transport, *, max_connections: int) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=max_connections, network_backend=_AsyncNetworkBackend(transport)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        response = await self._pool.handle_async_request(core_request(request, request.stream))
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_AsyncCoreBody(response.stream, response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


# -- what the backend hands out --------------------------------------------------------------------


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
        cut(self.network_stream)

    @property
    def status(self) -> int:
        return self._response.status_code

    def hijack(self) -> _AsyncDuplex:
        """The upgraded connection httpcore hands over after a 101 (its network stream)."""
        if self.status != 101:
            not_upgraded(self.status)
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
                    async with AsyncTimer.piece(self._read_timeout):
                        piece = await anext(pieces)
                except StopAsyncIteration:
                    break
                except builtins.TimeoutError as exc:  # unasync: remove
                    raise TimeoutError(  # unasync: remove
                        f"{self._where} sent nothing for {self._read_timeout} s"  # unasync: remove
                    ) from exc  # unasync: remove
                except Exception as exc:
                    self._lent.check(exc)
                    raise translate(exc, self._where) from exc
                yield piece
            self._lent.check()
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
        cut(self.network_stream)

    async def read(self, max_bytes: int = READ_SIZE, timeout: float | None = None) -> bytes:
        try:
            data: bytes = await self._stream.read(max_bytes, timeout=timeout)
        except Exception as exc:
            error = translate(exc, self._where)
            if not isinstance(error, ConnectionLost):
                raise error from exc
            data = b""  # as the built-in engine: a reset after the output is its end
        if not data:
            self._lent.check()
        return data

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        try:
            await self._stream.write(data, timeout=timeout)
        except Exception as exc:
            raise translate(exc, self._where) from exc

    async def close_write(self) -> None:
        own = self._stream.get_extra_info(ENGINE_STREAM)
        if own is not None:
            await own.close_write()
        else:
            half_close(self._stream)

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            await self._response.aclose()

    async def __aenter__(self) -> _AsyncDuplex:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# -- the backend -----------------------------------------------------------------------------------


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
        self.endpoint = None if endpoint is None else endpoint_of(endpoint)
        self._owned = client is None
        if client is None:
            if self.endpoint is None:
                raise ConfigError("AsyncHttpxBackend needs an endpoint or a client")
            if uses_transport(self.endpoint, transport):
                assert transport is not None
                client = httpx.AsyncClient(
                    transport=_AsyncEngineTransport(transport, max_connections=max_connections),
                    base_url=base_url(self.endpoint, through_transport=True),
                )
            else:
                options = client_options(self.endpoint)
                http = httpx.AsyncHTTPTransport(
                    uds=options.pop("uds"),
                    limits=httpx.Limits(max_connections=max_connections),
                    **options,
                )
                client = httpx.AsyncClient(transport=http, base_url=base_url(self.endpoint))
        self.client = client
        self._prefix = "" if str(client.base_url) else base_url(require(self.endpoint))
        self._where = self.endpoint.host.url if self.endpoint else str(client.base_url)
        self._lent = Lent()

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: AsyncBody = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> _AsyncResponse:
        body = async_content(body)  # unasync: remove
        timer = AsyncTimer(timeouts)
        request = self.client.build_request(
            method,
            self._prefix + target,
            headers=with_length(headers, content_length),
            content=body,
            timeout=timer.httpx,
            extensions=timer.extensions(self.endpoint),
        )
        try:
            async with timer.head():
                response = await self.client.send(request, stream=True)
        except builtins.TimeoutError as exc:  # unasync: remove
            raise TimeoutError(  # unasync: remove
                f"{self._where} did not answer {method} within {timeouts.response} s"  # unasync: remove
            ) from exc  # unasync: remove
        except Exception as exc:
            raise translate(exc, self._where) from exc
        return _AsyncResponse(response, timer.read, self._where, self._lent)

    async def aclose(self) -> None:
        self._lent.cut_all()
        if self._owned:
            await self.client.aclose()
