"""HTTP backends: what turns a request into a response for the clients.

The built-in one is engineapi's own HTTP/1.1 engine with its connection pool
(`engineapi._async.pool.AsyncConnectionPool` and its generated sync twin), over a transport.
Other engines (httpx, requests) plug in behind the same small interface, `base.AsyncBackend` /
`base.Backend`, with ``Client(backend=…)``.
"""

from engineapi.backends.base import (
    AsyncBackend,
    AsyncBackendResponse,
    AsyncDuplex,
    Backend,
    BackendProvider,
    BackendResponse,
    Duplex,
)

__all__ = [
    "AsyncBackend",
    "AsyncBackendResponse",
    "AsyncDuplex",
    "Backend",
    "BackendProvider",
    "BackendResponse",
    "Duplex",
]
