"""The blocking byte stream over an OS socket (unix or TCP); the asyncio one is in `_aio`."""

from __future__ import annotations

import contextlib
import math
import select
import socket
import threading
from typing import Any

from engineapi.errors import ConnectError, ConnectionLost, TimeoutError
from engineapi.transports.base import READ_SIZE

__all__ = ["SocketStream", "TimeoutError_", "dial"]

# builtins.TimeoutError (socket.timeout is an alias); our TimeoutError shadows the name here.
TimeoutError_ = socket.timeout


class SocketStream:
    """A blocking `Stream` over a connected socket.

    The socket itself is non-blocking and each direction waits on a `poll` object of its own:
    a socket timeout would be one setting for both directions, so a thread writing stdin with
    one timeout would change the timeout of another thread reading output (a hijacked attach
    hung that way).

    `close()` may come from another thread while one is blocked reading or writing (the usual
    way to stop a follower thread): it shuts the socket down, which wakes that thread at once
    (a read returns ``b""``), and the descriptor is closed by the last thread to leave — never
    while one may still use it, since its number could by then name another file.
    """

    __slots__ = (
        "_buffer",
        "_busy",
        "_closed",
        "_lock",
        "_readable",
        "_sock",
        "_view",
        "_writable",
    )

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._closed = False
        self._lock = threading.Lock()
        self._busy = 0  # threads inside read() or write()
        self._readable = select.poll()
        self._readable.register(sock, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(sock, select.POLLOUT)
        # One receive buffer per stream: recv(n) would allocate (and, past 128 KiB, mmap and
        # unmap) n bytes on every call, which costs more than the daemon takes to answer.
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        wait = None if timeout is None else math.ceil(timeout * 1000) if timeout > 0 else 0
        # Count this thread in, then out: acquire/try/finally rather than `with`, which costs
        # twice as much and every request passes here twice.
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                raise ConnectionLost("the connection was closed by the client")
            self._busy += 1
        finally:
            lock.release()
        try:
            while True:
                if not self._readable.poll(wait):
                    raise TimeoutError(f"no data from the daemon for {timeout} s")
                if self._closed:
                    return b""  # closed by another thread while waiting: an end, cleanly
                try:
                    count = self._sock.recv_into(self._view, min(max_bytes, READ_SIZE))
                except BlockingIOError:
                    continue  # woken for nothing
                except OSError as exc:
                    raise ConnectionLost(f"reading from the daemon failed: {exc}") from exc
                return self._view[:count].tobytes()
        finally:
            lock.acquire()
            try:  # out; the last one out closes a closed socket
                self._busy -= 1
                if self._closed and not self._busy:
                    self._sock.close()
            finally:
                lock.release()

    def write(self, data: bytes, timeout: float | None) -> None:
        lock = self._lock
        lock.acquire()
        try:  # count this thread in
            if self._closed:
                raise ConnectionLost("the connection was closed by the client")
            self._busy += 1
        finally:
            lock.release()
        try:
            try:
                sent = self._sock.send(data)  # a request head: it nearly always goes whole
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise ConnectionLost(f"writing to the daemon failed: {exc}") from exc
            if sent == len(data):
                return
            wait = _milliseconds(timeout)
            view = memoryview(data)[sent:]
            while view:
                try:
                    view = view[self._sock.send(view) :]
                    continue
                except BlockingIOError:
                    pass
                except OSError as exc:
                    raise ConnectionLost(f"writing to the daemon failed: {exc}") from exc
                if not self._writable.poll(wait):
                    raise TimeoutError(f"the daemon accepted no data for {timeout} s")
                if self._closed:
                    raise ConnectionLost("the connection was closed by the client")
        finally:
            lock.acquire()
            try:  # out; the last one out closes a closed socket
                self._busy -= 1
                if self._closed and not self._busy:
                    self._sock.close()
            finally:
                lock.release()

    def close_write(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise ConnectionLost(f"half-closing the connection failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._busy:
                # Wake the thread blocked in poll(); it closes the descriptor as it leaves.
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
                return
            self._sock.close()

    def is_readable(self) -> bool:
        if self._closed:
            return True
        return bool(self._readable.poll(0))

    @property
    def socket(self) -> socket.socket:
        return self._sock


def _milliseconds(timeout: float | None) -> int | None:
    """A timeout for `poll`: None waits for ever."""
    return None if timeout is None else max(0, math.ceil(timeout * 1000))


def wait_fd(fd: int, *, write: bool = False, timeout: float | None) -> bool:
    """Whether `fd` became readable (or writable) within `timeout`. `poll`, never `select`:
    select refuses descriptors from 1024 on, which a busy process (a web server, a CI runner)
    reaches."""
    waiter = select.poll()
    waiter.register(fd, select.POLLOUT if write else select.POLLIN)
    return bool(waiter.poll(_milliseconds(timeout)))


def dial(family: int, address: Any, timeout: float | None, *, describe: str) -> SocketStream:
    """Connect a blocking socket; failures name `describe` (the daemon address)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except TimeoutError_ as exc:
        sock.close()
        raise TimeoutError(f"connecting to {describe} timed out after {timeout} s") from exc
    except OSError as exc:
        sock.close()
        raise ConnectError(f"cannot connect to {describe}: {exc.strerror or exc}") from exc
    return SocketStream(sock)
