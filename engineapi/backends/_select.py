"""Choosing a backend: ``backend=`` (an instance or a name), else ``ENGINEAPI_BACKEND``.

Names: ``"builtin"`` (engineapi's own HTTP/1.1 engine, the default), ``"httpx"`` and
``"requests"`` (sync clients only). httpx and requests are imported only when named.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, overload

from engineapi.errors import ConfigError

if TYPE_CHECKING:
    from engineapi._async.pool import AsyncConnectionPool
    from engineapi._sync.pool import ConnectionPool
    from engineapi.backends.base import AsyncBackend, Backend, BackendProvider
    from engineapi.config import Endpoint
    from engineapi.transports.base import Transport

__all__ = ["BACKEND_NAMES", "ENV_VAR", "select_backend"]

#: The variable naming the backend when no ``backend=`` argument is given.
ENV_VAR = "ENGINEAPI_BACKEND"
BACKEND_NAMES = ("builtin", "httpx", "requests")
_EXTRA_HINT = "install it with: pip install 'engineapi[{name}]'"


@overload
def select_backend(
    backend: AsyncBackend | BackendProvider | str | None,
    endpoint: Endpoint,
    builtin: type[AsyncConnectionPool],
    transport: Transport,
    *,
    max_connections: int,
    environ: Mapping[str, str] | None,
    transport_given: bool = False,
) -> AsyncBackend: ...


@overload
def select_backend(
    backend: Backend | BackendProvider | str | None,
    endpoint: Endpoint,
    builtin: type[ConnectionPool],
    transport: Transport,
    *,
    max_connections: int,
    environ: Mapping[str, str] | None,
    transport_given: bool = False,
) -> Backend: ...


def select_backend(
    backend: Any,
    endpoint: Endpoint,
    builtin: Any,
    transport: Transport,
    *,
    max_connections: int,
    environ: Mapping[str, str] | None,
    transport_given: bool = False,
) -> Any:
    """The backend a client uses: `backend` itself if it is one, what it makes if it is a
    `BackendProvider`, else the named one.

    `builtin` is the client's own pool class (async or sync), which also tells the flavour
    wanted. A name comes from `backend`, else from ``ENGINEAPI_BACKEND`` in `environ`
    (``os.environ`` when None), else ``"builtin"``. `transport_given`: the caller passed its
    own `transport` (a recorder, say), which every backend must then use or refuse — never
    ignore.
    """
    asynchronous = inspect.iscoroutinefunction(builtin.request)
    if backend is not None and not isinstance(backend, str):
        provide = getattr(backend, "engineapi_backend", None)
        if provide is not None:  # a BackendProvider: it makes the flavour wanted
            return provide(asynchronous=asynchronous)
        return backend
    source = "argument backend="
    if backend is None:
        env = os.environ if environ is None else environ
        backend = env.get(ENV_VAR) or "builtin"
        source = ENV_VAR if env.get(ENV_VAR) else "default"
    name = backend.strip().lower()
    if name == "builtin":
        return builtin(transport, max_connections=max_connections)
    if name == "httpx":
        module = _import("engineapi.backends.httpx", "httpx", source)
        factory = module.AsyncHttpxBackend if asynchronous else module.HttpxBackend
        # httpx dials unix and tcp sockets itself unless the caller's own transport is given.
        through = transport_given or endpoint.host.scheme not in ("unix", "tcp")
        return factory(
            endpoint, max_connections=max_connections, transport=transport if through else None
        )
    if name == "requests":
        if asynchronous:
            raise ConfigError(
                "the requests backend is synchronous: use it with Client, or choose "
                "'builtin' or 'httpx' for AsyncClient",
                source=source,
            )
        if transport_given:
            raise ConfigError(
                "the requests backend dials the daemon itself and cannot use the transport= "
                "given: choose the 'builtin' or 'httpx' backend to go through it",
                source=source,
            )
        module = _import("engineapi.backends.requests", "requests", source)
        return module.RequestsBackend(
            endpoint, max_connections=max_connections, hijack_transport=transport
        )
    raise ConfigError(
        f"unknown backend {backend!r} (from {source}): choose one of {', '.join(BACKEND_NAMES)}",
        source=source,
    )


def _import(module: str, extra: str, source: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"the {extra} backend (chosen by {source}) needs {exc.name or extra}: "
            + _EXTRA_HINT.format(name=extra),
            source=source,
        ) from exc
