"""The in-process SSH transport (asyncssh, the extra ``engineapi[ssh]``): ``ssh://`` hosts.

One SSH connection per transport, made on first use; every stream is a session channel on it
running ``docker system dial-stdio`` (``docker --host=unix://<path> system dial-stdio`` when
the URL has a socket path), exactly the command the docker CLI runs. Channels are capped at
`max_channels` (OpenSSH's MaxSessions default, 10) and at the server's own limit, learned
when it refuses one; a stream beyond the cap waits up to `queue_timeout` seconds for a
channel to close, then gets a channel on one more SSH connection (the channels it waited on
may be idle keep-alive connections held by the pool, or endless log streams).

SSH settings come from where OpenSSH takes them: ``~/.ssh/config`` (HostName, User, Port,
IdentityFile, ProxyJump, … as far as asyncssh supports them), keys from the SSH agent and
``~/.ssh/id_*``, host keys checked against ``~/.ssh/known_hosts`` (or the config's
UserKnownHostsFile). An unknown or changed host key is a `ConnectError` that shows the
server's fingerprint and the command to trust it; nothing is accepted silently.

asyncssh is imported when the first stream is opened, never by ``import engineapi``. The
asyncio client uses the SSH connection of its own event loop. The blocking client's lives on
an event loop of the transport's (`SharedLoop`) that the thread waiting for a channel runs
itself, with no thread switch, and a background daemon thread runs when no caller has for a
few milliseconds; `close()` stops that thread, as does the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import builtins
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi.errors import ConfigError, TimeoutError
from engineapi.transports._ssh import DEFAULT_MAX_CHANNELS, MODE_ASYNCSSH
from engineapi.transports._sshloop import SharedLoop

if TYPE_CHECKING:
    from engineapi.config import Host
    from engineapi.transports._sshchannel import AsyncSSHStream, SSHLink, SSHStream

__all__ = ["DEFAULT_QUEUE_TIMEOUT", "SSHTransport"]

#: Seconds a stream waits for a channel of a full SSH connection before another is made.
DEFAULT_QUEUE_TIMEOUT = 1.0


class _SyncSide:
    """The blocking client's half: a shared loop and the SSH link living on it.

    Kept apart from the transport so that a finalizer can stop it without holding the
    transport alive.
    """

    def __init__(self, name: str) -> None:
        self.loop = SharedLoop(name)
        self.link: SSHLink | None = None

    def shutdown(self) -> None:
        link = self.link
        self.loop.stop(link.aclose if link is not None else None)


class SSHTransport:
    """Reaches a daemon through ``docker system dial-stdio`` on an SSH host, with asyncssh.

    `options` are passed to ``asyncssh.connect`` as they are (e.g. ``known_hosts``,
    ``client_keys``, ``config``), over what ``~/.ssh/config`` says. `max_channels` caps the
    channels of one SSH connection, `queue_timeout` is how long a stream waits for one of them
    before another SSH connection is made. `handshakes` counts the SSH connections made.
    """

    mode = MODE_ASYNCSSH

    def __init__(
        self,
        host: Host,
        *,
        max_channels: int = DEFAULT_MAX_CHANNELS,
        queue_timeout: float = DEFAULT_QUEUE_TIMEOUT,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if host.scheme != "ssh" or not host.hostname:
            raise ConfigError(f"SSHTransport needs an ssh:// host, not {host.url}")
        if max_channels < 1:
            raise ConfigError(f"max_channels must be at least 1, not {max_channels}")
        self.host = host
        self.address = host.url
        self.max_channels = max_channels
        self.queue_timeout = queue_timeout
        self.options: dict[str, Any] = dict(options or {})
        self._stats = {"handshakes": 0}
        self._links: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SSHLink] = (
            weakref.WeakKeyDictionary()
        )
        self._sync = _SyncSide(f"engineapi-ssh {self.address}")
        # Stops the loop thread when the transport is collected, or at interpreter exit.
        self._finalizer = weakref.finalize(self, self._sync.shutdown)

    @property
    def handshakes(self) -> int:
        """SSH connections made so far (each one handshake and authentication)."""
        return self._stats["handshakes"]

    def _new_link(self) -> SSHLink:
        from engineapi.transports._sshchannel import SSHLink

        return SSHLink(
            self.host,
            self.address,
            max_channels=self.max_channels,
            queue_timeout=self.queue_timeout,
            options=self.options,
            stats=self._stats,
        )

    def connect(self, timeout: float | None) -> SSHStream:
        from engineapi.transports._sshchannel import SSHStream

        side = self._sync
        if side.link is None:
            side.link = self._new_link()
            # Ctrl-C may have hit the loop in the middle of an SSH packet: start afresh.
            side.loop.on_interrupt = side.link.close_soon
        link = side.link
        # The coroutine enforces `timeout`; the extra wait only guards against a stuck loop.
        wait = None if timeout is None else timeout + 5
        try:
            chan, session = side.loop.run(link.open_channel(timeout, side.loop), wait)
        except builtins.TimeoutError as exc:
            raise TimeoutError(f"connecting to {self.address} timed out after {timeout} s") from exc
        return SSHStream(chan, session, link, side.loop)

    async def aconnect(self, timeout: float | None) -> AsyncSSHStream:
        from engineapi.transports._sshchannel import AsyncSSHStream

        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is None:
            link = self._links[loop] = self._new_link()
        chan, session = await link.open_channel(timeout)
        return AsyncSSHStream(chan, session, link)

    def close(self) -> None:
        """Close the SSH connections and stop the background loop thread. Idempotent.

        Streams still open end with it. The transport stays usable: a later stream connects
        again. The asyncio side's connections are closed on their loops (without waiting);
        prefer `aclose()` from async code.
        """
        if self._sync.loop.started or self._sync.link is not None:
            self._finalizer()
            self._sync = _SyncSide(f"engineapi-ssh {self.address}")
            self._finalizer = weakref.finalize(self, self._sync.shutdown)
        for loop, link in list(self._links.items()):
            if not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(link.close_soon)
                except RuntimeError:
                    pass
        self._links.clear()

    async def aclose(self) -> None:
        """Close the SSH connection of the running loop (and the blocking side's, if used)."""
        link = self._links.pop(asyncio.get_running_loop(), None)
        if link is not None:
            await link.aclose()
        if self._sync.loop.started:
            await asyncio.to_thread(self.close)
        else:
            self.close()

    def __repr__(self) -> str:
        return f"SSHTransport({self.address!r})"
