"""A server on a unix socket that answers what no real daemon would (a mock is acceptable only
for that): each connection gets `answer(request_head)`'s bytes, written as given.

It runs in a forked child process, so that what the test process holds (descriptors, threads)
is the client's alone and can be counted.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

Answer = Callable[[bytes], Iterable[bytes]]


def _serve(path: str, answer: Answer) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound under another name and renamed once listening: a client that sees the path can
    # connect (a bound socket not yet listening refuses, which a loaded machine shows).
    server.bind(path + ".new")
    server.listen(16)
    os.rename(path + ".new", path)

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
                    conn.sendall(piece)
            except OSError:
                return

    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


@contextlib.contextmanager
def stub_server(directory: Path, answer: Answer) -> Iterator[str]:
    """A ``unix://`` host whose every connection is answered by `answer`."""
    path = directory / "stub.sock"
    child = multiprocessing.get_context("fork").Process(
        target=_serve, args=(str(path), answer), daemon=True
    )
    child.start()
    deadline = time.monotonic() + 5
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError("the stub server did not start")
        time.sleep(0.01)
    try:
        yield f"unix://{path}"
    finally:
        if child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        child.join(5)
        child.close()
