"""A server on a unix socket that answers what no real daemon would (a mock is acceptable only
for that): each connection gets `answer(request_head)`'s bytes, written as given."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

Answer = Callable[[bytes], Iterable[bytes]]


@contextlib.contextmanager
def stub_server(directory: Path, answer: Answer) -> Iterator[str]:
    """A ``unix://`` host whose every connection is answered by `answer`."""
    path = directory / "stub.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            try:
                for piece in answer(head):
                    if stop.is_set():
                        return
                    conn.sendall(piece)
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone would not
        server.close()
        acceptor.join(5)


def ping_ok() -> bytes:
    return b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Length: 2\r\n\r\nOK"
