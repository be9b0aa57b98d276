"""Every error engineapi raises, in one tree.

::

    EngineAPIError
    ├── ConfigError              bad DOCKER_HOST / context / TLS files / API version setting
    │   ├── CredentialsError     a credential helper is missing or failed
    │   └── HijackUnsupported    the backend cannot take a connection over (requests)
    ├── InvalidArgument          an argument is of the wrong type or value (before any I/O)
    ├── APIVersionError          the negotiated API version lacks an operation or parameter
    ├── TransportError           could not talk to the daemon at all
    │   ├── ConnectError         connect failed: names the host, how it was chosen, what to check
    │   ├── TimeoutError         connect / response-head / stream idle timeout
    │   │   └── PoolTimeout      no free connection in the pool in time
    │   └── ConnectionLost       the daemon closed the connection mid-exchange
    ├── ProtocolError            HTTP/1.1 framing violated
    │   ├── LocalProtocolError   …by us (a bug, or a misuse such as a short body)
    │   └── RemoteProtocolError  …by the daemon (malformed response)
    ├── DaemonError              the daemon answered with an error status
    │   ├── BadRequest 400 · Unauthorized 401 · Forbidden 403 · NotFound 404
    │   ├── NotAcceptable 406 · Conflict 409 · ServerError 500 · ServiceUnavailable 503
    ├── ClientClosed             a call on a closed client
    ├── StreamError              an error reported inside a stream (events, progress, logs)
    ├── BuildContextError        a directory could not be made a build context
    │   └── DockerignoreError    …its .dockerignore is one the CLI refuses too
    ├── ArchiveError             a tar could not be written or read
    │   └── UnsafeArchiveError   …a member would land outside the destination
    └── replay: CassetteError, RecordingError, ReplayMismatch (engineapi.replay)

This module is a leaf: every layer may import it, it imports nothing from engineapi.
"""

from __future__ import annotations

import builtins

__all__ = [
    "APIVersionError",
    "ArchiveError",
    "BadRequest",
    "BuildContextError",
    "ClientClosed",
    "CassetteError",
    "ConfigError",
    "Conflict",
    "ConnectError",
    "ConnectionLost",
    "CredentialsError",
    "DaemonError",
    "DockerignoreError",
    "EngineAPIError",
    "Forbidden",
    "HijackUnsupported",
    "InvalidArgument",
    "LocalProtocolError",
    "NotAcceptable",
    "NotFound",
    "PoolTimeout",
    "ProtocolError",
    "RecordingError",
    "RemoteProtocolError",
    "ServerError",
    "ServiceUnavailable",
    "StreamError",
    "TimeoutError",
    "TransportError",
    "Unauthorized",
    "UnsafeArchiveError",
    "daemon_error",
]


class EngineAPIError(Exception):
    """Base class of every engineapi error."""


class ConfigError(EngineAPIError, ValueError):
    """A setting is wrong. `source` names the argument, variable or file at fault."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class InvalidArgument(EngineAPIError, ValueError, TypeError):
    """An argument cannot be sent: wrong type, empty id, malformed value. Raised while the
    call is built, before any I/O; `argument` names the parameter. A `ValueError` and a
    `TypeError`, so the usual handlers for either catch it."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class APIVersionError(EngineAPIError):
    """The API version in use does not have what was asked for; nothing was sent."""


class TransportError(EngineAPIError):
    """The daemon could not be reached or the connection broke."""


