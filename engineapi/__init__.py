"""engineapi: a typed Docker Engine API client, sync and async, on its own HTTP/1.1 engine.

    import engineapi

    with engineapi.Client() as client:          # the engine the docker CLI would use
        for c in client.containers.list():
            print(c.names, c.state)

Names are loaded on first use, so ``import engineapi`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engineapi._version import __version__
from engineapi.errors import (
    APIVersionError,
    BadRequest,
    ClientClosed,
    ConfigError,
    ConfigNotFound,
    Conflict,
    ConnectError,
    ConnectionLost,
    ContainerNotFound,
    DaemonError,
    DeadlineExceeded,
    EngineAPIError,
    ExecNotFound,
    Forbidden,
    ImageNotFound,
    ImagePullError,
    InvalidArgument,
    MissingFieldError,
    NetworkNotFound,
    NodeNotFound,
    NotAcceptable,
    NotFound,
    PluginNotFound,
    PoolTimeout,
    ProtocolError,
    RemoteProtocolError,
    SecretNotFound,
    ServerError,
    ServiceNotFound,
    ServiceUnavailable,
    StreamError,
    TaskNotFound,
    TimeoutError,
    TransportError,
    Unauthorized,
    VolumeNotFound,
    WaitTimeout,
)

if TYPE_CHECKING:
    from engineapi._async.client import AsyncClient
    from engineapi._async.streams import (
        AsyncAttachedStream,
        AsyncExecStream,
        AsyncItemStream,
        AsyncOutputStream,
        AsyncProgressStream,
        AsyncRawStream,
        AsyncRunStream,
        AsyncWebSocketAttach,
    )
    from engineapi._sync.client import Client
    from engineapi._sync.streams import (
        AttachedStream,
        ExecStream,
        ItemStream,
        OutputStream,
        ProgressStream,
        RawStream,
        RunStream,
        WebSocketAttach,
    )
    from engineapi._timeouts import Timeouts
    from engineapi.api._operations import OPERATIONS
    from engineapi.api.containers import PathStat, PortMapping, RunResult
    from engineapi.api.exec import ExecResult
    from engineapi.api.system import PingResult
    from engineapi.config import Endpoint, TLSConfig
    from engineapi.observe import RequestInfo, ResponseInfo

__all__ = [
    "OPERATIONS",
    "APIVersionError",
    "AsyncAttachedStream",
    "AsyncClient",
    "AsyncExecStream",
    "AsyncItemStream",
    "AsyncOutputStream",
    "AsyncProgressStream",
    "AsyncRawStream",
    "AsyncRunStream",
    "AsyncWebSocketAttach",
    "AttachedStream",
    "BadRequest",
    "Client",
    "ClientClosed",
    "ConfigError",
    "ConfigNotFound",
    "Conflict",
    "ConnectError",
    "ConnectionLost",
    "ContainerNotFound",
    "DaemonError",
    "DeadlineExceeded",
    "Endpoint",
    "EngineAPIError",
    "ExecNotFound",
    "ExecResult",
    "ExecStream",
    "Forbidden",
    "ImageNotFound",
    "ImagePullError",
    "InvalidArgument",
    "MissingFieldError",
    "ItemStream",
    "NetworkNotFound",
    "NodeNotFound",
    "NotAcceptable",
    "NotFound",
    "OutputStream",
    "PathStat",
    "PingResult",
    "PortMapping",
    "PluginNotFound",
    "PoolTimeout",
    "ProgressStream",
    "ProtocolError",
    "RawStream",
    "RemoteProtocolError",
    "RequestInfo",
    "ResponseInfo",
    "RunResult",
    "RunStream",
    "SecretNotFound",
    "ServerError",
    "ServiceNotFound",
    "ServiceUnavailable",
    "StreamError",
    "TLSConfig",
    "TaskNotFound",
    "TimeoutError",
    "Timeouts",
    "TransportError",
    "Unauthorized",
    "VolumeNotFound",
    "WaitTimeout",
    "WebSocketAttach",
    "__version__",
]

_LAZY = {
    "AsyncClient": "engineapi._async.client",
    "Client": "engineapi._sync.client",
    "Timeouts": "engineapi._timeouts",
    "OPERATIONS": "engineapi.api._operations",
    "Endpoint": "engineapi.config",
    "TLSConfig": "engineapi.config",
    "RequestInfo": "engineapi.observe",
    "ResponseInfo": "engineapi.observe",
    # Streams and results, as the clients' methods return them.
    "AttachedStream": "engineapi._sync.streams",
    "ExecStream": "engineapi._sync.streams",
    "ItemStream": "engineapi._sync.streams",
    "OutputStream": "engineapi._sync.streams",
    "ProgressStream": "engineapi._sync.streams",
    "RawStream": "engineapi._sync.streams",
    "RunStream": "engineapi._sync.streams",
    "WebSocketAttach": "engineapi._sync.streams",
    "AsyncAttachedStream": "engineapi._async.streams",
    "AsyncExecStream": "engineapi._async.streams",
    "AsyncItemStream": "engineapi._async.streams",
    "AsyncOutputStream": "engineapi._async.streams",
    "AsyncProgressStream": "engineapi._async.streams",
    "AsyncRawStream": "engineapi._async.streams",
    "AsyncRunStream": "engineapi._async.streams",
    "AsyncWebSocketAttach": "engineapi._async.streams",
    "RunResult": "engineapi.api.containers",
    "PathStat": "engineapi.api.containers",
    "PortMapping": "engineapi.api.containers",
    "ExecResult": "engineapi.api.exec",
    "PingResult": "engineapi.api.system",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engineapi' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
