"""The asyncssh side of `engineapi.transports.ssh`: one SSH connection, channels as streams.

Imported only when an SSH transport first connects (it imports asyncssh). An `SSHLink` owns
the SSH connection of one event loop and opens a session channel running dial-stdio for each
stream; channels are capped per connection (`max_channels`, and the server's MaxSessions once
learned), and a stream beyond the cap waits in line for a while before it gets one more SSH
connection (see `SSHLink`). `ChannelSession` receives a channel's events on the loop. The
asyncio stream reads them on that loop; the blocking stream's loop is a `SharedLoop`, which
the reading or writing thread runs itself whenever it can, so that a blocking request costs no
thread switch.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib
import functools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from engineapi.errors import ConnectError, ConnectionLost, TimeoutError
from engineapi.transports._ssh import (
    MODE_ASYNCSSH,
    STDERR_KEEP,
    HeadCheck,
    remote_command_line,
    remote_failure,
)

if TYPE_CHECKING:
    from engineapi.config import Host
    from engineapi.transports._sshloop import SharedLoop

__all__ = ["AsyncSSHStream", "ChannelSession", "SSHLink", "SSHStream"]

# Past this much unread data a channel stops granting window: the server stops sending.
_HIGH_WATER = 1024 * 1024
_LOW_WATER = _HIGH_WATER // 4
# How long a stream that ended before any output waits for the remote command's exit status.
_EXIT_WAIT = 3.0


class ChannelSession(asyncssh.SSHClientSession[bytes]):
    """One channel's state, fed by asyncssh's callbacks on the link's loop.

    With a `shared` loop (the blocking client's), every change happens under its `cond` and
    is announced to it; else the asyncio reader's or writer's future is woken.
    """

    def __init__(self, shared: SharedLoop | None) -> None:
        self.chan: asyncssh.SSHClientChannel[bytes] | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.received = 0
        self.eof = False
        self.closed = False
        self.error: Exception | None = None
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self.stderr = bytearray()
        self.reading_paused = False
        self.writing_paused = False
        #: Bytes a blocking writer handed to the loop that the channel has not taken yet.
        self.queued = 0
        self.shared = shared
        self.lock: contextlib.AbstractContextManager[Any] = (
            shared.cond if shared is not None else contextlib.nullcontext()
        )
        self.read_waiter: asyncio.Future[None] | None = None
        self.write_waiter: asyncio.Future[None] | None = None
        self.on_closed: Callable[[], None] | None = None
        #: Cut by the transport's close(), not ended by the daemon.
        self.aborted = False

    def readable(self) -> bool:
        return bool(self.chunks) or self.eof

    def notify(self) -> None:
        if self.shared is not None:
            self.shared.notify()
            return
        for waiter in (self.read_waiter, self.write_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        self.chan = chan

    def data_received(self, data: bytes, datatype: int | None) -> None:
        with self.lock:
            if datatype == asyncssh.EXTENDED_DATA_STDERR:
                self.stderr += data
                if len(self.stderr) > 2 * STDERR_KEEP:
                    del self.stderr[:-STDERR_KEEP]
                return
            self.chunks.append(data)
            self.buffered += len(data)
            self.received += len(data)
            if self.buffered > _HIGH_WATER and not self.reading_paused and self.chan is not None:
                self.reading_paused = True
                self.chan.pause_reading()
            self.notify()

    def eof_received(self) -> bool:
        with self.lock:
            self.eof = True
            self.notify()
        return True  # keep our side open: the daemon half-closed, we may still write

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal

    def pause_writing(self) -> None:
        with self.lock:
            self.writing_paused = True

    def resume_writing(self) -> None:
        with self.lock:
            self.writing_paused = False
            self.notify()

    def connection_lost(self, exc: Exception | None) -> None:
        with self.lock:
            self.eof = True
            self.closed = True
            self.error = exc
            self.notify()
        on_closed, self.on_closed = self.on_closed, None
        if on_closed is not None:
            on_closed()


class _Client(asyncssh.SSHClient):
    """Notes the host key a server offered that known_hosts does not trust, and when the
    SSH connection is gone."""

    def __init__(self) -> None:
        self.lost = False
        self.untrusted_key: asyncssh.SSHKey | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.untrusted_key = key
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class _Connection:
    """An SSH connection of a link and the channels it has open."""

    __slots__ = ("client", "conn", "limit", "sessions", "used")

    def __init__(self, conn: asyncssh.SSHClientConnection, client: _Client, limit: int) -> None:
        self.conn = conn
        self.client = client
        self.limit = limit
        self.used = 0
        self.sessions: set[ChannelSession] = set()

    def close(self) -> None:
        """Close the SSH connection: its open channels end as cut (`aborted`)."""
        for session in self.sessions:
            session.aborted = True
        self.conn.close()

    @property
    def alive(self) -> bool:
        return not self.client.lost


class SSHLink:
    """The SSH connection of one event loop, made on first use (and again once it is lost).

    Channels per connection are capped at `max_channels` and at the server's session limit,
    learned when the server refuses a channel while others are open (OpenSSH's MaxSessions
    refuses with "open failed"). A stream beyond the cap waits up to `queue_timeout` for a
    channel to close; after that one more SSH connection carries the overflow, because the
    channels of the cap may be idle keep-alive connections that the pool holds on to, or
    streams that run for hours, and waiting on them could wait forever. Such an extra
    connection closes with its last channel.
    """

    def __init__(
        self,
        host: Host,
        address: str,
        *,
        max_channels: int,
        queue_timeout: float,
        options: Mapping[str, Any],
        stats: dict[str, int],
    ) -> None:
        assert host.hostname is not None
        self.host = host
        self.address = address
        self.command = remote_command_line(host.path)
        #: Channels per SSH connection: `max_channels`, lowered to the server's session limit.
        self.limit = max_channels
        self.queue_timeout = queue_timeout
        self._options = dict(options)
        self._stats = stats
        self._connections: list[_Connection] = []
        self._lock: asyncio.Lock | None = None
        self._waiters: list[asyncio.Future[None]] = []

    # -- SSH connections ---------------------------------------------------------------------

    def _with_room(self) -> _Connection | None:
        self._connections = [c for c in self._connections if c.alive]
        for connection in self._connections:
            if connection.used < min(connection.limit, self.limit):
                return connection
        return None

    async def _new_connection(self) -> _Connection:
        """One more SSH connection, unless another task made room meanwhile."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one handshake at a time; the others use its result
            connection = self._with_room()
            if connection is None:
                conn, client = await self._connect()
                connection = _Connection(conn, client, self.limit)
                self._connections.append(connection)
            return connection

    def _release(self, connection: _Connection, session: ChannelSession | None = None) -> None:
        connection.used -= 1
        if session is not None:
            connection.sessions.discard(session)
        if connection.used == 0 and len(self._connections) > 1 and connection.alive:
            # An overflow connection with nothing left on it.
            self._connections.remove(connection)
            connection.conn.close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_for_room(self, timeout: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except builtins.TimeoutError:
            pass
        finally:
            self._waiters.remove(waiter)

    async def _connect(self) -> tuple[asyncssh.SSHClientConnection, _Client]:
        host = self.host
        assert host.hostname is not None
        client = _Client()
        kwargs: dict[str, Any] = {}
        if host.port is not None:
            kwargs["port"] = host.port
        if host.user:
            kwargs["username"] = host.user
        kwargs.update(self._options)
        if "known_hosts" not in kwargs:
            kwargs["known_hosts"] = await self._known_hosts()
        where = f"{self.address} ({MODE_ASYNCSSH})"
        try:
            conn = await asyncssh.connect(host.hostname, client_factory=lambda: client, **kwargs)
        except asyncssh.HostKeyNotVerifiable as exc:
            raise ConnectError(await self._host_key_message(exc, client.untrusted_key)) from exc
        except asyncssh.PermissionDenied as exc:
            raise ConnectError(
                f"{where}: the SSH server refused the keys offered ({exc.reason}): check the "
                "user name, the key (ssh-agent, ~/.ssh/id_*, IdentityFile in ~/.ssh/config) "
                "and the server's authorized_keys"
            ) from exc
        except asyncssh.DisconnectError as exc:
            raise ConnectError(f"{where}: the SSH server ended the handshake: {exc}") from exc
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ConnectError(
                f"{where}: cannot connect to the SSH server: {reason} ({exc}); is an SSH server "
                "listening there?"
            ) from exc
        except (asyncssh.Error, asyncssh.KeyImportError, ValueError) as exc:
            raise ConnectError(f"{where}: SSH connection failed: {exc}") from exc
        self._stats["handshakes"] += 1
        return conn, client

    async def _config_options(self) -> asyncssh.SSHClientConnectionOptions:
        """What ~/.ssh/config says for this host (read in a worker thread)."""
        host = self.host
        config = Path("~", ".ssh", "config").expanduser()
        return await asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(
                asyncssh.SSHClientConnectionOptions,
                host=host.hostname,
                port=host.port if host.port is not None else (),
                config=[str(config)] if os.access(config, os.R_OK) else [],
            ),
        )

    async def _known_hosts(self) -> object:
        """asyncssh's default, unless ~/.ssh/config turns host key checks off
        (``UserKnownHostsFile none``): then ~/.ssh/known_hosts all the same. Never silent."""
        try:
            options = await self._config_options()
        except Exception:
            return ()
        if options.known_hosts is not None:
            return ()
        default = Path("~", ".ssh", "known_hosts").expanduser()
        return str(default) if os.access(default, os.R_OK) else b""

    async def _host_key_message(
        self, exc: asyncssh.HostKeyNotVerifiable, key: asyncssh.SSHKey | None
    ) -> str:
        """Unknown or changed host key: the fingerprint and how to trust it."""
        host = self.host
        assert host.hostname is not None
        try:  # the host, port and known_hosts files ~/.ssh/config gives for this host
            options = await self._config_options()
            name, port = str(options.host), int(options.port)
            known: object = options.known_hosts
            if isinstance(known, str | Path):
                known = [known]
            files = (
                [str(f) for f in known if isinstance(f, str | Path)]
                if isinstance(known, list | tuple)
                else []
            )
        except Exception:
            name, port, files = host.hostname, host.port or 22, []
        known_hosts = files[0] if files else "~/.ssh/known_hosts"
        if key is None:  # not seen in the handshake (e.g. a certificate): ask the server
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    key = await asyncssh.get_server_host_key(host.hostname, host.port or ())
        fingerprint = "(not retrieved)"
        if key is not None:
            fingerprint = f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"
        changed = False
        for path in files or [str(Path(known_hosts).expanduser())]:
            with contextlib.suppress(Exception):
                trusted = asyncssh.match_known_hosts(
                    path, name, name, port if port != 22 else None
                )[0]
                changed = changed or bool(trusted)
        target = f"[{name}]:{port}" if port != 22 else name
        scan = f"ssh-keyscan -p {port} {name}" if port != 22 else f"ssh-keyscan {name}"
        where = f"{self.address} ({MODE_ASYNCSSH})"
        if changed:
            return (
                f"{where}: the SSH host key of {target} has CHANGED: the server offers "
                f"{fingerprint}, which is not the key {known_hosts} holds for it. Someone may be "
                "intercepting the connection, or the host was reinstalled. If the new key is "
                f"expected, remove the old one with ssh-keygen -R '{target}' -f {known_hosts} "
                f"and add the new one with {scan} >> {known_hosts} ({exc.reason})"
            )
        return (
            f"{where}: unknown SSH host key {fingerprint} for {target}: it is not in "
            f"{known_hosts}. Check the fingerprint with the host's administrator, then trust it "
            f"with {scan} >> {known_hosts} ({exc.reason})"
        )

    # -- channels ----------------------------------------------------------------------------

    async def open_channel(
        self, timeout: float | None, shared: SharedLoop | None = None
    ) -> tuple[asyncssh.SSHClientChannel[bytes], ChannelSession]:
        """A new channel running dial-stdio (after the handshake, on first use); `shared` is
        the blocking client's loop, which the channel's events are announced to."""
        try:
            async with asyncio.timeout(timeout):
                return await self._open_channel(shared)
        except builtins.TimeoutError as exc:
            raise TimeoutError(f"connecting to {self.address} timed out after {timeout} s") from exc

    async def _open_channel(
        self, shared: SharedLoop | None
    ) -> tuple[asyncssh.SSHClientChannel[bytes], ChannelSession]:
        where = f"{self.address} ({MODE_ASYNCSSH})"
        loop = asyncio.get_running_loop()
        queued_until: float | None = None
        retried = False
        while True:
            connection = self._with_room()
            if connection is None:
                if self._connections:  # all full: wait a little for a channel to close
                    if queued_until is None:
                        queued_until = loop.time() + self.queue_timeout
                    if loop.time() < queued_until:
                        await self._wait_for_room(queued_until - loop.time())
                        continue
                connection = await self._new_connection()
                if connection.used >= min(connection.limit, self.limit):
                    continue
            connection.used += 1
            session = ChannelSession(shared)
            try:
                chan, _ = await connection.conn.create_session(
                    functools.partial(_same, session),
                    self.command,
                    encoding=None,
                    request_pty=False,
                )
            except asyncssh.ChannelOpenError as exc:
                self._release(connection)
                if connection.alive and connection.used > 0:
                    # The server's session limit (OpenSSH MaxSessions) is what is open now.
                    connection.limit = connection.used
                    self.limit = min(self.limit, connection.used)
                    continue
                if not connection.alive and not retried:
                    retried = True  # the connection died under us: once more on a new one
                    continue
                raise ConnectError(
                    f"{where}: the SSH server refused a session channel: {exc.reason}"
                ) from exc
            except (asyncssh.Error, OSError) as exc:
                self._release(connection)
                if not connection.alive and not retried:
                    retried = True
                    continue
                raise ConnectError(f"{where}: opening an SSH channel failed: {exc}") from exc
            except BaseException:
                self._release(connection)
                raise
            if session.closed:
                self._release(connection)
            else:
                connection.sessions.add(session)
                session.on_closed = functools.partial(self._release, connection, session)
            return chan, session

    async def aclose(self) -> None:
        connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        for connection in connections:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await connection.conn.wait_closed()

    def close_soon(self) -> None:
        """Close the connections without waiting (from the link's loop)."""
        connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()


def _same(session: ChannelSession) -> ChannelSession:
    return session


def _failure(session: ChannelSession, link: SSHLink) -> ConnectError:
    return ConnectError(
        remote_failure(
            link.address,
            MODE_ASYNCSSH,
            command=link.command,
            status=session.exit_status,
            signal=session.exit_signal,
            stderr=bytes(session.stderr),
            host=link.host,
        )
    )


def _lost(session: ChannelSession, link: SSHLink) -> ConnectionLost | ConnectError:
    where = f"{link.address} ({MODE_ASYNCSSH})"
    if session.aborted:
        return ConnectionLost(
            f"{where}: the stream was cut: this client closed its SSH connection (the transport "
            "was closed, or a Ctrl-C interrupted it)"
        )
    if session.received == 0:
        return ConnectError(
            f"{where}: the SSH connection was lost before the engine answered: {session.error}"
        )
    return ConnectionLost(f"{where}: the SSH connection was lost: {session.error}")


class AsyncSSHStream:
    """An `AsyncStream` over one SSH channel running dial-stdio, on the link's loop."""

    __slots__ = ("_chan", "_closed", "_head", "_link", "_session")

    def __init__(
        self, chan: asyncssh.SSHClientChannel[bytes], session: ChannelSession, link: SSHLink
    ) -> None:
        self._chan = chan
        self._session = session
        self._link = link
        self._head = HeadCheck()
        self._closed = False

    async def _wait(self, timeout: float | None, *, writing: bool = False) -> None:
        session = self._session
        waiter = asyncio.get_running_loop().create_future()
        if writing:
            session.write_waiter = waiter
        else:
            session.read_waiter = waiter
        try:
            if timeout is None:
                await waiter
            else:
                async with asyncio.timeout(timeout):
                    await waiter
        finally:
            if writing:
                session.write_waiter = None
            else:
                session.read_waiter = None

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        session = self._session
        while not session.chunks:
            if session.eof:
                return await self._at_eof()
            try:
                await self._wait(timeout)
            except builtins.TimeoutError as exc:
                raise TimeoutError(f"no data from the daemon for {timeout} s") from exc
        data = session.chunks.popleft()
        if len(data) > max_bytes:
            session.chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        session.buffered -= len(data)
        if session.reading_paused and session.buffered <= _LOW_WATER:
            session.reading_paused = False
            self._chan.resume_reading()
        if not self._head.done and not self._head.feed(data):
            self._chan.close()
            raise ConnectError(HeadCheck.message(self._link.address, MODE_ASYNCSSH, data))
        return data

    async def _at_eof(self) -> bytes:
        session = self._session
        if session.error is not None or session.aborted:
            raise _lost(session, self._link)
        if session.received:
            return b""
        # Nothing came: the remote command failed. Its exit status follows shortly.
        deadline = time.monotonic() + _EXIT_WAIT
        while not session.closed and time.monotonic() < deadline:
            with contextlib.suppress(builtins.TimeoutError):
                await self._wait(deadline - time.monotonic())
        raise _failure(session, self._link)

    async def write(self, data: bytes, timeout: float | None) -> None:
        session = self._session
        if session.closed:
            if session.received == 0 and session.error is None:
                raise _failure(session, self._link)
            raise (
                _lost(session, self._link)
                if session.error
                else ConnectionLost(
                    f"{self._link.address} ({MODE_ASYNCSSH}): writing failed: the channel is closed"
                )
            )
        try:
            self._chan.write(data)
        except (BrokenPipeError, OSError, asyncssh.Error) as exc:
            raise ConnectionLost(f"{self._link.address}: writing failed: {exc}") from exc
        while session.writing_paused and not session.closed:
            try:
                await self._wait(timeout, writing=True)
            except builtins.TimeoutError as exc:
                raise TimeoutError(f"the daemon accepted no data for {timeout} s") from exc

    async def close_write(self) -> None:
        if not self._session.closed:
            with contextlib.suppress(BrokenPipeError, OSError, asyncssh.Error):
                self._chan.write_eof()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._chan.close()

    def is_readable(self) -> bool:
        session = self._session
        return bool(session.chunks) or session.eof or session.closed


class SSHStream:
    """A blocking `Stream` over one SSH channel on a `SharedLoop`."""

    __slots__ = ("_chan", "_closed", "_head", "_link", "_loop", "_session")

    def __init__(
        self,
        chan: asyncssh.SSHClientChannel[bytes],
        session: ChannelSession,
        link: SSHLink,
        loop: SharedLoop,
    ) -> None:
        self._chan = chan
        self._session = session
        self._link = link
        self._loop = loop
        self._head = HeadCheck()
        self._closed = False

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        session = self._session
        if not session.readable() and not self._loop.wait_until(session.readable, timeout):
            raise TimeoutError(f"no data from the daemon for {timeout} s")
        resume = False
        with session.lock:
            if session.chunks:
                data = session.chunks.popleft()
                if len(data) > max_bytes:
                    session.chunks.appendleft(data[max_bytes:])
                    data = data[:max_bytes]
                session.buffered -= len(data)
                if session.reading_paused and session.buffered <= _LOW_WATER:
                    session.reading_paused = False
                    resume = True
            elif session.eof:
                data = b""
            else:  # the loop was stopped under us
                raise self._closed_error()
        if resume:
            self._loop.call_soon(self._chan.resume_reading)
        if not data:
            return self._at_eof()
        if not self._head.done and not self._head.feed(data):
            self.close()
            raise ConnectError(HeadCheck.message(self._link.address, MODE_ASYNCSSH, data))
        return data

    def _at_eof(self) -> bytes:
        session = self._session
        if session.error is not None or session.aborted:
            raise _lost(session, self._link)
        if session.received:
            return b""
        # Nothing came: the remote command failed. Its exit status follows shortly.
        self._loop.wait_until(lambda: session.closed, _EXIT_WAIT)
        raise _failure(session, self._link)

    def write(self, data: bytes, timeout: float | None) -> None:
        session = self._session

        def writable() -> bool:
            # Bounded: the loop must have taken earlier writes and the channel take more.
            return session.closed or (not session.writing_paused and session.queued < _HIGH_WATER)

        if not self._loop.wait_until(writable, timeout):
            raise TimeoutError(f"the daemon accepted no data for {timeout} s")
        with session.lock:
            closed = session.closed or self._loop.dead
            if not closed:
                session.queued += len(data)
        if closed or not self._loop.call_soon(_write, session, data):
            if session.closed and session.received == 0 and session.error is None:
                raise _failure(session, self._link)
            if session.error is not None:
                raise _lost(session, self._link)
            raise self._closed_error()

    def _closed_error(self) -> ConnectionLost:
        return ConnectionLost(
            f"{self._link.address} ({MODE_ASYNCSSH}): the channel is closed (the transport or "
            "the stream was closed)"
        )

    def close_write(self) -> None:
        self._loop.call_soon(_write_eof, self._chan)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.call_soon(self._chan.close)

    def is_readable(self) -> bool:
        session = self._session
        return session.readable() or session.closed


def _write(session: ChannelSession, data: bytes) -> None:
    # On the loop: a channel closed meanwhile shows up as EOF on the next read.
    assert session.chan is not None
    try:
        with contextlib.suppress(BrokenPipeError, OSError, asyncssh.Error):
            session.chan.write(data)
    finally:
        with session.lock:
            session.queued -= len(data)
            session.notify()


def _write_eof(chan: asyncssh.SSHClientChannel[bytes]) -> None:
    with contextlib.suppress(BrokenPipeError, OSError, asyncssh.Error):
        chan.write_eof()
