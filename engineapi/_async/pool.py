"""A keep-alive connection pool with a size limit."""

from __future__ import annotations

import asyncio  # unasync: remove

from engineapi._async.connection import (
    AsyncHijackedStream,
    AsyncHTTPConnection,
    AsyncResponse,
    RequestBody,
)
from engineapi._concurrency import AsyncSemaphore
from engineapi._timeouts import Timeouts
from engineapi.errors import (
    CLIENT_CLOSED_CALL,
    ClientClosed,
    ConnectionLost,
    LocalProtocolError,
    PoolTimeout,
    RemoteProtocolError,
)
from engineapi.transports.base import Transport

__all__ = ["AsyncConnectionPool"]

# Methods whose request may be sent again if a reused connection turns out dead before the
# daemon answered a single byte (RFC 9110 idempotent methods).
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class AsyncConnectionPool:
    """Hands out connections to one daemon, at most `max_connections` at a time.

    A connection is reused only after its response was read to the end with keep-alive; an
    idle connection the daemon has closed is noticed and dropped before use. A request on a
    reused connection that fails before any response byte arrived is retried once on a fresh
    connection, if its method is idempotent and its body can be sent again.
    """

    def __init__(self, transport: Transport, *, max_connections: int = 10) -> None:
        self.transport = transport
        self.max_connections = max_connections
        self._idle: list[AsyncHTTPConnection] = []
        # Idle connections found closed by the daemon, closed before the next connect.
        self._dead: list[AsyncHTTPConnection] = []
        self._slots = AsyncSemaphore(max_connections)
        self._closed = False
        # What is lent out, so that aclose() can end it: connections under a response,
        # connections taken over by hijacked streams.
        self._in_use: set[AsyncHTTPConnection] = set()
        self._hijacked: set[AsyncHijackedStream] = set()
        self._loop: object = None  # unasync: remove

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: RequestBody = None,
        *,
        content_length: int | None = None,
        timeouts: Timeouts,
    ) -> AsyncResponse:
        """Send a request and return once the response head is in."""
        if self._closed:
            raise ClientClosed(CLIENT_CLOSED_CALL)
        loop = asyncio.get_running_loop()  # unasync: remove
        if loop is not self._loop:  # unasync: remove
            self._adopt_loop(loop)  # unasync: remove
        slots = self._slots
        if not slots.acquire_nowait() and not await slots.acquire(timeouts.pool):
            raise self._pool_timeout(timeouts.pool)
        try:
            retry = method in _IDEMPOTENT and (body is None or isinstance(body, bytes))
            while True:
                # The most recently used idle connection. One the daemon closed while idle
                # is noticed before use, except by a request the retry below covers anyway:
                # it skips the check (a syscall per request).
                connection = self._idle.pop() if self._idle else None
                if connection is not None and not retry and connection.stream.is_readable():
                    self._dead.append(connection)  # the daemon closed it while idle
                    connection = self._take_idle()
                if self._dead:
                    try:
                        await self._close_dead()
                    except BaseException:  # cancelled: the live one goes back idle
                        if connection is not None:
                            self._idle.append(connection)
                        raise
                reused = connection is not None
                if connection is None:
                    stream = await self.transport.aconnect(timeouts.connect)
                    connection = AsyncHTTPConnection(stream)
                self._in_use.add(connection)
                try:
                    head = await connection.exchange(
                        method,
                        target,
                        headers,
                        body,
                        content_length=content_length,
                        timeout=timeouts.response,
                    )
                except (ConnectionLost, RemoteProtocolError):
                    self._in_use.discard(connection)
                    await connection.aclose()
                    if (
                        reused
                        and retry
                        and connection.protocol.bytes_received == 0
                        and not self._closed  # cut by the client's close: no new connection
                    ):
                        retry = False
                        continue
                    raise
                except BaseException:
                    self._in_use.discard(connection)
                    await connection.aclose()
                    raise
                return AsyncResponse(connection, head, timeouts.read, self, reused)
        except BaseException:
            slots.release()
            raise

    def _adopt_loop(self, loop: asyncio.AbstractEventLoop) -> None:  # unasync: remove
        """Connections belong to the event loop that made them: when the pool is used from  # unasync: remove
        another one (a client reused across ``asyncio.run()`` calls), those of the old loop  # unasync: remove
        are dropped, their sockets closed without it (it is usually closed already)."""  # unasync: remove
        if self._loop is not None:  # unasync: remove
            for connection in [*self._idle, *self._dead]:  # unasync: remove
                abandon = getattr(connection.stream, "abandon", None)  # unasync: remove
                if abandon is not None:  # unasync: remove
                    abandon()  # unasync: remove
            self._idle = []  # unasync: remove
            self._dead = []  # unasync: remove
            self._in_use = set()  # unasync: remove
            self._hijacked = set()  # unasync: remove
            self._slots = AsyncSemaphore(self.max_connections)  # unasync: remove
        self._loop = loop  # unasync: remove

    def _take_idle(self) -> AsyncHTTPConnection | None:
        """The most recently used idle connection the daemon has not closed, or None; those
        it closed are set aside for `_close_dead`."""
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.stream.is_readable():
                return connection
            self._dead.append(connection)
        return None

    async def _close_dead(self) -> None:
        dead, self._dead = self._dead, []
        for connection in dead:
            await connection.aclose()  # the daemon closed it while idle

    async def release(self, connection: AsyncHTTPConnection, *, reusable: bool) -> None:
        """Give a connection back after its response: kept if clean, else closed."""
        if reusable and self.keep(connection):
            return
        self._in_use.discard(connection)
        try:
            await connection.aclose()
        finally:
            self._slots.release()

    def keep(self, connection: AsyncHTTPConnection) -> bool:
        """Take back a connection whose response was read to its end, if it can carry another
        request; False if not (nothing done: `release` closes it)."""
        if self._closed:
            return False
        try:
            connection.protocol.start_next_cycle()  # refuses, changing nothing, if not reusable
        except LocalProtocolError:
            return False
        self._in_use.discard(connection)
        self._idle.append(connection)
        self._slots.release()
        return True

    def note_hijack(self, connection: AsyncHTTPConnection, stream: AsyncHijackedStream) -> None:
        """A response handed its connection over to a hijacked stream (attach, exec)."""
        self._in_use.discard(connection)
        self._hijacked.add(stream)

    def release_slot(self, stream: AsyncHijackedStream) -> None:
        """Called by a hijacked stream when it closes: its connection is gone for good."""
        self._hijacked.discard(stream)
        self._slots.release()

    def _pool_timeout(self, waited: float | None) -> PoolTimeout:
        return PoolTimeout(
            f"no connection came free within {waited} s: all {self.max_connections} "
            f"connections to the daemon are in use, {len(self._hijacked)} of them by hijacked "
            "attach/exec sessions and the rest by responses and streams still open. Close the "
            "streams you are done with (or use them in a with block), or raise "
            "max_connections= or Timeouts(pool=…)"
        )

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def aclose(self) -> None:
        """Close every connection: idle ones, and those under open responses, streams and
        hijacked sessions, whose readers then get `ConnectionLost` saying the client closed."""
        self._closed = True
        if asyncio.get_running_loop() is not self._loop:  # unasync: remove
            self._adopt_loop(asyncio.get_running_loop())  # unasync: remove
        idle, self._idle = self._idle + self._dead, []
        self._dead = []
        for connection in idle:
            await connection.aclose()
        for connection in list(self._in_use):
            connection.closed_by_client = True
            await connection.aclose()
        for stream in list(self._hijacked):
            stream.closed_by_client = True
            await stream.aclose()
