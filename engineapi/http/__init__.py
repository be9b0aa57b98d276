"""sans-IO HTTP/1.1 for a Docker Engine API client: no sockets here, only bytes and events."""

from engineapi.http._connection import ClientConnection, Event
from engineapi.http._events import NEED_DATA, Data, EndOfMessage, Headers, NeedData, Response

__all__ = [
    "NEED_DATA",
    "ClientConnection",
    "Data",
    "EndOfMessage",
    "Event",
    "Headers",
    "NeedData",
    "Response",
]
