# GENERATED from engineapi/_async/client.py by `python -m engineapi._codegen.unasync`.
# Do not edit: change the async source and regenerate (make gen).
"""`Client`: resolves the daemon, negotiates the API version and executes calls."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from engineapi import observe
from engineapi._concurrency import Lock, run_blocking, sleep
from engineapi._explain import ERROR_BODY_LIMIT, error_message, explain_connect_error
from engineapi._sync._namespaces import Namespaces
from engineapi._sync._traced import TracedResponse
from engineapi._sync.connection import RequestBody
from engineapi._sync.executor import Hijacked, Opened
from engineapi._sync.pool import ConnectionPool
from engineapi._sync.streams import OutputStream, ProgressStream, attach
from engineapi._timeouts import ClientTimeouts, Timeouts
from engineapi._version import USER_AGENT
from engineapi.api import _versions
from engineapi.api._call import (
    Call,
    Flow,
    HijackCall,
    OutputCall,
    Pause,
    ProgressCall,
    Reply,
    WebSocketCall,
    decoded,
    operation_tag,
    pull_reference,
    with_timeout,
)
from engineapi.api.system import PingResult, ping, ping_head
from engineapi.backends._select import select_backend
from engineapi.backends.base import Backend, BackendProvider, BackendResponse
from engineapi.config import Endpoint, TLSConfig, resolve_api_version, resolve_endpoint
from engineapi.errors import (
    CLIENT_CLOSED_CALL,
    ClientClosed,
    ConnectError,
    DaemonError,
    daemon_error,
)
from engineapi.observe import (
    EventHooks,
    RequestInfo,
    ResponseInfo,
    Span,
    check_event_hooks,
    log_exchange,
    logger,
    run_hooks,
)
from engineapi.streams.stdcopy import is_multiplexed
from engineapi.streams.websocket import check_accept, handshake_headers
from engineapi.transports import transport_for
from engineapi.transports.base import Transport

if TYPE_CHECKING:
    import ssl
    from typing import Self

__all__ = ["Client"]

T = TypeVar("T")
#: What a hijacking call (attach, exec start) adds to ask for the raw connection.
UPGRADE_TCP = (("Connection", "Upgrade"), ("Upgrade", "tcp"))


class Client(Namespaces):
    """A blocking Docker Engine API client.

    With no arguments it talks to the engine the ``docker`` CLI would: ``DOCKER_HOST``, then
    ``DOCKER_CONTEXT``, then the current context of ``~/.docker/config.json``, then
    ``unix:///var/run/docker.sock``. The API version is negotiated on first use unless
    `version` (or ``DOCKER_API_VERSION``) pins it.

    Operations are grouped as on the API's tags: ``client.containers.list()``,
    ``client.system.info()``, … Use it as ``with Client() as client:`` or call
    `close()`.

    `backend` replaces engineapi's own HTTP/1.1 engine: a backend object (or a
    `engineapi.backends.BackendProvider`, e.g. `engineapi.testing.MockBackend`), or a name
    (``"builtin"``, ``"httpx"``, ``"requests"`` for `Client` only); unset, ``ENGINEAPI_BACKEND``
    names it (see `engineapi.backends`).
    `ssh_mode` chooses how ``ssh://`` hosts are reached: ``"asyncssh"`` or ``"system"`` (the
    ``ssh`` binary, like the docker CLI); see `engineapi.transports.transport_for`.
    `event_hooks` (``{"request": [...], "response": [...]}``) see every request; so does the
    ``engineapi`` logger at DEBUG (see `engineapi.observe`).
    `strict_models` (default true): a reply lacking a key the API spec requires (a field typed
    without ``None``, such as ``ContainerCreateResponse.id``) raises `MissingFieldError`; false
    decodes it as None (see `engineapi.models.lenient_decoding` for a scope instead).
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        tls: TLSConfig | ssl.SSLContext | bool | None = None,
        version: str | None = None,
        timeout: Timeouts | float | None = None,
        context: str | None = None,
        transport: Transport | None = None,
        max_connections: int = 10,
        environ: Mapping[str, str] | None = None,
        ssh_mode: str | None = None,
        backend: Backend | BackendProvider | str | None = None,
        event_hooks: EventHooks | None = None,
        strict_models: bool = True,
    ) -> None:
        #: Where the daemon is and how that was decided (argument, DOCKER_HOST, a context).
        self.endpoint: Endpoint = resolve_endpoint(host, tls, context=context, environ=environ)
        self.transport: Transport = transport or transport_for(
            self.endpoint, ssh_mode=ssh_mode, environ=environ
        )
        self._timeouts = Timeouts.coerce(timeout)
        self._timeout_scope: ContextVar[Timeouts | None] = ContextVar(
            "engineapi_timeouts", default=None
        )
        self._request_hooks, self._response_hooks = check_event_hooks(event_hooks)
        self._hooked = bool(self._request_hooks or self._response_hooks)
        #: What executes requests: engineapi's own HTTP/1.1 pool unless another `backend` is
        #: given (see `engineapi.backends`).
        self._pool: Backend = select_backend(
            backend,
            self.endpoint,
            ConnectionPool,
            self.transport,
            max_connections=max_connections,
            environ=environ,
            transport_given=transport is not None,
        )
        self._pinned_version = resolve_api_version(version, environ)
        self._api_version: str | None = self._pinned_version
        self._api_version_key = _versions.version_key(self._api_version)
        self._ping: PingResult | None = None
        #: Whether the daemon is Podman (its compat API reads a few parameters in another
        #: form); None until a call that cares asks.
        self._podman: bool | None = None
        self._negotiation = Lock()
        # Every request's first fields, made once (objects alive while a request waits are
        # what sets the cyclic GC off: 64 requests in flight each holding a few more trips it).
        self._base_headers = (("Host", self.endpoint.host.http_host), ("User-Agent", USER_AGENT))
        self._host_url = self.endpoint.host.url  # named by errors; a property, built once
        #: Where registry credentials are looked up (None: the process environment).
        self._environ = environ
        self._strict_models = strict_models
        self._closed = False
        super().__init__()

    @property
    def timeouts(self) -> ClientTimeouts:
        """The timeouts in effect here; ``with client.timeouts(read=5): ...`` overrides some
        for the current thread or task (see `ClientTimeouts`)."""
        current = self._timeout_scope.get() or self._timeouts
        return ClientTimeouts(
            current.connect,
            current.response,
            current.read,
            current.pool,
            scope=self._timeout_scope,
        )

    @timeouts.setter
    def timeouts(self, value: Timeouts | float | None) -> None:
        self._timeouts = Timeouts.coerce(value)

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None, **kwargs: object) -> Self:
        """A client configured exactly as the ``docker`` CLI would be by the environment."""
        return cls(environ=environ, **kwargs)  # type: ignore[arg-type]

    # -- version negotiation ---------------------------------------------------------------------

    def api_version(self) -> str:
        """The API version in use: pinned, or negotiated with the daemon on first call."""
        if self._api_version is None:
            self._negotiate()
        assert self._api_version is not None
        return self._api_version

    @property
    def last_ping(self) -> PingResult | None:
        """The ping that negotiated the version (``None`` if pinned or not yet negotiated)."""
        return self._ping

    def _negotiate(self) -> None:
        with self._negotiation:
            if self._api_version is not None:
                return  # another task negotiated while this one waited
            try:
                result = self.send(ping_head())
            except DaemonError as exc:
                if exc.status not in (400, 404, 405):
                    raise
                result = self.send(ping())  # a daemon without HEAD /_ping
            self._api_version = _versions.negotiate(result.api_version, self.endpoint.host.url)
            self._api_version_key = _versions.version_key(self._api_version)
            self._ping = result

    # -- executing calls -------------------------------------------------------------------------

    def _open(self, call: Call[T], upgrade: Sequence[tuple[str, str]] = ()) -> BackendResponse:
        """Send `call` (with the `upgrade` headers of a hijack or WebSocket) and return the
        response once its head is in; raise daemon errors. `call` is not changed: sending it
        again sends the same request, checked again against the API version."""
        response, observed = self._exchange(call, upgrade)
        if observed is not None:
            log_exchange(observed, None)
        return response

    def _exchange(
        self, call: Call[T], upgrade: Sequence[tuple[str, str]] = ()
    ) -> tuple[BackendResponse, ResponseInfo | None]:
        """`_open`, and what was observed of it when someone is looking (hooks, or the
        DEBUG log: then the caller writes the record, once it knows the bytes received)."""
        return self._request(call, *self._prepare(call, upgrade))

    def _prepare(
        self, call: Call[T], upgrade: Sequence[tuple[str, str]] = ()
    ) -> tuple[str, list[tuple[str, str]], RequestBody, int | None, Timeouts, str | None]:
        """What `call` is sent as, for this client and API version: target, headers, body,
        its length if known, timeouts, and the API version in the target."""
        if self._closed:
            raise ClientClosed(CLIENT_CLOSED_CALL)
        if call.cli_config is not None:
            call = self._with_cli_config(call)
        version: str | None = None
        optional: Sequence[tuple[str, str]] = ()
        if call.versioned:
            if self._api_version is None:
                self._negotiate()
            version = self._api_version
            _versions.check(call, self._api_version_key, version)
            if call.optional_query:
                optional = _versions.supported_query(call, self._api_version_key)
        podman = False
        if call.podman_query:
            podman = self._is_podman()
        body, content_length = call.body, call.content_length
        if call.local is not None:
            # The files a builder named: walked (and sized) now, off the event loop.
            local = run_blocking(call.local.open)
            body, content_length = local.body, local.content_length
            optional = [*optional, *local.query]
        # This call's own (a method's timeout=), else a scoped override, else the client's;
        # a builder's longer response wait (container wait, stop) only extends the latter.
        timeouts = call.timeouts
        if timeouts is None:
            timeouts = self._timeout_scope.get() or self._timeouts
            if call.response_timeout is not True:
                timeouts = Timeouts(
                    timeouts.connect, call.response_timeout or None, timeouts.read, timeouts.pool
                )
        if call.deadline_at is not None:
            left = max(call.deadline_at - time.monotonic(), 0.0)
            timeouts = Timeouts(
                _at_most(timeouts.connect, left),
                _at_most(timeouts.response, left),
                timeouts.read,
                _at_most(timeouts.pool, left),
            )
        headers = [*self._base_headers, *call.headers]
        if upgrade:
            headers.extend(upgrade)
        if call.credentials is not None:
            # Looked up now, with this client's environment: files and maybe a helper program.
            from engineapi.config.auth import credential_headers

            headers += run_blocking(credential_headers, call.credentials, self._environ)
        target = call.target(version, optional, podman=podman)
        # The sync twin takes no async iterables (an annotation, not a `cast` call).
        request_body: RequestBody = body  # type: ignore[assignment, unused-ignore]
        return target, headers, request_body, content_length, timeouts, version

    def _observed(self) -> bool:
        """Whether hooks, a tracer or the DEBUG log look at requests."""
        return self._hooked or observe.tracing is not None or logger.isEnabledFor(logging.DEBUG)

    def _request(
        self,
        call: Call[T],
        target: str,
        headers: list[tuple[str, str]],
        body: RequestBody,
        content_length: int | None,
        timeouts: Timeouts,
        version: str | None,
    ) -> tuple[BackendResponse, ResponseInfo | None]:
        """Send a prepared `call`; with what hooks, a tracer or the DEBUG log are told of it
        when they look."""
        if not self._observed():
            try:
                response = self._pool.request(
                    call.method,
                    target,
                    headers,
                    body,
                    content_length=content_length,
                    timeouts=timeouts,
                )
            except ConnectError as exc:
                raise explain_connect_error(exc, self.endpoint) from exc
            status = response.status
            if status >= 300 and status not in call.expect:
                raise self._daemon_error(call, response)
            return response, None
        logging_on = logger.isEnabledFor(logging.DEBUG)
        tracing = observe.tracing
        span: Span | None = None
        request = RequestInfo(
            call.operation_id,
            call.method,
            target.partition("?")[0],
            self.endpoint.host.url,
            version,
        )
        if tracing is not None:
            span = tracing(request, self.endpoint)
        started = time.perf_counter()
        try:
            if self._hooked:
                run_hooks(self._request_hooks, request)
                started = time.perf_counter()
            try:
                response = self._pool.request(
                    call.method,
                    target,
                    headers,
                    body,
                    content_length=content_length,
                    timeouts=timeouts,
                )
            except ConnectError as exc:
                raise explain_connect_error(exc, self.endpoint) from exc
            observed: ResponseInfo | None = None
            if self._hooked or logging_on or span is not None:
                observed = ResponseInfo(
                    request,
                    response.status,
                    time.perf_counter() - started,
                    len(body) if isinstance(body, bytes) else content_length if body else 0,
                    getattr(response, "reused", None),
                )
                if span is not None:
                    span.response(observed)
                try:
                    run_hooks(self._response_hooks, observed)
                except BaseException:
                    response.close()
                    raise
                if not logging_on:
                    observed = None
            status = response.status
            if status >= 300 and status not in call.expect:
                if observed is not None:
                    log_exchange(observed, None)
                raise self._daemon_error(call, response)
        except BaseException as exc:
            if span is not None:
                span.fail(exc)
            raise
        if span is not None:  # ends when the body has been read, or the stream closed
            return TracedResponse(response, span), observed
        return response, observed

    def _with_cli_config(self, call: Call[T]) -> Call[T]:
        """`call` with what it takes from the docker CLI's config.json (proxy variables for
        this daemon, detach keys), read with this client's environment, off the event loop."""
        from engineapi.config.cli import load_cli_settings, proxy_key, proxy_variables

        needed = call.cli_config
        assert needed is not None
        settings = run_blocking(load_cli_settings, self._environ)
        proxies = (
            proxy_variables(settings, proxy_key(self.endpoint.host)) if needed.wants_proxies else {}
        )
        return needed.apply(call, proxies, settings.detach_keys)

    def _is_podman(self) -> bool:
        """Whether the daemon is Podman: its ``/_ping`` answers with a ``Libpod/…`` Server
        header (the negotiation's ping, or one made now when the version is pinned)."""
        if self._podman is None:
            result = self._ping if self._ping is not None else self.send(ping())
            self._podman = (result.server or "").startswith("Libpod/")
        return self._podman

    def _daemon_error(self, call: Call[T], response: BackendResponse) -> DaemonError:
        """The typed error of an error response, its body read up to `ERROR_BODY_LIMIT` (the
        connection is dropped rather than drained past that)."""
        pieces: list[bytes] = []
        size = 0
        try:
            for piece in response.iter_bytes():
                pieces.append(piece)
                size += len(piece)
                if size > ERROR_BODY_LIMIT:
                    break
        finally:
            response.close()
        body = b"".join(pieces)
        status = response.status
        return daemon_error(
            status,
            error_message(body, status, cut=size > ERROR_BODY_LIMIT),
            method=call.method,
            path=call.path,
            host=self.endpoint.host.url,
            tag=operation_tag(call.operation_id),
            pulling=pull_reference(call),
        )

    # -- the executor: what namespaces and streams call (engineapi._sync.executor) -----------

    def send(self, call: Call[T]) -> T:
        """Execute `call` (any builder of `engineapi.api`) and decode its whole response."""
        target, headers, request_body, content_length, timeouts, version = self._prepare(call)
        if self._observed():
            response, observed = self._request(
                call, target, headers, request_body, content_length, timeouts, version
            )
            body = response.read()
            if observed is not None:
                log_exchange(observed, len(body))
        else:
            # `_request`, inlined for the call nobody looks at: every call passes here, and
            # one coroutine fewer waits (the cyclic GC counts what waiting requests hold).
            try:
                response = self._pool.request(
                    call.method,
                    target,
                    headers,
                    request_body,
                    content_length=content_length,
                    timeouts=timeouts,
                )
            except ConnectError as exc:
                raise explain_connect_error(exc, self.endpoint) from exc
            status = response.status
            if status >= 300 and status not in call.expect:
                raise self._daemon_error(call, response)
            body = response.read()
        return decoded(
            call,
            Reply(response.status, response.headers, body),
            host=self._host_url,
            strict=self._strict_models,
        )

    def open_stream(self, call: Call[Any]) -> Opened:
        """Send `call` and return once the response head is in, the body left to read; for
        container output, whether it comes as stdcopy frames."""
        if isinstance(call, OutputCall):
            tty = self._known_tty(call)
            response = self._open(call)
            return Opened(response, self._is_multiplexed(response.headers, tty))
        return Opened(self._open(call))

    def hijack(self, call: Call[Any]) -> Hijacked:
        """Send `call` asking for the connection and take it over: ``101 UPGRADED`` (or, on
        old engines without the Upgrade header, ``200`` and a hijack all the same), or a
        WebSocket handshake for a `WebSocketCall`."""
        if isinstance(call, WebSocketCall):
            # The daemon insists on an Origin header.
            key, handshake = handshake_headers(origin="http://localhost")
            response = self._open(call, handshake)
            check_accept(key, response.headers)
            return Hijacked(response.hijack())
        # A body that must name the TTY flag (exec start): learn it whatever the version.
        probe = call.tty_probe if isinstance(call, HijackCall) and call.tty_in_body else None
        if isinstance(call, HijackCall) and call.tty is None and probe is not None:
            call = call.with_tty(self.send(with_timeout(probe, call.timeouts)))
        tty = self._known_tty(call) if isinstance(call, HijackCall) else None
        response = self._open(call, UPGRADE_TCP)
        multiplexed = False
        if isinstance(call, HijackCall):
            multiplexed = self._is_multiplexed(response.headers, tty)
        return Hijacked(response.hijack(), multiplexed)

    def run_flow(self, flow: Flow[T], timeouts: Timeouts | None = None) -> T:
        """Drive a sans-IO multi-step operation (see `engineapi.api._call.Flow`): each step's
        result is sent back into it, a daemon's error is thrown into it; each step is sent
        with `timeouts` when given."""
        result: Any = None
        error: DaemonError | None = None
        try:
            while True:
                step = flow.send(result) if error is None else flow.throw(error)
                error = None
                try:
                    if timeouts is not None and not isinstance(step, Pause):
                        step = with_timeout(step, timeouts)
                    result = self._step(step)
                except DaemonError as exc:
                    error = exc
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    def _step(self, step: Call[Any] | Pause) -> Any:
        """One step of a flow, its output read whole."""
        if isinstance(step, Pause):
            sleep(step.seconds)
            return None
        if isinstance(step, HijackCall):
            with attach(self, step) as attached:
                return attached.read_split()
        if isinstance(step, OutputCall):
            with OutputStream(self, step) as output:
                return output.read_split()
        if isinstance(step, ProgressCall):
            return ProgressStream(self, step).wait()
        return self.send(step)

    def _known_tty(self, call: OutputCall) -> bool | None:
        """The TTY flag when the API version is too old for Content-Type to tell (< 1.42)."""
        if call.tty is not None:
            return call.tty
        if self._api_version is None:
            self._negotiate()
        if self._api_version_key < (1, 42) and call.tty_probe is not None:
            return self.send(call.tty_probe)
        return None

    def _is_multiplexed(self, headers: Mapping[str, str], tty: bool | None) -> bool:
        # Before API 1.42 every such body claimed to be a raw stream: only the TTY flag counts.
        content_type = headers.get("content-type") if self._api_version_key >= (1, 42) else None
        decided = is_multiplexed(content_type, tty)
        return True if decided is None else decided

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the client: every connection, and with them every stream it opened (their
        readers get `ConnectionLost` saying so), and what the transport holds (an SSH
        connection). Calls afterwards raise `ClientClosed`."""
        self._closed = True
        self._pool.close()
        close_transport = getattr(self.transport, "close", None)
        if close_transport is not None:
            close_transport()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint.host.url} ({self.endpoint.source})>"


def _at_most(timeout: float | None, bound: float) -> float:
    return bound if timeout is None else min(timeout, bound)
