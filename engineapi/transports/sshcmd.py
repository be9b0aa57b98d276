"""The system-ssh transport: ``ssh://`` hosts through the ``ssh`` binary, as the docker CLI.

Each stream is one ``ssh`` process, started with exactly the docker CLI's argv::

    ssh [-l USER] [-p PORT] "-o ConnectTimeout=30" -T -- HOST "docker system dial-stdio"

(``docker '--host=unix://<path>' system dial-stdio`` when the URL has a socket path), in a
session of its own so it never reads the terminal. Everything OpenSSH reads applies:
``~/.ssh/config`` and its aliases, the agent, known_hosts and ``StrictHostKeyChecking``. The
pool keeps a process per idle keep-alive connection, so requests reuse it.

The process's stdout is the daemon's byte stream and its stdin the way there; `close_write()`
closes stdin, which reaches the remote dial-stdio as EOF. Closing a stream sends SIGTERM and,
after 3 s, SIGKILL. When ssh ends before the engine answered, the error quotes the argv and
what ssh (or the remote shell) wrote on stderr: a refused key, an unknown host key, a missing
remote ``docker`` or an engine that is down read as such, never as a malformed response.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib
import os
import subprocess
import tempfile
import time
from typing import IO, TYPE_CHECKING

from engineapi.errors import ConfigError, ConnectError, ConnectionLost, TimeoutError
from engineapi.transports._socket import wait_fd
from engineapi.transports._ssh import (
    MODE_SYSTEM,
    STDERR_KEEP,
    HeadCheck,
    display_argv,
    remote_command_line,
    remote_failure,
    ssh_argv,
)
from engineapi.transports.base import READ_SIZE

if TYPE_CHECKING:
    from engineapi.config import Host

__all__ = ["AsyncCommandStream", "CommandStream", "SSHCommandTransport"]

#: Seconds between SIGTERM and SIGKILL when a stream closes (the docker CLI's 3 s).
KILL_AFTER = 3.0
# How long a stream whose stdout ended waits for ssh's exit status.
_EXIT_WAIT = 3.0
_HIGH_WATER = 1024 * 1024


class SSHCommandTransport:
    """Reaches a daemon through ``docker system dial-stdio`` run by the ``ssh`` binary.

    `program` is the ssh binary (looked up on PATH, like the CLI's ``ssh``). `argv` is the
    command each stream runs; `processes_started` counts them.
    """

    mode = MODE_SYSTEM

    def __init__(self, host: Host, *, program: str = "ssh") -> None:
        if host.scheme != "ssh" or not host.hostname:
            raise ConfigError(f"SSHCommandTransport needs an ssh:// host, not {host.url}")
        self.host = host
        self.address = host.url
        self.argv = ssh_argv(host, program=program)
        self.command = remote_command_line(host.path)
        self.processes_started = 0

    def _no_ssh(self, exc: OSError) -> ConnectError:
        return ConnectError(
            f"{self.address} ({MODE_SYSTEM}): cannot run {self.argv[0]!r}: "
            f"{exc.strerror or exc}; install OpenSSH's client (Debian: openssh-client) or use "
            "ssh_mode='asyncssh' (pip install 'engineapi[ssh]')"
        )

    def connect(self, timeout: float | None) -> CommandStream:
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (the stream closes it)
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                bufsize=0,
                start_new_session=True,
            )
        except OSError as exc:
            errors.close()
            raise self._no_ssh(exc) from exc
        self.processes_started += 1
        return CommandStream(process, errors, self)

    async def aconnect(self, timeout: float | None) -> AsyncCommandStream:
        loop = asyncio.get_running_loop()
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (the stream closes it)
        try:
            transport, protocol = await loop.subprocess_exec(
                _ProcessProtocol,
                *self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
            )
        except OSError as exc:
            errors.close()
            raise self._no_ssh(exc) from exc
        self.processes_started += 1
        return AsyncCommandStream(transport, protocol, errors, self)

    def __repr__(self) -> str:
        return f"SSHCommandTransport({self.address!r})"


def _stderr_of(errors: IO[bytes]) -> bytes:
    with contextlib.suppress(OSError, ValueError):
        size = os.fstat(errors.fileno()).st_size
        return os.pread(errors.fileno(), STDERR_KEEP, max(0, size - STDERR_KEEP))
    return b""


def _ended(owner: SSHCommandTransport, status: int | None, errors: IO[bytes]) -> ConnectError:
    """ssh ended before any byte of the daemon's came: say why."""
    return ConnectError(
        remote_failure(
            owner.address,
            MODE_SYSTEM,
            command=owner.command,
            status=status,
            stderr=_stderr_of(errors),
            argv=owner.argv,
            host=owner.host,
        )
    )


def _broke(owner: SSHCommandTransport, status: int | None, errors: IO[bytes]) -> ConnectionLost:
    """ssh ended in the middle of the exchange."""
    text = _stderr_of(errors).decode("utf-8", "replace").replace("\r", "").strip()
    how = "ended" if status is None else f"exited with status {status}"
    return ConnectionLost(
        f"{owner.address} ({MODE_SYSTEM}): `{display_argv(owner.argv)}` {how} mid-stream"
        + (f": {text}" if text else "")
    )


class CommandStream:
    """A blocking `Stream` over an ssh process's stdin and stdout."""

    __slots__ = ("_closed", "_errors", "_head", "_in", "_out", "_owner", "_process", "_received")

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        errors: IO[bytes],
        owner: SSHCommandTransport,
    ) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._errors = errors
        self._owner = owner
        self._in: int | None = process.stdin.fileno()
        self._out = process.stdout.fileno()
        os.set_blocking(self._in, False)
        self._head = HeadCheck()
        self._received = 0
        self._closed = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def _exit_status(self, wait: float) -> int | None:
        try:
            return self._process.wait(wait)
        except subprocess.TimeoutExpired:
            return None

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        if self._closed:
            raise ConnectionLost(f"{self._owner.address}: the stream is closed")
        if not wait_fd(self._out, timeout=timeout):
            raise TimeoutError(f"no data from the daemon for {timeout} s")
        try:
            data = os.read(self._out, min(max_bytes, READ_SIZE))
        except OSError as exc:
            raise ConnectionLost(f"{self._owner.address}: reading from ssh failed: {exc}") from exc
        if not data:
            return self._at_eof()
        self._received += len(data)
        if not self._head.done and not self._head.feed(data):
            self.close()
            raise ConnectError(HeadCheck.message(self._owner.address, MODE_SYSTEM, data))
        return data

    def _at_eof(self) -> bytes:
        status = self._exit_status(_EXIT_WAIT)
        if self._received == 0:
            raise _ended(self._owner, status, self._errors)
        if status:
            raise _broke(self._owner, status, self._errors)
        return b""

    def write(self, data: bytes, timeout: float | None) -> None:
        fd = self._in
        if fd is None:
            raise ConnectionLost(f"{self._owner.address}: writing after close_write()")
        view = memoryview(data)
        deadline = None if timeout is None else time.monotonic() + timeout
        while view:
            try:
                view = view[os.write(fd, view) :]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:  # EPIPE: ssh is gone
                status = self._exit_status(_EXIT_WAIT)
                if self._received == 0:
                    raise _ended(self._owner, status, self._errors) from exc
                raise _broke(self._owner, status, self._errors) from exc
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"the daemon accepted no data for {timeout} s")
            wait_fd(fd, write=True, timeout=remaining)

    def close_write(self) -> None:
        stdin = self._process.stdin
        self._in = None
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.close_write()
        process = self._process
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.terminate()
            try:
                process.wait(KILL_AFTER)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._errors.close()

    def is_readable(self) -> bool:
        if self._closed:
            return True
        return wait_fd(self._out, timeout=0)


