"""`ReplayTransport`: serves a cassette to the sync or async client, with no daemon and no network.

The transport hands out in-memory streams; each runs a `Conversation` (sans-IO, in `_match`)
and only adds the waiting: a read that must wait for the client's own next move (another thread
or task writing to a hijacked stream) waits at most `patience` seconds, then fails with a
`ReplayMismatch` that says what the recording expected. A read past the end of a recording that
stopped before the daemon closed (the client gave up on a stream) times out at once with
`engineapi.TimeoutError` when a timeout was given.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import threading
import time
from pathlib import Path

from engineapi.errors import ConnectionLost, TimeoutError
from engineapi.replay._cassette import Cassette
from engineapi.replay._match import EOF, SILENT, Conversation, Player
from engineapi.replay._scrub import Scrubber

__all__ = ["AsyncReplayStream", "ReplayStream", "ReplayTransport"]

#: How long a replayed read waits for the client's own next move before calling it a mismatch.
PATIENCE = 2.0


class ReplayTransport:
    """A `Transport` that answers from a cassette.

    `order` is ``"strict"`` (each request must match the next unused exchange) or ``"any"``
    (the first unused exchange that matches). `scrubber` must scrub as the recording did, so
    that requests carrying real secrets match their scrubbed recording. Call `check()` at the
    end: it raises `ReplayMismatch` for mismatches (even caught ones) and unused exchanges.
    """

    def __init__(
        self,
        cassette: Cassette | str | os.PathLike[str],
        *,
        scrubber: Scrubber | None = None,
        order: str = "strict",
        address: str | None = None,
        patience: float = PATIENCE,
    ) -> None:
        if not isinstance(cassette, Cassette):
            cassette = Cassette.load(Path(cassette))
        self.cassette = cassette
        self.player = Player(cassette, scrubber, order=order, lock=threading.Lock())
        self.address = address or cassette.meta.host or f"replay://{cassette.path}"
        self.patience = patience

    def connect(self, timeout: float | None) -> ReplayStream:
        return ReplayStream(Conversation(self.player), self.patience)

    async def aconnect(self, timeout: float | None) -> AsyncReplayStream:
        return AsyncReplayStream(Conversation(self.player), self.patience)

    def unused(self) -> list[int]:
        """Indexes of the exchanges no request has used (yet)."""
        return [i for i, _ in self.player.unused()]

    def check(self) -> None:
        """Raise `ReplayMismatch` if anything did not match or was left unused."""
        self.player.check()

    def __repr__(self) -> str:
        return f"ReplayTransport({self.cassette.path})"


def _timed_out(conversation: Conversation, timeout: float | None, patience: float) -> Exception:
    if timeout is not None and timeout <= patience:
        return TimeoutError(f"no data from the daemon for {timeout} s (replayed)")
    return conversation.player.fail(
        f"the replay waited {patience} s for the client: {conversation.waiting_for()}"
    )


def _silent(conversation: Conversation, timeout: float | None) -> Exception:
    if timeout is not None:
        return TimeoutError(f"no data from the daemon for {timeout} s (the recording ends here)")
    return conversation.player.fail(
        "the client reads on, with no timeout, past the end of what was recorded "
        f"({conversation.player.source}): the recorded client stopped reading here"
    )


class ReplayStream:
    """A blocking `Stream` served from a cassette."""

    __slots__ = ("_closed", "_condition", "_conversation", "_patience")

    def __init__(self, conversation: Conversation, patience: float) -> None:
        self._conversation = conversation
        self._patience = patience
        self._condition = threading.Condition()
        self._closed = False

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        limit = self._patience if timeout is None else min(timeout, self._patience)
        deadline = time.monotonic() + limit
        with self._condition:
            while True:
                if self._closed:
                    raise ConnectionLost("the replayed connection is closed")
                output = self._conversation.next_output(max_bytes)
                if isinstance(output, bytes):
                    return output
                if output is EOF:
                    return b""
                if output is SILENT:
                    raise _silent(self._conversation, timeout)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _timed_out(self._conversation, timeout, self._patience)
                self._condition.wait(remaining)

    def write(self, data: bytes, timeout: float | None) -> None:
        with self._condition:
            if self._closed:
                raise ConnectionLost("the replayed connection is closed")
            self._conversation.client_data(data)
            self._condition.notify_all()

    def close_write(self) -> None:
        with self._condition:
            self._conversation.client_close_write()
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def is_readable(self) -> bool:
        return self._closed or self._conversation.readable()


class AsyncReplayStream:
    """An asyncio `AsyncStream` served from a cassette."""

    __slots__ = ("_changed", "_closed", "_conversation", "_patience")

    def __init__(self, conversation: Conversation, patience: float) -> None:
        self._conversation = conversation
        self._patience = patience
        self._changed = asyncio.Event()
        self._closed = False

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        limit = self._patience if timeout is None else min(timeout, self._patience)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            if self._closed:
                raise ConnectionLost("the replayed connection is closed")
            output = self._conversation.next_output(max_bytes)
            if isinstance(output, bytes):
                await asyncio.sleep(0)  # a real read yields to the loop: so does a replayed one
                return output
            if output is EOF:
                return b""
            if output is SILENT:
                raise _silent(self._conversation, timeout)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _timed_out(self._conversation, timeout, self._patience)
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except builtins.TimeoutError:
                pass

    async def write(self, data: bytes, timeout: float | None) -> None:
        if self._closed:
            raise ConnectionLost("the replayed connection is closed")
        self._conversation.client_data(data)
        self._changed.set()

    async def close_write(self) -> None:
        self._conversation.client_close_write()
        self._changed.set()

    async def aclose(self) -> None:
        self._closed = True
        self._changed.set()

    def is_readable(self) -> bool:
        return self._closed or self._conversation.readable()
