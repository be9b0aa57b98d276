"""A sync backend on requests: `RequestsBackend`.

Install with ``pip install engineapi[requests]``. ``unix://`` hosts go through
requests-unixsocket, ``tcp://`` and TLS hosts through a plain ``requests.Session``; a caller's
preconfigured session may be given instead (it is used, never closed).

Only public requests/urllib3 API is used, and that rules out hijacking through requests: after
a ``101`` the bytes that followed the response head sit in the read buffer of http.client's
response object, and neither requests nor urllib3 offers a public way to take them over
together with the socket (reaching into those private attributes is what makes other Docker
clients break on requests and urllib3 releases). So the requests that hijack — attach, exec
start with a stream, the WebSocket attach, and with them ``containers.run`` — go over
engineapi's own HTTP/1.1 engine instead, on connections of their own to the same endpoint
(`hijack_transport`; made from the endpoint when the backend owns its session). With a
session of yours and no `hijack_transport`, they raise `HijackUnsupported` *before anything
is sent*: your session's adapters and settings could not be carried over.

Timeouts: requests has one read timeout for the response head and every body read; the
backend gives it the larger of `Timeouts.response` and `Timeouts.read`, or none if either is
``None`` — never giving up earlier than engineapi's own engine, but possibly later.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
import requests_unixsocket  # type: ignore[import-untyped]
import urllib3

from engineapi._timeouts import Timeouts
from engineapi.backends._lent import Lent, one_read_timeout, shut_down
from engineapi.config import Endpoint, resolve_endpoint
from engineapi.errors import (
    ConfigError,
    ConnectError,
    ConnectionLost,
    HijackUnsupported,
    RemoteProtocolError,
    TimeoutError,
)
from engineapi.transports.base import READ_SIZE

if TYPE_CHECKING:
    from engineapi._sync.pool import ConnectionPool
    from engineapi.transports.base import Transport

__all__ = ["HijackUnsupported", "RequestsBackend"]

_CONNECT_ERRNOS = {errno.ENOENT, errno.ECONNREFUSED, errno.EACCES, errno.EHOSTUNREACH}


def _base_url(endpoint: Endpoint) -> str:
    host = endpoint.host
    if host.scheme == "unix":
        assert host.socket_path is not None
        return f"http+unix://{quote(host.socket_path, safe='')}"
    if host.scheme == "tcp":
        return f"{'https' if endpoint.tls else 'http'}://{host.netloc}"
    raise ConfigError(
        f"the requests backend cannot reach {host.url}: it speaks to unix://, tcp:// and TLS "
        "hosts only (use the built-in backend for ssh://)",
        source=endpoint.source,
    )


def _session_for(endpoint: Endpoint, max_connections: int) -> requests.Session:
    if endpoint.host.scheme == "unix":
        session: requests.Session = requests_unixsocket.Session()
        session.mount(
            "http+unix://", _SocketAdapter(pool_connections=1, pool_maxsize=max_connections)
        )
        return session
    session = requests.Session()
    tls = endpoint.tls
    if tls is not None and tls.context is not None:
        # requests takes paths; urllib3 would rewrite a given context's verification.
        raise ConfigError(
            "the requests backend takes TLS material as paths (TLSConfig(ca_cert=…, "
            "client_cert=…, client_key=…)), not a ready ssl.SSLContext: use the built-in or "
            "the httpx backend for one",
            source=endpoint.tls_source or endpoint.source,
        )
    adapter = _TLSNameAdapter(
        tls.server_hostname if tls is not None else None, pool_maxsize=max_connections
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if tls is not None:
        session.verify = (tls.ca_cert or True) if tls.verify else False
        if tls.client_cert and tls.client_key:
            session.cert = (tls.client_cert, tls.client_key)
    return session


class _TLSNameAdapter(requests.adapters.HTTPAdapter):
    """Sends `server_hostname` in SNI and checks the certificate against it (urllib3's pool
    options), for `TLSConfig.server_hostname`."""

    def __init__(self, server_hostname: str | None, **kwargs: Any) -> None:
        self._server_hostname = server_hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._server_hostname:
            kwargs["server_hostname"] = self._server_hostname
            kwargs["assert_hostname"] = self._server_hostname
        super().init_poolmanager(*args, **kwargs)


class _SocketAdapter(requests_unixsocket.UnixAdapter):  # type: ignore[misc]
    """requests-unixsocket's adapter with one connection pool per socket.

    The stock adapter keys its pools by the whole URL, so every API path would get a pool
    (and a connection) of its own; here the key is the socket alone.
    """

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        return self.get_connection(request.url or "", proxies)

    def get_connection(self, url: str | bytes, proxies: Any = None) -> Any:
        text = url.decode() if isinstance(url, bytes) else url
        return super().get_connection(f"http+unix://{urlsplit(text).netloc}/", proxies)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its arguments that are exceptions, and their causes, depth first."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for attr in ("reason", "__cause__", "__context__"):
            linked = getattr(current, attr, None)
            if isinstance(linked, BaseException):
                todo.append(linked)


def _translate(exc: Exception, where: str, *, connecting: bool) -> Exception:
    """An engineapi error for a requests/urllib3 one (others are returned unchanged)."""
    causes = list(_causes(exc))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TimeoutError(f"connecting to {where} timed out")
    if any(
        isinstance(c, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError)
        for c in causes
    ):
        return TimeoutError(f"{where} did not answer in time")
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectError(f"cannot connect to {where}: {exc}", host=where)
    if connecting and any(
        isinstance(c, urllib3.exceptions.NewConnectionError)
        or (isinstance(c, OSError) and c.errno in _CONNECT_ERRNOS)
        for c in causes
    ):
        return ConnectError(f"cannot connect to {where}: {exc}", host=where)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return RemoteProtocolError(f"{where}: the response body was cut short ({exc})")
    if isinstance(exc, requests.exceptions.RequestException | urllib3.exceptions.HTTPError):
        return ConnectionLost(f"the connection to {where} broke: {exc}")
    return exc


class _Response:
    __slots__ = ("__weakref__", "_lent", "_response", "_where")

    def __init__(self, response: requests.Response, where: str, lent: Lent) -> None:
        self._response = response
        self._where = where
        self._lent = lent
        lent.items.add(self)

    def cut(self) -> None:
        """Wake a thread blocked reading this body: shut the socket under it down (urllib3's
        connection object is its public ``connection``; closing alone would not wake it)."""
        connection = getattr(self._response.raw, "connection", None)
        shut_down(getattr(connection, "sock", None))

    @property
    def status(self) -> int:
        return self._response.status_code

    def hijack(self) -> Any:
        raise HijackUnsupported(
            "the requests backend cannot hijack a connection: use backend='builtin' or "
            "backend='httpx' for attach and exec",
            source="backend=requests",
        )

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def read(self) -> bytes:
        return b"".join(list(self.iter_bytes()))

    def iter_bytes(self) -> Iterator[bytes]:
        raw: urllib3.HTTPResponse = self._response.raw
        done = False
        try:
            try:
                if raw.chunked:
                    yield from raw.stream(READ_SIZE, decode_content=False)
                else:
                    while piece := raw.read1(READ_SIZE, decode_content=False):
                        yield piece
            except Exception as exc:
                self._lent.check(exc)
                raise _translate(exc, self._where, connecting=False) from exc
            self._lent.check()
            done = True
        finally:
            if done:
                raw.release_conn()  # read to the end: the connection may be reused
            else:
                self.close()

    def close(self) -> None:
        """Drop the connection (a body not read to the end cannot be reused)."""
        self._response.close()


def _wants_upgrade(headers: list[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "connection" and "upgrade" in value.lower() for name, value in headers
    )


class RequestsBackend:
    """An `engineapi.backends.Backend` on requests (and requests-unixsocket for sockets).

    ``RequestsBackend("unix:///var/run/docker.sock")`` makes and owns its session;
    ``RequestsBackend(endpoint, session=my_session)`` uses yours (for ``unix://`` it must be
    able to send ``http+unix://`` URLs, as ``requests_unixsocket.Session()`` does).
    Hijacking operations (attach, exec streams) go over engineapi's own engine through
    `hijack_transport` — by default the endpoint's transport when the session is the
    backend's own; with your session and no `hijack_transport` they raise `HijackUnsupported`
    (see the module documentation).
    """

    def __init__(
        self,
        endpoint: Endpoint | str,
        *,
        session: requests.Session | None = None,
        max_connections: int = 10,
        hijack_transport: Transport | None = None,
    ) -> None:
        self.endpoint = resolve_endpoint(endpoint) if isinstance(endpoint, str) else endpoint
        self._base = _base_url(self.endpoint)
        self._owned = session is None
        self.session = session or _session_for(self.endpoint, max_connections)
        self._where = self.endpoint.host.url
        self._lent = Lent()
        self._max_connections = max_connections
        if hijack_transport is None and self._owned:
            from engineapi.transports import transport_for

            hijack_transport = transport_for(self.endpoint)
        self._hijack_transport = hijack_transport
        self._hijack_pool: ConnectionPool | None = None  # made on the first hijack
        self._hijack_lock = threading.Lock()

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
        if _wants_upgrade(headers):
            pool = self._hijacking_pool(method, target)
            return pool.request(  # type: ignore[return-value]  # a builtin response: hijacks
                method, target, headers, body, content_length=content_length, timeouts=timeouts
            )
        request = requests.Request(method, self._base + target, headers=dict(headers), data=body)
        prepared = self.session.prepare_request(request)
        if content_length is not None and not isinstance(body, bytes):
            prepared.headers.pop("Transfer-Encoding", None)
            prepared.headers["Content-Length"] = str(content_length)
        try:
            response = self.session.send(
                prepared,
                stream=True,
                timeout=(timeouts.connect, one_read_timeout(timeouts)),
                allow_redirects=False,
            )
        except Exception as exc:
            raise _translate(exc, self._where, connecting=True) from exc
        return _Response(response, self._where, self._lent)

    def _hijacking_pool(self, method: str, target: str) -> ConnectionPool:
        """engineapi's own pool for the requests that take their connection over."""
        with self._hijack_lock:
            if self._hijack_pool is not None:
                return self._hijack_pool
            if self._hijack_transport is None:
                raise HijackUnsupported(
                    f"the requests backend cannot hijack a connection ({method} {target} asks "
                    "for an upgrade): requests and urllib3 have no public way to take over the "
                    "socket after 101, and with a session of yours the backend does not dial "
                    "on its own. Pass hijack_transport= (engineapi.transports.transport_for"
                    "(endpoint)), or use backend='builtin' or backend='httpx'.",
                    source="backend=requests",
                )
            from engineapi._sync.pool import ConnectionPool

            self._hijack_pool = ConnectionPool(
                self._hijack_transport, max_connections=self._max_connections
            )
            return self._hijack_pool

    def close(self) -> None:
        self._lent.cut_all()
        with self._hijack_lock:
            pool, self._hijack_pool = self._hijack_pool, None
        if pool is not None:
            pool.close()
        if self._owned:
            self.session.close()
