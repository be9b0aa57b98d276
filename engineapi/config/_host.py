"""Daemon addresses: ``unix://``, ``tcp://``, ``http(s)://`` and ``ssh://``.

The docker CLI reads a daemon address in two different ways, and engineapi follows both:

* ``DOCKER_HOST`` and ``-H/--host`` (the *default* context) go through the CLI's
  ``opts.ParseHost``, which fills in defaults: ``tcp://host`` becomes ``tcp://host:2375``
  (2375 even when TLS is on), ``tcp://`` and ``tcp://:port`` mean ``localhost``,
  ``unix://`` means ``/var/run/docker.sock``, and a value without a scheme is a TCP address
  (``1.2.3.4`` is ``tcp://1.2.3.4:2375``). Only an *empty* value picks the TLS port: no
  host at all with TLS on means ``tcp://localhost:2376``. That is :func:`parse_host`.
* The ``Host`` of a context made with ``docker context create`` is stored verbatim and read
  at connect time by the Go client's ``ParseHostURL``: no defaults are filled in, so a
  ``tcp://host`` context without a port reaches port 80, or 443 when the context has TLS
  material (Go's ``net/http`` default ports), and a context without a host uses
  ``unix:///var/run/docker.sock``. That is :func:`parse_context_host`.

Where the CLI accepts nonsense or rejects a sensible value, engineapi differs on purpose, and
says so here:

* a value starting with ``/`` or ``./`` is a Unix socket path (what newer CLIs do; the
  28.x CLI turns ``/path`` into ``tcp://localhost:2375/path``);
* ``http://`` and ``https://`` are accepted as aliases of ``tcp://``, and ``https://``
  always means TLS (the CLI rejects both in ``DOCKER_HOST``; in a context it treats
  ``https://`` as plain HTTP unless the context carries TLS material);
* ``tcp://[::1]`` gets the default port (the CLI rejects bracketed IPv6 without a port);
* ports must be 1-65535 and host names plain DNS names or IP literals (the CLI lets
  ``tcp://h:0``, ``tcp://h:99999`` and ``tcp://tcp://h`` through to fail later);
* ``fd://`` and ``npipe://`` are refused: ``fd://`` is systemd socket activation on the
  daemon side and ``npipe://`` a Windows named pipe.

Like the CLI, a user name in a ``tcp://`` address and a query string or fragment are
dropped, and surrounding whitespace in ``DOCKER_HOST`` is ignored.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import unquote

import attrs

from engineapi.config._errors import ConfigError

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_TLS_HOST",
    "DEFAULT_TLS_HTTP_PORT",
    "DEFAULT_UNIX_SOCKET",
    "Host",
    "Scheme",
    "parse_context_host",
    "parse_host",
]

Scheme = Literal["unix", "tcp", "ssh"]

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"
DEFAULT_HTTP_PORT = 2375
DEFAULT_TLS_HTTP_PORT = 2376
DEFAULT_HOST = "unix://" + DEFAULT_UNIX_SOCKET
DEFAULT_TLS_HOST = f"tcp://localhost:{DEFAULT_TLS_HTTP_PORT}"
UNIX_HTTP_HOST = "api.moby.localhost"
SSH_HTTP_HOST = "docker.example.com"

_EXPECTED = (
    "expected unix:///path/to/docker.sock, tcp://host[:port][/path], http://host[:port], "
    "https://host[:port] or ssh://[user@]host[:port]"
)
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_BAD_PATH_RE = re.compile(r"[\s\x00-\x1f\x7f]")


@attrs.frozen
class Host:
    """A parsed daemon address.

    `scheme` is ``"unix"`` (`socket_path` set), ``"tcp"`` (`hostname` and `port` set, `path`
    an optional URL prefix without trailing slash, `tls_implied` true for ``https://``) or
    ``"ssh"`` (`hostname` set; `user`, `port` and `path`, the remote socket, optional: the
    SSH transport decides their defaults). `raw` is the text it was parsed from.
    """

    scheme: Scheme
    hostname: str | None = None
    port: int | None = None
    socket_path: str | None = None
    user: str | None = None
    path: str = ""
    tls_implied: bool = False
    raw: str = attrs.field(default="", eq=False)

    @property
    def netloc(self) -> str:
        """``host:port`` with IPv6 literals in brackets ("" for a Unix socket)."""
        if self.hostname is None:
            return ""
        name = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return name if self.port is None else f"{name}:{self.port}"

    @property
    def url(self) -> str:
        """The normalized address, e.g. ``tcp://1.2.3.4:2375`` or ``unix:///var/run/docker.sock``."""
        if self.scheme == "unix":
            return f"unix://{self.socket_path}"
        if self.scheme == "ssh":
            user = f"{self.user}@" if self.user else ""
            return f"ssh://{user}{self.netloc}{self.path}"
        return f"tcp://{self.netloc}{self.path}"

    @property
    def http_host(self) -> str:
        """The HTTP ``Host`` header the docker CLI sends to this daemon.

        ``api.moby.localhost`` over a Unix socket (observed from the 28.x CLI),
        ``docker.example.com`` over SSH (the CLI's connection helper), ``host:port`` over TCP.
        """
        if self.scheme == "unix":
            return UNIX_HTTP_HOST
        if self.scheme == "ssh":
            return SSH_HTTP_HOST
        return self.netloc

    @property
    def is_socket(self) -> bool:
        """True for a Unix socket, where the CLI never uses TLS."""
        return self.scheme == "unix"

    def __str__(self) -> str:
        return self.url


def _fail(raw: str, source: str, reason: str) -> ConfigError:
    return ConfigError(f"invalid docker host {raw!r} (from {source}): {reason}", source=source)


def _split_url_rest(rest: str) -> tuple[str, str, str, str]:
    """Split what follows ``scheme://`` into authority, path, query and fragment."""
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    slash = rest.find("/")
    if slash < 0:
        return rest, "", query, fragment
    return rest[:slash], rest[slash:], query, fragment


def _parse_port(text: str, raw: str, source: str) -> int | None:
    if text == "":
        return None
    if not text.isascii() or not text.isdigit():
        raise _fail(raw, source, f"port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise _fail(raw, source, f"port {port} is outside 1-65535")
    return port


def _parse_ipv6(text: str, raw: str, source: str) -> str:
    literal = text.replace("%25", "%")
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        raise _fail(raw, source, f"{text!r} is not an IPv6 address") from None
    return literal


def _parse_authority(authority: str, raw: str, source: str) -> tuple[str | None, str, int | None]:
    """Split ``[userinfo@]host[:port]``; returns (userinfo, hostname, port)."""
    userinfo: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _fail(raw, source, "missing ']' after the IPv6 address")
        hostname = _parse_ipv6(authority[1:end], raw, source)
        after = authority[end + 1 :]
        if after and not after.startswith(":"):
            raise _fail(raw, source, f"unexpected {after!r} after the IPv6 address")
        return userinfo, hostname, _parse_port(after[1:], raw, source)
    colons = authority.count(":")
    if colons > 1:
        # An unbracketed IPv6 literal, which the CLI accepts without a port (tcp://::1).
        return userinfo, _parse_ipv6(authority, raw, source), None
    hostname, _, port_text = authority.partition(":")
    if hostname and not _HOSTNAME_RE.match(hostname):
        raise _fail(raw, source, f"{hostname!r} is not a valid host name")
    return userinfo, hostname, _parse_port(port_text, raw, source)


def _parse_tcp(
    rest: str,
    raw: str,
    source: str,
    *,
    default_port: int,
    tls_implied: bool,
) -> Host:
    if "://" in rest:
        raise _fail(raw, source, f"{rest!r} holds a second scheme")
    authority, path, _query, _fragment = _split_url_rest(rest)
    _userinfo, hostname, port = _parse_authority(authority, raw, source)
    if _BAD_PATH_RE.search(path):
        raise _fail(raw, source, f"path {path!r} contains whitespace or control characters")
    return Host(
        scheme="tcp",
        hostname=hostname or "localhost",
        port=default_port if port is None else port,
        path=path.rstrip("/"),
        tls_implied=tls_implied,
        raw=raw,
    )


def _parse_ssh(rest: str, raw: str, source: str) -> Host:
    authority, path, query, fragment = _split_url_rest(rest)
    if query:
        raise _fail(raw, source, f"query parameters are not allowed in an ssh URL: {query!r}")
    if fragment:
        raise _fail(raw, source, f"fragments are not allowed in an ssh URL: {fragment!r}")
    userinfo, hostname, port = _parse_authority(authority, raw, source)
    if userinfo is not None and ":" in userinfo:
        raise _fail(
            raw,
            source,
            "a plain-text password in an ssh URL is not supported (use an SSH key or agent)",
        )
    if not hostname:
        raise _fail(raw, source, "the ssh URL has no host name")
    if _BAD_PATH_RE.search(path):
        raise _fail(raw, source, f"path {path!r} contains whitespace or control characters")
    return Host(
        scheme="ssh",
        hostname=hostname,
        port=port,
        user=unquote(userinfo) if userinfo else None,
        path=unquote(path),
        raw=raw,
    )


def _refuse_scheme(scheme: str, raw: str, source: str) -> ConfigError:
    if scheme == "fd":
        reason = (
            "fd:// is systemd socket activation for the daemon (dockerd -H fd://); a client "
            "cannot connect to it, use the socket the unit listens on, e.g. "
            f"unix://{DEFAULT_UNIX_SOCKET}"
        )
    elif scheme == "npipe":
        reason = "npipe:// is a Windows named pipe, which engineapi does not support"
    else:
        reason = f"unsupported scheme {scheme!r}; {_EXPECTED}"
    return _fail(raw, source, reason)


def parse_host(url: str, *, source: str = "host") -> Host:
    """Parse a daemon address as the docker CLI parses ``DOCKER_HOST`` and ``-H``.

    Defaults are filled in as by the CLI's ``opts.ParseHost``: no scheme means TCP, no port
    means 2375 (also with TLS on; ``https://`` defaults to 2376), no host means
    ``localhost``, ``unix://`` alone means ``/var/run/docker.sock``. See the module
    documentation for where engineapi deliberately differs. `source` names where the value
    came from (``"DOCKER_HOST"``, ``"argument host="``) and appears in errors.

    Raises :class:`ConfigError` for an empty value, an unknown scheme, ``fd://``,
    ``npipe://`` and malformed addresses.
    """
    raw = url
    value = url.strip()
    if not value:
        raise ConfigError(f"{source} is empty: {_EXPECTED}", source=source)
    scheme, sep, rest = value.partition("://")
    if not sep:
        rest = value
        scheme = "unix" if value.startswith(("/", "./")) else "tcp"
    if scheme in ("tcp", "http", "https"):
        https = scheme == "https"
        return _parse_tcp(
            rest,
            raw,
            source,
            default_port=DEFAULT_TLS_HTTP_PORT if https else DEFAULT_HTTP_PORT,
            tls_implied=https,
        )
    if scheme == "unix":
        if "://" in rest:
            raise _fail(raw, source, f"{rest!r} holds a second scheme")
        return Host(scheme="unix", socket_path=rest or DEFAULT_UNIX_SOCKET, raw=raw)
    if scheme == "ssh":
        return _parse_ssh(rest, raw, source)
    raise _refuse_scheme(scheme, raw, source)


def parse_context_host(url: str | None, *, tls: bool, source: str = "context") -> Host:
    """Parse the ``Endpoints.docker.Host`` of a stored context, as the docker CLI uses it.

    The value is taken as stored (no trimming, no defaults but these): an empty or missing
    host means ``unix:///var/run/docker.sock``; a ``tcp://`` address without a port means
    port 80, or 443 when `tls` is true (the context has TLS material or ``SkipTLSVerify``),
    because the CLI hands it unchanged to Go's HTTP client. ``https://`` implies TLS and
    port 443. A value without ``scheme://`` is an error, as in the Go client ("unable to
    parse docker host").
    """
    if url is None or url == "":
        return Host(scheme="unix", socket_path=DEFAULT_UNIX_SOCKET, raw="")
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise _fail(url, source, f"unable to parse docker host; {_EXPECTED}")
    if scheme in ("tcp", "http", "https"):
        https = scheme == "https"
        return _parse_tcp(
            rest,
            url,
            source,
            default_port=443 if (tls or https) else 80,
            tls_implied=https,
        )
    if scheme == "unix":
        if "://" in rest:
            raise _fail(url, source, f"{rest!r} holds a second scheme")
        return Host(scheme="unix", socket_path=rest, raw=url)
    if scheme == "ssh":
        return _parse_ssh(rest, url, source)
    raise _refuse_scheme(scheme, url, source)
