"""Backends on httpx: `HttpxBackend` (an ``httpx.Client``) and `AsyncHttpxBackend`.

Install with ``pip install engineapi[httpx]``. Either backend is built from the daemon's
`Endpoint` (or a host string such as ``unix:///var/run/docker.sock``), when it makes and owns
its httpx client, or around a caller's preconfigured client, which it uses but never closes.

Only httpx's public API is used. Bodies stream both ways (``iter_raw()`` out, iterables in).
A ``101`` response hands over the raw connection through httpcore's ``network_stream``
response extension; half-close shuts down the write side of that stream's socket
(``get_extra_info("socket")``).

``ssh://`` hosts (and any host reached through an engineapi `Transport` that is not a plain
socket) go through httpcore's public network-backend seam: an ``httpcore.ConnectionPool`` whose
``network_backend`` opens every connection with the engineapi transport's ``connect()`` /
``aconnect()``, wrapped in a small ``httpx.BaseTransport``. Half-close then uses the engineapi
stream's own ``close_write()``.

Timeouts: httpx has one read timeout for the response head and every body read, where
engineapi has two (`Timeouts.response` and `Timeouts.read`). The async backend keeps them
apart by bounding the head and each body piece itself (the head's clock starts when
httpcore's public ``trace`` extension reports the request going out). The sync backend cannot: it gives
httpx the larger of the two, or none if either is ``None``, so it never gives up earlier than
engineapi's own engine would, but may wait longer.

The async backend is written by hand (`engineapi.backends._httpx_async`); the sync one is
generated from it (`_httpx_sync.py`, ``python -m engineapi._codegen.unasync``), and what both
share, timekeeping apart, is in `_httpx_common.py`.
"""

from engineapi.backends._httpx_async import AsyncHttpxBackend
from engineapi.backends._httpx_sync import HttpxBackend

__all__ = ["AsyncHttpxBackend", "HttpxBackend"]
