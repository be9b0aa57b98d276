"""Transports: each dials the daemon and returns a byte stream (see `base`).

Modules are imported on demand, so ``import engineapi`` never pays for ssl or asyncssh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from engineapi.errors import ConfigError
from engineapi.transports.base import AsyncStream, Stream, Transport

if TYPE_CHECKING:
    from engineapi.config import Endpoint

__all__ = ["AsyncStream", "Stream", "Transport", "transport_for"]


def transport_for(
    endpoint: Endpoint,
    *,
    ssh_mode: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Transport:
    """The transport that reaches `endpoint` (unix socket, TCP, TLS over TCP, SSH).

    `ssh_mode` picks how ``ssh://`` hosts are reached: ``"asyncssh"`` (in-process) or
    ``"system"`` (the ``ssh`` binary, as the docker CLI); ``None`` reads
    ``ENGINEAPI_SSH_MODE`` and defaults to asyncssh when it is installed.
    """
    host = endpoint.host
    if host.scheme == "unix":
        from engineapi.transports.unix import UnixTransport

        assert host.socket_path is not None
        return UnixTransport(host.socket_path)
    if host.scheme == "tcp":
        from engineapi.transports.tcp import TCPTransport

        assert host.hostname is not None and host.port is not None
        tcp = TCPTransport(host.hostname, host.port)
        if endpoint.tls is None:
            return tcp
        from engineapi.transports.tls import TLSTransport

        return TLSTransport(
            tcp, endpoint.tls.ssl_context(), endpoint.tls.server_hostname or host.hostname
        )
    if host.scheme == "ssh":
        from engineapi.transports._ssh import MODE_ASYNCSSH, resolve_ssh_mode

        if resolve_ssh_mode(ssh_mode, environ) == MODE_ASYNCSSH:
            from engineapi.transports.ssh import SSHTransport

            return SSHTransport(host)
        from engineapi.transports.sshcmd import SSHCommandTransport

        return SSHCommandTransport(host)
    raise ConfigError(f"no transport for {host.url}", source=endpoint.source)
