"""What the plug-in backends (httpx, requests) share: what a backend has lent out, so that
closing the backend ends it all, and how they stand for engineapi's two read timeouts."""

from __future__ import annotations

import contextlib
import socket
import weakref
from typing import TYPE_CHECKING, Protocol

from engineapi.errors import CLIENT_CLOSED_STREAM, ConnectionLost

if TYPE_CHECKING:
    from engineapi._timeouts import Timeouts

__all__ = ["Lent", "one_read_timeout", "shut_down"]


class _Cuttable(Protocol):
    def cut(self) -> None:
        """Wake whoever reads this, in another thread or task (shut its socket down)."""


class Lent:
    """The responses and hijacked streams a backend handed out and may still be read: closing
    the backend (`cut_all`) wakes each reader, which then raises `ConnectionLost` saying the
    client was closed (it calls `check`)."""

    __slots__ = ("closed", "items")

    def __init__(self) -> None:
        self.closed = False
        self.items: weakref.WeakSet[_Cuttable] = weakref.WeakSet()

    def cut_all(self) -> None:
        self.closed = True
        for item in list(self.items):
            item.cut()

    def check(self, cause: BaseException | None = None) -> None:
        """Raise `ConnectionLost` saying the client was closed, if it was: a reader calls this
        when its read failed (`cause`) or ended, which closing the backend makes happen."""
        if self.closed:
            raise ConnectionLost(CLIENT_CLOSED_STREAM) from cause


def shut_down(sock: object) -> None:
    """Shut `sock` down both ways if it is a socket: closing a socket does not wake a thread
    blocked reading it, a shutdown does."""
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def one_read_timeout(timeouts: Timeouts) -> float | None:
    """The one read timeout (for the response head and every body read) of a library that has
    only one, standing for engineapi's two (`Timeouts.response`, `Timeouts.read`): the larger,
    or none if either is ``None``, so it never gives up earlier than engineapi's own engine."""
    if timeouts.response is None or timeouts.read is None:
        return None
    return max(timeouts.response, timeouts.read)
