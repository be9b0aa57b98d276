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
    EngineAPIError,
    ExecNotFound,
    Forbidden,
    ImageNotFound,
    ImagePullError,
    InvalidArgument,
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
)

if TYPE_CHECKING:
    from engineapi._async.client import AsyncClient
    from engineapi._sync.client import Client
    from engineapi._timeouts import Timeouts
    from engineapi.api._operations import OPERATIONS
    from engineapi.config import Endpoint, TLSConfig
    from engineapi.observe import RequestInfo, ResponseInfo

__all__ = [
    "OPERATIONS",
    "APIVersionError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "ClientClosed",
    "ConfigError",
    "ConnectError",
    "ConnectionLost",
    "Conflict",
    "ConfigNotFound",
    "ContainerNotFound",
    "DaemonError",
    "Endpoint",
    "EngineAPIError",
    "ExecNotFound",
    "Forbidden",
    "ImageNotFound",
    "ImagePullError",
    "InvalidArgument",
    "NetworkNotFound",
    "NodeNotFound",
    "NotAcceptable",
    "NotFound",
    "PluginNotFound",
    "PoolTimeout",
    "ProtocolError",
    "RemoteProtocolError",
    "RequestInfo",
    "ResponseInfo",
    "SecretNotFound",
    "ServerError",
    "ServiceNotFound",
    "ServiceUnavailable",
    "StreamError",
    "TLSConfig",
    "TimeoutError",
    "TaskNotFound",
    "Timeouts",
    "TransportError",
    "Unauthorized",
    "VolumeNotFound",
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
