"""OpenTelemetry tracing: one CLIENT span per Engine API operation (``pip install
engineapi[otel]``: the OpenTelemetry API; configure an SDK and exporter as usual).

``engineapi.otel.instrument()`` switches it on for every `Client` and `AsyncClient` of the
process, ``uninstrument()`` off; until then the cost is one attribute read per request. Each
span is named by the operationId (``ContainerList``, ``SystemEvents``, …; a custom `Call` by
its own name), a child of the span current where the call is made, and follows the HTTP
client semantic conventions:

- ``http.request.method``, ``http.response.status_code``;
- over TCP (TLS or not): ``server.address``, ``server.port`` and ``url.full`` — the URL
  *without its query string*, which carries filters and build arguments (as the ``engineapi``
  logger, tracing never records a query, a header value or a body);
- over a Unix socket: ``network.transport`` ``unix`` and ``network.peer.address`` the socket's
  path; over SSH: ``server.address`` (and ``server.port`` when the URL gives one) of the SSH
  host, and ``engineapi.ssh.socket_path`` the remote socket's path;
- ``engineapi.host`` (the engine, as a URL) and ``engineapi.api_version`` (the API version
  the request was sent with; absent for unversioned ones such as ``/_ping``).

An error — the daemon's status ≥ 400, a transport error, a timeout, an error reported inside a
stream, a stream's ``deadline=`` — sets the status ERROR and ``error.type`` (the HTTP status
code, else the exception's class) and records an exception event. A span ends when its
response has been read; a stream's (logs, events, stats, pull/build progress) when the stream
is closed or runs to its end, an attach's or exec's when its session is closed. A read that
times out with `next(timeout=)` or is cancelled does not end it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engineapi import observe
from engineapi._version import __version__

try:
    from opentelemetry import trace
except ImportError as exc:  # pragma: no cover - said to whoever imports it without the extra
    raise ImportError(
        "engineapi.otel needs the OpenTelemetry API: pip install 'engineapi[otel]'"
    ) from exc

if TYPE_CHECKING:
    from engineapi.config import Endpoint
    from engineapi.observe import RequestInfo, ResponseInfo

__all__ = ["instrument", "is_instrumented", "uninstrument"]

#: The instrumentation scope of every span.
SCOPE = "engineapi"


def instrument(tracer_provider: trace.TracerProvider | None = None) -> None:
    """Trace every request of every client from now on, with `tracer_provider`'s tracer (the
    global one by default). Calling it again replaces the provider."""
    tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
    observe.tracing = _Starter(tracer)


def uninstrument() -> None:
    """Stop tracing; spans already started still end."""
    observe.tracing = None


def is_instrumented() -> bool:
    return observe.tracing is not None


class _Starter:
    __slots__ = ("_places", "_tracer")

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        #: The attributes of where a request goes, per engine URL (clients are few).
        self._places: dict[tuple[str, bool], dict[str, Any]] = {}

    def __call__(self, request: RequestInfo, endpoint: Endpoint) -> _Span:
        tls = endpoint.tls is not None
        place = self._places.get((request.host, tls))
        if place is None:
            place = self._places[(request.host, tls)] = _place(endpoint)
        attributes = dict(place)
        attributes["http.request.method"] = request.method
        if request.api_version is not None:
            attributes["engineapi.api_version"] = request.api_version
        base = attributes.pop("_url_base", None)
        if base is not None:
            attributes["url.full"] = base + request.path
        span = self._tracer.start_span(
            request.operation_id, kind=trace.SpanKind.CLIENT, attributes=attributes
        )
        return _Span(span)


def _place(endpoint: Endpoint) -> dict[str, Any]:
    host = endpoint.host
    attributes: dict[str, Any] = {"engineapi.host": host.url}
    if host.scheme == "unix":
        attributes["network.transport"] = "unix"
        attributes["network.peer.address"] = host.socket_path
    elif host.scheme == "ssh":
        attributes["server.address"] = host.hostname
        if host.port is not None:  # else ~/.ssh/config or ssh's default decides
            attributes["server.port"] = host.port
        if host.path:
            attributes["engineapi.ssh.socket_path"] = host.path
    else:
        secure = endpoint.tls is not None or host.tls_implied
        attributes["server.address"] = host.hostname
        attributes["server.port"] = host.port
        attributes["_url_base"] = f"{'https' if secure else 'http'}://{host.netloc}{host.path}"
    return attributes


class _Span:
    """The `engineapi.observe.Span` of one operation."""

    __slots__ = ("_ended", "_span", "_status")

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self._status = 0
        self._ended = False

    def response(self, info: ResponseInfo) -> None:
        self._status = info.status
        self._span.set_attribute("http.response.status_code", info.status)

    def fail(self, error: BaseException) -> None:
        if self._ended:
            return
        span = self._span
        error_type = str(self._status) if self._status >= 400 else _qualified(error)
        span.set_attribute("error.type", error_type)
        span.record_exception(error)
        span.set_status(trace.Status(trace.StatusCode.ERROR, str(error) or error_type))
        self.end()

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._span.end()


def _qualified(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"