class ConnectError(TransportError, builtins.ConnectionError):
    """Connecting to the daemon failed.

    `host` is the address tried, `source` how it was chosen (argument, DOCKER_HOST, a context).
    """

    def __init__(self, message: str, *, host: str = "", source: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.source = source


class TimeoutError(TransportError, builtins.TimeoutError):
    """A connect, response-head or stream idle timeout expired."""


#: What a stream says when its client was closed under it (a `ConnectionLost`).
CLIENT_CLOSED_STREAM = "the client was closed, which ends every stream it opened"
#: What a call on a closed client says (a `ClientClosed`).
CLIENT_CLOSED_CALL = "the client is closed: make a new one to talk to the daemon again"


class ClientClosed(EngineAPIError):
    """A call on a client that was closed (`Client.close()`, `AsyncClient.aclose()`, the end of
    its ``with`` block): make a new client."""


class PoolTimeout(TimeoutError):
    """Every connection of the pool stayed in use for `Timeouts.pool` seconds: the message says
    how many, and how many of them hijacked sessions hold."""


class ConnectionLost(TransportError, builtins.ConnectionError):
    """The daemon closed the connection in the middle of an exchange."""


class ProtocolError(EngineAPIError):
    """The HTTP/1.1 exchange broke the protocol."""


class LocalProtocolError(ProtocolError):
    """We broke the protocol: a client-side bug or misuse (e.g. body shorter than declared)."""


class RemoteProtocolError(ProtocolError):
    """The daemon's response is malformed."""


class DaemonError(EngineAPIError):
    """The daemon answered with an error status.

    `status` is the HTTP status, `message` what the daemon said, `method` and `path` the request,
    `host` the daemon address.
    """

    status: int = 0

    def __init__(
        self, message: str, *, status: int, method: str = "", path: str = "", host: str = ""
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.host = host
        where = f"{method} {path}" if method else path
        on = f" on {host}" if host else ""
        super().__init__(f"{status} from {where}{on}: {message}")


class BadRequest(DaemonError):
    """400: the daemon rejected the parameters or body."""


class Unauthorized(DaemonError):
    """401: credentials missing or wrong (registry or daemon)."""


class Forbidden(DaemonError):
    """403: the operation is not allowed (e.g. by an authorization plugin)."""


class NotFound(DaemonError):
    """404: no such object (container, image, network, …) or no such endpoint."""


class NotAcceptable(DaemonError):
    """406: the object is not in a state that allows the operation (e.g. not running)."""


class Conflict(DaemonError):
    """409: the operation conflicts with the object's state (name in use, container running)."""


class ServerError(DaemonError):
    """500: the daemon failed internally."""


class ServiceUnavailable(DaemonError):
    """503: the daemon cannot serve this now (e.g. the node is not a swarm manager)."""


class StreamError(EngineAPIError):
    """The daemon reported an error inside a stream (an event, progress or log message)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_BY_STATUS: dict[int, type[DaemonError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    406: NotAcceptable,
    409: Conflict,
    500: ServerError,
    503: ServiceUnavailable,
}


def daemon_error(
    status: int, message: str, *, method: str = "", path: str = "", host: str = ""
) -> DaemonError:
    """The `DaemonError` subclass for `status` (plain `DaemonError` for the others)."""
    cls = _BY_STATUS.get(status, DaemonError)
    return cls(message, status=status, method=method, path=path, host=host)


class CredentialsError(ConfigError):
    """Credentials could not be read: a credential helper is missing or failed. `source`
    names the helper program."""


class HijackUnsupported(ConfigError, NotImplementedError):
    """The chosen backend cannot take over a connection (attach, exec start, WebSocket)."""


class BuildContextError(EngineAPIError, ValueError):
    """A build context could not be made from a directory: it is not a directory, the
    Dockerfile is missing or outside it, or its ``.dockerignore`` is invalid."""


class DockerignoreError(BuildContextError):
    """A ``.dockerignore`` the docker CLI would refuse too: an exception with no pattern
    (``!``), a malformed pattern (``[a-``, a trailing ``\\``), or a line over 64 KiB."""


class ArchiveError(EngineAPIError):
    """A tar archive could not be written or read: a file changed size while it was being
    archived, or a tar stream is malformed or cut short."""


class UnsafeArchiveError(ArchiveError):
    """A member of an archive being extracted would escape the destination directory (or is a
    device node or fifo); the message names the member and the reason."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(f"refusing to extract {member!r}: {reason}")
        self.member = member
        self.reason = reason


class CassetteError(EngineAPIError):
    """A cassette file is missing, unreadable or of an unknown format (``engineapi.replay``)."""


class RecordingError(EngineAPIError):
    """The recorder could not make sense of the bytes of a session; the cassette is
    unreliable (``engineapi.replay``)."""
