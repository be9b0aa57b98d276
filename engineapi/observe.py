"""Seeing what a client does: one log record and the event hooks of each request.

Logging: the ``engineapi`` logger writes one DEBUG record per request — method, path, status,
duration, bytes each way, new or reused connection, engine host — with the same facts as
structured ``extra=`` fields (``engineapi_operation``, ``engineapi_method``, …). Never a
query string, a header value or a body: queries carry build args and filters, headers carry
registry credentials. When DEBUG is off the cost is one ``isEnabledFor`` check per request.

Hooks: ``Client(event_hooks={"request": [...], "response": [...]})``. A request hook gets a
`RequestInfo` before anything is sent; a response hook a `ResponseInfo` once the response
head is in (before the body is read: a stream's hook runs when it opens). A hook that raises
fails the call with its exception. `AsyncClient` hooks may be coroutine functions.

Tracing: `engineapi.otel.instrument()` sets `tracing`, which every client consults per
request (one module attribute read when it is unset): it opens a `Span` per operation, told
of the response head and of a failure, ended when the body has been read or the stream closed.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from engineapi.config import Endpoint

__all__ = [
    "EventHooks",
    "RequestInfo",
    "ResponseInfo",
    "Span",
    "SpanStarter",
    "arun_hooks",
    "check_event_hooks",
    "log_exchange",
    "logger",
    "run_hooks",
]

#: The logger of every request record (DEBUG); engineapi logs nothing else at INFO or above.
logger = logging.getLogger("engineapi")


@attrs.frozen
class RequestInfo:
    """A request about to be sent."""

    #: The Engine API operationId (``ContainerList``), or a caller's name for a custom call.
    operation_id: str
    method: str
    #: The path with the version prefix, without the query string (``/v1.51/containers/json``).
    path: str
    #: The engine, as a URL (``unix:///var/run/docker.sock``, ``ssh://user@host``).
    host: str
    #: The API version the request is sent with (``None`` for unversioned ones: ``/_ping``).
    api_version: str | None


@attrs.frozen
class ResponseInfo:
    """A response whose head has arrived."""

    request: RequestInfo
    status: int
    #: Seconds from the start of sending to the end of the response head.
    duration: float
    #: The request body's size, when known before sending (``None`` for a streamed body).
    bytes_sent: int | None
    #: Whether the request went over a pooled connection (``None``: the backend cannot tell).
    reused_connection: bool | None


class Span(Protocol):
    """One operation as a tracer sees it (see `engineapi.otel`)."""

    def response(self, info: ResponseInfo) -> None:
        """The response head is in."""

    def fail(self, error: BaseException) -> None:
        """The operation failed with `error` (then ended: `end()` after it does nothing)."""

    def end(self) -> None:
        """The operation is over: its body read, its stream or session closed. Idempotent."""


#: Starts the `Span` of a request about to be sent to an endpoint.
SpanStarter = Callable[[RequestInfo, "Endpoint"], Span]

#: Set by `engineapi.otel.instrument()`; ``None``: no tracing, and no cost beyond reading it.
tracing: SpanStarter | None = None


Hook = Callable[[Any], object]
#: ``{"request": [hook, …], "response": [hook, …]}``.
EventHooks = Mapping[str, Sequence[Hook]]


def check_event_hooks(hooks: EventHooks | None) -> tuple[tuple[Hook, ...], tuple[Hook, ...]]:
    """``(request hooks, response hooks)``; anything else is a `TypeError` now, not later."""
    if not hooks:
        return (), ()
    unknown = set(hooks) - {"request", "response"}
    if unknown:
        raise TypeError(f"event_hooks keys are 'request' and 'response', not {sorted(unknown)}")
    found: dict[str, tuple[Hook, ...]] = {}
    for kind in ("request", "response"):
        given = hooks.get(kind, ())
        if callable(given) or isinstance(given, str | bytes):
            raise TypeError(f"event_hooks[{kind!r}] must be a list of callables")
        listed = tuple(given)
        for hook in listed:
            if not callable(hook):
                raise TypeError(f"event_hooks[{kind!r}] holds {hook!r}, which is not callable")
        found[kind] = listed
    return found["request"], found["response"]


def run_hooks(hooks: Sequence[Hook], info: object) -> None:
    """Call each hook (of a blocking `Client`) in order."""
    for hook in hooks:
        outcome = hook(info)
        if inspect.isawaitable(outcome):
            _close(outcome)
            raise TypeError(
                f"the hook {hook!r} is a coroutine function: a Client's hooks are plain"
            )


async def arun_hooks(hooks: Sequence[Hook], info: object) -> None:
    """Call each hook (of an `AsyncClient`) in order, awaiting those that return awaitables."""
    for hook in hooks:
        outcome = hook(info)
        if inspect.isawaitable(outcome):
            await outcome


def _close(outcome: Awaitable[object]) -> None:
    close = getattr(outcome, "close", None)
    if close is not None:
        close()  # no "never awaited" warning on top of the error


def log_exchange(response: ResponseInfo, bytes_received: int | None) -> None:
    """The DEBUG record of one request (the caller checked that DEBUG is on); written when
    the body has been read, or at the head for a stream or an error (`bytes_received` None)."""
    request = response.request
    reused = response.reused_connection
    connection = "reused" if reused else "new" if reused is not None else "pooled?"
    logger.debug(
        "%s %s → %d in %.1f ms (%s B sent, %s B received, %s connection, %s)",
        request.method,
        request.path,
        response.status,
        response.duration * 1e3,
        "?" if response.bytes_sent is None else response.bytes_sent,
        "?" if bytes_received is None else bytes_received,
        connection,
        request.host,
        extra={
            "engineapi_operation": request.operation_id,
            "engineapi_method": request.method,
            "engineapi_path": request.path,
            "engineapi_status": response.status,
            "engineapi_duration": response.duration,
            "engineapi_bytes_sent": response.bytes_sent,
            "engineapi_bytes_received": bytes_received,
            "engineapi_reused_connection": reused,
            "engineapi_host": request.host,
            "engineapi_api_version": request.api_version,
        },
    )
