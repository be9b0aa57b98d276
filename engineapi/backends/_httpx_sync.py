# GENERATED from engineapi/backends/_httpx_async.py by `python -m engineapi._codegen.unasync`.
# Do not edit: change the async source and regenerate (make gen).
"""`HttpxBackend`, on an ``httpx.Client`` (`engineapi.backends.httpx` documents it).

The helpers that are the same in both flavours live in `engineapi.backends._httpx_common`,
and so does the one thing in which the two differ, how they keep time (`Timer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from engineapi.backends._httpx_common import (
    ENGINE_STREAM,
    Body,
    Timer,
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
from engineapi.errors import ConfigError, ConnectionLost
from engineapi.transports.base import READ_SIZE

if TYPE_CHECKING:
    import ssl
    import typing

    from engineapi._timeouts import Timeouts
    from engineapi.transports.base import Stream, Transport

__all__ = ["HttpxBackend"]


# -- engineapi transports as httpcore's network backend (ssh://) -----------------------------------


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
        no_tls()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._stream.is_readable()
        if info == ENGINE_STREAM:
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


class _CoreBody(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], response: httpcore.Response) -> None:
        self._stream = stream
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._stream:
            yield piece

    def close(self) -> None:
        self._response.close()


class _EngineTransport(httpx.BaseTransport):
    """An ``httpx.BaseTransport`` on an ``httpcore.ConnectionPool`` over an engineapi
    transport."""

    def __init__(self, transport: Transport, *, max_connections: int) -> None:
        self._pool = httpcore.ConnectionPool(
            max_connections=max_connections, network_backend=_NetworkBackend(transport)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        response = self._pool.handle_request(core_request(request, request.stream))
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CoreBody(response.stream, response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


# -- what the backend hands out --------------------------------------------------------------------


class _Response:
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

    def hijack(self) -> _Duplex:
        """The upgraded connection httpcore hands over after a 101 (its network stream)."""
        if self.status != 101:
            not_upgraded(self.status)
        return _Duplex(self._response, self._where, self._lent)

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def read(self) -> bytes:
        return b"".join([piece for piece in self.iter_bytes()])

    def iter_bytes(self) -> Iterator[bytes]:
        if self._response.is_stream_consumed:  # a transport that preloads (MockTransport)
            yield self._response.content
            return
        pieces = self._response.iter_raw()
        try:
            while True:
                try:
                    with Timer.piece(self._read_timeout):
                        piece = next(pieces)
                except StopIteration:
                    break
                except Exception as exc:
                    self._lent.check(exc)
                    raise translate(exc, self._where) from exc
                yield piece
            self._lent.check()
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
        cut(self.network_stream)

    def read(self, max_bytes: int = READ_SIZE, timeout: float | None = None) -> bytes:
        try:
            data: bytes = self._stream.read(max_bytes, timeout=timeout)
        except Exception as exc:
            error = translate(exc, self._where)
            if not isinstance(error, ConnectionLost):
                raise error from exc
            data = b""  # as the built-in engine: a reset after the output is its end
        if not data:
            self._lent.check()
        return data

    def write(self, data: bytes, timeout: float | None = None) -> None:
        try:
            self._stream.write(data, timeout=timeout)
        except Exception as exc:
            raise translate(exc, self._where) from exc

    def close_write(self) -> None:
        own = self._stream.get_extra_info(ENGINE_STREAM)
        if own is not None:
            own.close_write()
        else:
            half_close(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._response.close()

    def __enter__(self) -> _Duplex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# -- the backend -----------------------------------------------------------------------------------


class HttpxBackend:
    """An `engineapi.backends.Backend` on an ``httpx.Client``.

    ``HttpxBackend("unix:///var/run/docker.sock")`` makes its own client;
    ``HttpxBackend(endpoint, client=my_client)`` uses yours (with your limits, proxies,
    event hooks…) and leaves closing it to you. A given client with a ``base_url`` receives
    relative URLs; without one, the URL comes from `endpoint`, and for a unix socket your
    client's transport must dial it (``httpx.HTTPTransport(uds=…)``).

    With `transport`, an engineapi `Transport`, httpcore opens each connection with
    ``transport.connect()`` whatever the scheme (a recording or replaying transport, a
    caller's own); an ``ssh://`` endpoint needs one (``Client(..., backend="httpx")``
    passes its own). The transport stays the caller's to close.
    """

    def __init__(
        self,
        endpoint: Endpoint | str | None = None,
        *,
        client: httpx.Client | None = None,
        max_connections: int = 10,
        transport: Transport | None = None,
    ) -> None:
        self.endpoint = None if endpoint is None else endpoint_of(endpoint)
        self._owned = client is None
        if client is None:
            if self.endpoint is None:
                raise ConfigError("HttpxBackend needs an endpoint or a client")
            if uses_transport(self.endpoint, transport):
                assert transport is not None
                client = httpx.Client(
                    transport=_EngineTransport(transport, max_connections=max_connections),
                    base_url=base_url(self.endpoint, through_transport=True),
                )
            else:
                options = client_options(self.endpoint)
                http = httpx.HTTPTransport(
                    uds=options.pop("uds"),
                    limits=httpx.Limits(max_connections=max_connections),
                    **options,
                )
                client = httpx.Client(transport=http, base_url=base_url(self.endpoint))
        self.client = client
        self._prefix = "" if str(client.base_url) else base_url(require(self.endpoint))
        self._where = self.endpoint.host.url if self.endpoint else str(client.base_url)
        self._lent = Lent()

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: Body = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> _Response:
        timer = Timer(timeouts)
        request = self.client.build_request(
            method,
            self._prefix + target,
            headers=with_length(headers, content_length),
            content=body,
            timeout=timer.httpx,
            extensions=timer.extensions(self.endpoint),
        )
        try:
            with timer.head():
                response = self.client.send(request, stream=True)
        except Exception as exc:
            raise translate(exc, self._where) from exc
        return _Response(response, timer.read, self._where, self._lent)

    def close(self) -> None:
        self._lent.cut_all()
        if self._owned:
            self.client.close()
