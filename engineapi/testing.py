"""Test doubles: a daemon that is a function of yours, for `Client` and `AsyncClient` alike.

`MockBackend` takes a *handler*, a function from a `MockRequest` (method, path, query, headers,
body, and the API operation it is, matched against the API's routes) to a `MockResponse`
(status, headers, and a body given as ``json=``, ``content=`` bytes or a ``stream=`` of pieces).
Nothing is sent anywhere: the client's request goes to the handler and its answer comes back
through the client's usual decoding, so the models, typed errors and streams are the real ones::

    from engineapi import Client, NotFound
    from engineapi.testing import MockBackend, MockResponse

    def handler(request):
        if request.operation_id == "ContainerList":
            return MockResponse(json=[{"Id": "c1", "Names": ["/web"], "State": "running"}])
        if request.operation_id == "ContainerInspect":
            return MockResponse.error(404, f"No such container: {request.path_params['id']}")
        return None  # not handled: a failing test that names the request

    with Client(backend=MockBackend(handler)) as client:
        assert client.containers.list()[0].names == ["/web"]

The version negotiation (``HEAD /_ping``, or ``GET /_ping`` after it) is answered by the mock
with `api_version` when the handler returns None for it, so a handler need not fake the ping;
a successful answer of the handler to a ping gets the ``Api-Version`` and ``Server`` headers it
lacks from the mock (so a catch-all handler still negotiates), and an error answer is used as
it is (to test a daemon that fails its ping).
Any other request the handler returns None for raises `UnhandledRequest`. Every request is kept
in `MockBackend.requests`, in order.

The same handler serves an `AsyncClient`; there it may also be a coroutine function, and a
``stream=`` may be an async iterable. Attach and exec start (hijacked connections) are answered
by a `ScriptedDuplex`: what it gives the client to read, in pieces, and what the client wrote.

Helpers make the bodies the daemon streams: `stdcopy_frames` (multiplexed container output),
`json_lines` (events, pull/push/build progress), `MockResponse.error` (``{"message": …}``).
"""

from __future__ import annotations

import inspect
import json as _json
import re
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, unquote

from engineapi.api._routes import ROUTES
from engineapi.errors import ConnectionLost, EngineAPIError
from engineapi.http import Headers
from engineapi.streams.stdcopy import MULTIPLEXED, RAW, encode_frame

if TYPE_CHECKING:
    from engineapi._timeouts import Timeouts
    from engineapi.backends.base import AsyncBackend, Backend

__all__ = [
    "DEFAULT_API_VERSION",
    "Handler",
    "MockBackend",
    "MockRequest",
    "MockResponse",
    "ScriptedDuplex",
    "UnhandledRequest",
    "json_lines",
    "stdcopy_frames",
]

#: The API version the mock's automatic ping announces.
DEFAULT_API_VERSION: Final = "1.51"
#: The ``Server`` header of the automatic ping.
DEFAULT_SERVER: Final = "Docker/28.5.1 (linux)"