class _ProcessProtocol(asyncio.SubprocessProtocol):
    """Collects an ssh process's stdout and wakes the one reader; notes its exit."""

    def __init__(self) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.exited = False
        self.stdin_lost = False
        self.reading_paused = False
        self.writing_paused = False
        self.read_waiter: asyncio.Future[None] | None = None
        self.write_waiter: asyncio.Future[None] | None = None
        self.exit_waiters: list[asyncio.Future[None]] = []

    def _wake(self, *waiters: asyncio.Future[None] | None) -> None:
        for waiter in waiters:
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport:
            pipe = self.transport.get_pipe_transport(1)
            if isinstance(pipe, asyncio.ReadTransport):
                self.reading_paused = True
                pipe.pause_reading()
        self._wake(self.read_waiter)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self.eof = True
            self._wake(self.read_waiter)
        elif fd == 0:
            self.stdin_lost = True
            self.writing_paused = False
            self._wake(self.write_waiter)

    def process_exited(self) -> None:
        self.exited = True
        self._wake(self.read_waiter, self.write_waiter, *self.exit_waiters)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake(self.write_waiter)


class AsyncCommandStream:
    """An asyncio `AsyncStream` over an ssh process (``loop.subprocess_exec``)."""

    __slots__ = ("_closed", "_errors", "_head", "_owner", "_protocol", "_received", "_transport")

    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _ProcessProtocol,
        errors: IO[bytes],
        owner: SSHCommandTransport,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._errors = errors
        self._owner = owner
        self._head = HeadCheck()
        self._received = 0
        self._closed = False

    @property
    def pid(self) -> int:
        return self._transport.get_pid()

    async def _exit_status(self, wait: float) -> int | None:
        protocol = self._protocol
        if not protocol.exited:
            waiter = asyncio.get_running_loop().create_future()
            protocol.exit_waiters.append(waiter)
            try:
                async with asyncio.timeout(wait):
                    await waiter
            except builtins.TimeoutError:
                pass
            finally:
                protocol.exit_waiters.remove(waiter)
        return self._transport.get_returncode()

    async def _wait(self, waiter: asyncio.Future[None], timeout: float | None) -> None:
        if timeout is None:
            await waiter
        else:
            async with asyncio.timeout(timeout):
                await waiter

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                return await self._at_eof()
            waiter = asyncio.get_running_loop().create_future()
            protocol.read_waiter = waiter
            try:
                await self._wait(waiter, timeout)
            except builtins.TimeoutError as exc:
                raise TimeoutError(f"no data from the daemon for {timeout} s") from exc
            finally:
                protocol.read_waiter = None
        data = protocol.chunks.popleft()
        if len(data) > max_bytes:
            protocol.chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        protocol.buffered -= len(data)
        if protocol.reading_paused and protocol.buffered <= _HIGH_WATER // 4:
            protocol.reading_paused = False
            pipe = self._transport.get_pipe_transport(1)
            if isinstance(pipe, asyncio.ReadTransport):
                pipe.resume_reading()
        self._received += len(data)
        if not self._head.done and not self._head.feed(data):
            await self.aclose()
            raise ConnectError(HeadCheck.message(self._owner.address, MODE_SYSTEM, data))
        return data

    async def _at_eof(self) -> bytes:
        status = await self._exit_status(_EXIT_WAIT)
        if self._received == 0:
            raise _ended(self._owner, status, self._errors)
        if status:
            raise _broke(self._owner, status, self._errors)
        return b""

    async def write(self, data: bytes, timeout: float | None) -> None:
        protocol = self._protocol
        pipe = self._transport.get_pipe_transport(0)
        if protocol.stdin_lost or protocol.exited or not isinstance(pipe, asyncio.WriteTransport):
            await self._write_failed()
        assert isinstance(pipe, asyncio.WriteTransport)
        if pipe.is_closing():
            raise ConnectionLost(f"{self._owner.address}: writing after close_write()")
        pipe.write(data)
        while protocol.writing_paused and not (protocol.stdin_lost or protocol.exited):
            waiter = asyncio.get_running_loop().create_future()
            protocol.write_waiter = waiter
            try:
                await self._wait(waiter, timeout)
            except builtins.TimeoutError as exc:
                raise TimeoutError(f"the daemon accepted no data for {timeout} s") from exc
            finally:
                protocol.write_waiter = None

    async def _write_failed(self) -> None:
        status = await self._exit_status(_EXIT_WAIT)
        if self._received == 0:
            raise _ended(self._owner, status, self._errors)
        raise _broke(self._owner, status, self._errors)

    async def close_write(self) -> None:
        pipe = self._transport.get_pipe_transport(0)
        if pipe is not None and not pipe.is_closing():
            pipe.close()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.close_write()
        transport = self._transport
        if transport.get_returncode() is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                transport.terminate()
            if await self._exit_status(KILL_AFTER) is None:
                with contextlib.suppress(ProcessLookupError, OSError):
                    transport.kill()
                await self._exit_status(KILL_AFTER)
        transport.close()
        self._errors.close()

    def is_readable(self) -> bool:
        protocol = self._protocol
        return bool(protocol.chunks) or protocol.eof or protocol.exited or self._closed