_VERSION_PREFIX = re.compile(r"/v(\d+\.\d+)(/.*)")
_PARAM = re.compile(r"\{(\w+)\}")
_REASONS = {
    101: "UPGRADED",
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    406: "Not Acceptable",
    409: "Conflict",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class UnhandledRequest(EngineAPIError, AssertionError):
    """The handler returned None for a request it was given (the ping aside)."""

    def __init__(self, request: MockRequest) -> None:
        super().__init__(
            f"MockBackend: the handler returned no response for {request.describe()} "
            f"(operation {request.operation_id or 'unknown'})"
        )
        self.request = request


# -- requests -------------------------------------------------------------------------------------


def _compile_routes() -> list[tuple[re.Pattern[str], re.Pattern[str], str, str]]:
    """(path regex with one-segment values, with any values, method, operation id), the most
    specific templates (most literal characters) first."""
    routes = []
    for operation_id, (method, template) in ROUTES.items():
        parts = _PARAM.split(template)  # literal, name, literal, name, …
        literal = "".join(re.escape(part) for part in parts[0::2])
        one, anything = [], []
        for index, part in enumerate(parts):
            if index % 2:
                one.append(f"(?P<{part}>[^/]+)")
                anything.append(f"(?P<{part}>.+)")
            else:
                one.append(re.escape(part))
                anything.append(re.escape(part))
        routes.append((len(literal), "".join(one), "".join(anything), method, operation_id))
    routes.sort(key=lambda route: -route[0])
    return [(re.compile(a), re.compile(b), m, o) for _, a, b, m, o in routes]


_ROUTES: list[tuple[re.Pattern[str], re.Pattern[str], str, str]] | None = None


def match_route(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    """The operation id of `method` `path` (no version prefix) and the values of its template
    (``{"id": "c1"}``); ``(None, {})`` when no route of the API matches."""
    global _ROUTES
    if _ROUTES is None:
        _ROUTES = _compile_routes()
    for slashes in (False, True):  # one path segment per value first, then any values
        for one, anything, route_method, operation_id in _ROUTES:
            if route_method != method:
                continue
            found = (anything if slashes else one).fullmatch(path)
            if found is not None:
                return operation_id, {k: unquote(v) for k, v in found.groupdict().items()}
    return None, {}


class MockRequest:
    """A request as the daemon would get it.

    `path` has no ``/vX.Y`` prefix (that is `api_version`); `query` is the decoded query string
    as (name, value) pairs in order, a name repeated for a list; `headers` are case-insensitive
    (`Headers.raw` has them as sent); `body` the whole body. `operation_id` is the API
    operation whose route matches (``"ContainerList"``), `path_params` the route's values.
    """

    __slots__ = (
        "api_version",
        "body",
        "headers",
        "method",
        "operation_id",
        "path",
        "path_params",
        "query",
        "target",
    )

    def __init__(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes = b"",
    ) -> None:
        path, _, query = target.partition("?")
        version = None
        prefixed = _VERSION_PREFIX.fullmatch(path)
        if prefixed is not None:
            version, path = prefixed.group(1), prefixed.group(2)
        self.method = method
        self.target = target
        self.path = path
        self.api_version: str | None = version
        self.query: list[tuple[str, str]] = parse_qsl(query, keep_blank_values=True)
        self.headers = Headers(list(headers))
        self.body = body
        operation_id, params = match_route(method, path)
        self.operation_id: str | None = operation_id
        self.path_params: dict[str, str] = params

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter `name`."""
        return next((v for n, v in self.query if n == name), default)

    def params(self, name: str) -> list[str]:
        """Every value of query parameter `name`, in order."""
        return [v for n, v in self.query if n == name]

    @property
    def query_dict(self) -> dict[str, list[str]]:
        """The query as a multi-dict: name → values."""
        result: dict[str, list[str]] = {}
        for name, value in self.query:
            result.setdefault(name, []).append(value)
        return result

    def json(self) -> Any:
        """The body parsed as JSON (``None`` for no body)."""
        return _json.loads(self.body) if self.body else None

    @property
    def is_ping(self) -> bool:
        return self.path == "/_ping" and self.method in ("GET", "HEAD")

    def describe(self) -> str:
        query = "&".join(f"{n}={v}" for n, v in self.query)
        return f"{self.method} {self.path}{'?' + query if query else ''}"

    def __repr__(self) -> str:
        return f"<MockRequest {self.describe()} ({self.operation_id})>"


# -- responses ------------------------------------------------------------------------------------

_UNSET: Any = object()


class ScriptedDuplex:
    """The daemon's side of a hijacked connection (attach, exec start), scripted.

    Reads give the `output` pieces in order, then end (``b""``, the daemon closed). `respond`,
    if given, is called with each piece the client writes and returns more pieces to read
    (an echo: ``respond=lambda data: [stdcopy_frames([(1, data)])]``). What the client wrote
    is in `written`; `write_closed` says whether it half-closed (``close_write()``).
    """

    def __init__(
        self,
        output: Iterable[bytes] = (),
        *,
        respond: Callable[[bytes], Iterable[bytes]] | None = None,
    ) -> None:
        self._output = [bytes(piece) for piece in output if piece]
        self._respond = respond
        self.written = bytearray()
        self.write_closed = False
        self.closed = False
        self._lock = threading.Lock()

    def _read(self, max_bytes: int) -> bytes:
        with self._lock:
            if self.closed:
                raise ConnectionLost("the scripted connection is closed")
            if not self._output:
                return b""
            piece = self._output.pop(0)
            if len(piece) > max_bytes:
                self._output.insert(0, piece[max_bytes:])
                piece = piece[:max_bytes]
            return piece

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self.closed or self.write_closed:
                raise ConnectionLost("the scripted connection is closed for writing")
            self.written += data
            if self._respond is not None:
                self._output.extend(bytes(p) for p in self._respond(bytes(data)) if p)

    # the sync Duplex
    def read(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        return self._read(max_bytes)

    def write(self, data: bytes, timeout: float | None = None) -> None:
        self._write(data)

    def close_write(self) -> None:
        self.write_closed = True

    def close(self) -> None:
        self.closed = True


class _AsyncDuplex:
    """A `ScriptedDuplex` as an `AsyncDuplex`."""

    def __init__(self, script: ScriptedDuplex) -> None:
        self.script = script

    async def read(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        return self.script._read(max_bytes)

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        self.script._write(data)

    async def close_write(self) -> None:
        self.script.close_write()

    async def aclose(self) -> None:
        self.script.close()


class MockResponse:
    """What the handler answers: a status, headers and at most one kind of body.

    - ``json=value``: the value as JSON (``Content-Type: application/json``);
    - ``content=bytes``: these bytes;
    - ``stream=pieces``: an iterable of bytes (an async iterable too, for `AsyncClient`), read
      lazily as the client reads — a stream of events, progress or logs;
    - ``duplex=ScriptedDuplex(...)``: for attach and exec start, the hijacked connection
      (`upgraded` makes the whole answer).

    `headers` is a mapping or a list of (name, value) pairs. See also `error`.
    """

    __slots__ = ("body", "duplex", "headers", "reason", "status", "stream")

    def __init__(
        self,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        *,
        json: Any = _UNSET,
        content: bytes | None = None,
        stream: Iterable[bytes] | AsyncIterable[bytes] | None = None,
        duplex: ScriptedDuplex | None = None,
        reason: str | None = None,
    ) -> None:
        given = [json is not _UNSET, content is not None, stream is not None]
        if sum(given) > 1:
            raise ValueError("give at most one of json=, content= and stream=")
        fields = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        names = {name.lower() for name, _ in fields}
        if json is not _UNSET:
            content = _json.dumps(json).encode() + b"\n"
            if "content-type" not in names:
                fields.append(("Content-Type", "application/json"))
        self.status = status
        self.reason = reason if reason is not None else _REASONS.get(status, "")
        self.headers: list[tuple[str, str]] = fields
        self.body: bytes | None = content
        self.stream = stream
        self.duplex = duplex

    @classmethod
    def error(cls, status: int, message: str) -> MockResponse:
        """The daemon's error answer: `status` and ``{"message": message}`` (a 404 becomes
        `engineapi.NotFound`, a 409 `Conflict`, …)."""
        return cls(status, json={"message": message})

    @classmethod
    def upgraded(
        cls,
        output: Iterable[bytes] = (),
        *,
        multiplexed: bool = True,
        respond: Callable[[bytes], Iterable[bytes]] | None = None,
    ) -> MockResponse:
        """The answer to attach / exec start: ``101`` and a `ScriptedDuplex` giving `output`
        (stdcopy frames when `multiplexed`, raw TTY bytes otherwise)."""
        return cls(
            101,
            [
                ("Content-Type", MULTIPLEXED if multiplexed else RAW),
                ("Connection", "Upgrade"),
                ("Upgrade", "tcp"),
            ],
            duplex=ScriptedDuplex(output, respond=respond),
        )

    def __repr__(self) -> str:
        return f"<MockResponse {self.status}>"


def stdcopy_frames(frames: Iterable[tuple[int, bytes | str]]) -> bytes:
    """Multiplexed container output as the daemon writes it: ``[(1, b"out"), (2, b"err")]``
    (1 is stdout, 2 stderr; text is UTF-8 encoded)."""
    return b"".join(
        encode_frame(stream, data.encode() if isinstance(data, str) else data)
        for stream, data in frames
    )


def json_lines(values: Iterable[Any]) -> list[bytes]:
    """One piece per value, each its JSON and a newline, as the daemon streams events and
    progress. An error inside a progress stream is a value like
    ``{"errorDetail": {"message": "…"}, "error": "…"}``."""
    return [_json.dumps(value).encode() + b"\n" for value in values]


# -- the backend ----------------------------------------------------------------------------------

#: A handler: request → response, or None when it does not handle the request. For an
#: `AsyncClient` it may return an awaitable of the same.
Handler = Callable[[MockRequest], "MockResponse | Awaitable[MockResponse | None] | None"]


class MockBackend:
    """A backend that answers every request with `handler` (see the module docstring).

    Give it to either client: ``Client(backend=MockBackend(handler))`` or
    ``AsyncClient(backend=MockBackend(handler))``. `api_version` and `server` are what the
    automatic ping announces. `requests` lists every request received (pings included).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        api_version: str = DEFAULT_API_VERSION,
        server: str = DEFAULT_SERVER,
    ) -> None:
        self.handler = handler
        self.api_version = api_version
        self.server = server
        self.requests: list[MockRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    def engineapi_backend(self, *, asynchronous: bool) -> AsyncBackend | Backend:
        """The `engineapi.backends.BackendProvider` hook: the flavour the client wants."""
        return _AsyncMock(self) if asynchronous else _SyncMock(self)

    def _received(self, request: MockRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _answer(self, request: MockRequest, response: MockResponse | None) -> MockResponse:
        if response is None:
            if not request.is_ping:
                raise UnhandledRequest(request)
            return self.ping_response(request.method)
        if not isinstance(response, MockResponse):
            raise TypeError(
                f"MockBackend: the handler returned {type(response).__name__} for "
                f"{request.describe()}: return a MockResponse or None"
            )
        if request.is_ping and response.status < 300:
            # A catch-all answer still negotiates: the headers it lacks come from the mock.
            names = {name.lower() for name, _ in response.headers}
            response.headers += [
                (name, value)
                for name, value in (("Api-Version", self.api_version), ("Server", self.server))
                if name.lower() not in names
            ]
        return response

    def ping_response(self, method: str = "GET") -> MockResponse:
        """What the mock answers a ping the handler leaves alone."""
        headers = [
            ("Api-Version", self.api_version),
            ("Docker-Experimental", "false"),
            ("Ostype", "linux"),
            ("Server", self.server),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        return MockResponse(200, headers, content=None if method == "HEAD" else b"OK")

    def __repr__(self) -> str:
        return f"<MockBackend {getattr(self.handler, '__name__', self.handler)!r}>"


def _collect(body: bytes | Iterable[bytes] | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    return b"".join(bytes(piece) for piece in body)


class _SyncResponse:
    def __init__(self, answer: MockResponse) -> None:
        self._answer = answer
        self.status = answer.status
        self.reason = answer.reason
        self.headers = Headers(answer.headers)
        self.reused = False
        self._closed = False

    def iter_bytes(self) -> Iterator[bytes]:
        answer = self._answer
        if answer.body:
            yield answer.body
        elif answer.stream is not None:
            if isinstance(answer.stream, AsyncIterable):
                raise TypeError("an async iterable stream= needs AsyncClient")
            for piece in answer.stream:
                if self._closed:
                    raise ConnectionLost("the stream was closed")
                if piece:
                    yield bytes(piece)

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def hijack(self) -> ScriptedDuplex:
        return _duplex_of(self._answer)

    def close(self) -> None:
        self._closed = True


def _duplex_of(answer: MockResponse) -> ScriptedDuplex:
    if answer.duplex is not None:
        return answer.duplex
    if isinstance(answer.stream, AsyncIterable):
        raise TypeError("a hijacked answer takes bytes or a sync stream= (or duplex=)")
    return ScriptedDuplex([answer.body or b"", *(answer.stream or ())])


class _SyncMock:
    """The `Backend` a `Client` gets from a `MockBackend`."""

    def __init__(self, mock: MockBackend) -> None:
        self.mock = mock

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes] | None = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> _SyncResponse:
        request = MockRequest(method, target, headers, _collect(body))
        self.mock._received(request)
        result = self.mock.handler(request)
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()  # no "never awaited" warning
            raise TypeError(
                "MockBackend: an async handler serves AsyncClient only; give Client a plain "
                "function"
            )
        return _SyncResponse(self.mock._answer(request, result))

    def close(self) -> None:
        self.mock.closed = True


class _AsyncResponse:
    def __init__(self, answer: MockResponse) -> None:
        self._answer = answer
        self.status = answer.status
        self.reason = answer.reason
        self.headers = Headers(answer.headers)
        self.reused = False
        self._closed = False

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        answer = self._answer
        if answer.body:
            yield answer.body
        elif isinstance(answer.stream, AsyncIterable):
            async for piece in answer.stream:
                if self._closed:
                    raise ConnectionLost("the stream was closed")
                if piece:
                    yield bytes(piece)
        elif answer.stream is not None:
            for piece in answer.stream:
                if self._closed:
                    raise ConnectionLost("the stream was closed")
                if piece:
                    yield bytes(piece)

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.iter_bytes()])

    def hijack(self) -> _AsyncDuplex:
        return _AsyncDuplex(_duplex_of(self._answer))

    async def aclose(self) -> None:
        self._closed = True


class _AsyncMock:
    """The `AsyncBackend` an `AsyncClient` gets from a `MockBackend`."""

    def __init__(self, mock: MockBackend) -> None:
        self.mock = mock

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
        if isinstance(body, AsyncIterable):
            data = b"".join([bytes(piece) async for piece in body])
        else:
            data = _collect(body)
        request = MockRequest(method, target, headers, data)
        self.mock._received(request)
        result = self.mock.handler(request)
        if inspect.isawaitable(result):
            result = await result
        return _AsyncResponse(self.mock._answer(request, result))

    async def aclose(self) -> None:
        self.mock.closed = True
