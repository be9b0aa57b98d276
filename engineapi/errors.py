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
    │   │   ├── PoolTimeout      no free connection in the pool in time
    │   │   ├── WaitTimeout      a stream's next(timeout=) had no item in time (stream usable)
    │   │   └── DeadlineExceeded a stream's deadline= passed (stream closed)
    │   └── ConnectionLost       the daemon closed the connection mid-exchange
    ├── ProtocolError            HTTP/1.1 framing violated
    │   ├── LocalProtocolError   …by us (a bug, or a misuse such as a short body)
    │   └── RemoteProtocolError  …by the daemon (malformed response)
    │       └── MissingFieldError  …a key the API spec requires is absent or null
    ├── DaemonError              the daemon answered with an error status
    │   ├── BadRequest 400 · Unauthorized 401 · Forbidden 403
    │   ├── NotFound 404         no such object, or no such endpoint (plain NotFound)
    │   │   └── ImageNotFound · ContainerNotFound · NetworkNotFound · VolumeNotFound
    │   │       ExecNotFound · NodeNotFound · ServiceNotFound · TaskNotFound
    │   │       SecretNotFound · ConfigNotFound · PluginNotFound
    │   ├── NotAcceptable 406 · Conflict 409 · ServerError 500 · ServiceUnavailable 503
    │   └── ImagePullError ──┐   a pull failed: refused with any HTTP status (Docker), or
    ├── StreamError ─────────┘   reported in the progress stream (Podman); both parents
    │                            an error reported inside a stream (events, progress, logs)
    ├── ClientClosed             a call on a closed client
    ├── BuildContextError        a directory could not be made a build context
    │   └── DockerignoreError    …its .dockerignore is one the CLI refuses too
    ├── ArchiveError             a tar could not be written or read
    │   └── UnsafeArchiveError   …a member would land outside the destination
    └── replay: CassetteError, RecordingError, ReplayMismatch (engineapi.replay)

This module is a leaf: every layer may import it, it imports nothing from engineapi.
"""

from __future__ import annotations

import builtins
import re

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
    "ConfigNotFound",
    "ContainerNotFound",
    "DeadlineExceeded",
    "ExecNotFound",
    "ImageNotFound",
    "ImagePullError",
    "InvalidArgument",
    "NetworkNotFound",
    "NodeNotFound",
    "PluginNotFound",
    "SecretNotFound",
    "ServiceNotFound",
    "TaskNotFound",
    "VolumeNotFound",
    "WaitTimeout",
    "LocalProtocolError",
    "MissingFieldError",
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
    "not_found_class",
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


class WaitTimeout(TimeoutError):
    """``stream.next(timeout=…)`` waited that long without a whole item (or frame): nothing was
    lost and the stream stays open: call `next()` again, or close it."""


class DeadlineExceeded(TimeoutError):
    """A stream's ``deadline=`` passed: it was closed, after handing over everything that had
    arrived by then. `deadline` is the number of seconds it was given."""

    def __init__(self, message: str, *, deadline: float) -> None:
        super().__init__(message)
        self.deadline = deadline


class ConnectionLost(TransportError, builtins.ConnectionError):
    """The daemon closed the connection in the middle of an exchange."""


class ProtocolError(EngineAPIError):
    """The HTTP/1.1 exchange broke the protocol."""


class LocalProtocolError(ProtocolError):
    """We broke the protocol: a client-side bug or misuse (e.g. body shorter than declared)."""


class RemoteProtocolError(ProtocolError):
    """The daemon's response is malformed."""


class MissingFieldError(RemoteProtocolError):
    """A reply lacks a key (or has ``null`` for it) that the API spec requires and that its
    model therefore types as always present (``ContainerCreateResponse.id: str``).

    `model` is the class, `field` the attribute, `wire` the JSON key, `how` ``"absent"`` or
    ``"null"``; `operation` (``"ContainerCreate (POST /containers/create)"``), `server` (the
    daemon's ``Server`` header) and `host` say where the reply came from, when known.
    ``Client(strict_models=False)`` or ``engineapi.models.lenient_decoding()`` decode such a
    reply with ``None`` there instead.
    """

    def __init__(self, model: str, field: str, wire: str, how: str) -> None:
        super().__init__(model, field, wire, how)
        self.model = model
        self.field = field
        self.wire = wire
        self.how = how
        self.operation = ""
        self.server = ""
        self.host = ""

    def add_context(self, *, operation: str = "", server: str = "", host: str = "") -> None:
        """Say where the reply came from (the first caller that knows wins)."""
        self.operation = self.operation or operation
        self.server = self.server or server
        self.host = self.host or host

    def __str__(self) -> str:
        where = f" in the reply to {self.operation}" if self.operation else ""
        daemon = self.server or ("the daemon" if self.host else "")
        by = f" from {daemon}" if daemon else ""
        at = f" at {self.host}" if self.host else ""
        return (
            f"{self.model}.{self.field} (JSON key {self.wire!r}) is {self.how}{where}{by}{at}, "
            f"but the model types it as always present; decode "
            f"such replies with Client(strict_models=False) or "
            f"engineapi.models.lenient_decoding() to get None there"
        )


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


class ImageNotFound(NotFound):
    """404: no such image (also a container create naming an image the daemon lacks)."""


class ContainerNotFound(NotFound):
    """404: no such container."""


class NetworkNotFound(NotFound):
    """404: no such network."""


class VolumeNotFound(NotFound):
    """404: no such volume."""


class ExecNotFound(NotFound):
    """404: no such exec instance."""


class NodeNotFound(NotFound):
    """404: no such swarm node."""


class ServiceNotFound(NotFound):
    """404: no such swarm service."""


class TaskNotFound(NotFound):
    """404: no such swarm task."""


class SecretNotFound(NotFound):
    """404: no such swarm secret."""


class ConfigNotFound(NotFound):
    """404: no such swarm config."""


class PluginNotFound(NotFound):
    """404: no such plugin."""


class ImagePullError(DaemonError, StreamError):
    """A pull failed, whichever way the daemon said so: Docker refuses it with an HTTP error
    (404 for an unknown image or tag, 500 for an unreachable registry, 401/403 for
    credentials), Podman reports it inside the progress stream with status 200.

    Both a `DaemonError` and a `StreamError`, so handlers of either catch it — but not
    `NotFound` or `ServerError`: catch `ImagePullError` for every failed pull. `reference` is
    what was pulled, `status` the HTTP status (``0`` when the failure came in the stream),
    `code` the stream's error code if any, `message` the daemon's text.
    """

    def __init__(
        self,
        message: str,
        *,
        reference: str = "",
        status: int = 0,
        code: int | None = None,
        method: str = "",
        path: str = "",
        host: str = "",
    ) -> None:
        self.message = message
        self.reference = reference
        self.status = status
        self.code = code
        self.method = method
        self.path = path
        self.host = host
        how = f"{status} from {method} {path}" if status else "reported in the progress stream"
        on = f" on {host}" if host else ""
        EngineAPIError.__init__(
            self, f"pulling {reference or 'an image'} failed ({how}{on}): {message}"
        )


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

#: The 404 subclass of each resource, by the spec's tag of the operation.
_NOT_FOUND_BY_TAG: dict[str, type[NotFound]] = {
    "Image": ImageNotFound,
    "Container": ContainerNotFound,
    "Network": NetworkNotFound,
    "Volume": VolumeNotFound,
    "Exec": ExecNotFound,
    "Node": NodeNotFound,
    "Service": ServiceNotFound,
    "Task": TaskNotFound,
    "Secret": SecretNotFound,
    "Config": ConfigNotFound,
    "Plugin": PluginNotFound,
}

#: What the daemons say of a missing object, whatever the operation (Docker's
#: "No such image: x", "network x not found"; Podman's "no container with name or ID …",
#: "…: image not known", "…: no such exec session"), most specific first.
_NOT_FOUND_MESSAGES: tuple[tuple[re.Pattern[str], type[NotFound]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), cls)
    for pattern, cls in (
        (r"no such exec|exec session", ExecNotFound),
        (r"no such image|image not known|\bno such image\b", ImageNotFound),
        (r"no such container|no container with", ContainerNotFound),
        (r"no such volume|no volume with", VolumeNotFound),
        (r"no such network|network not found|^network .* not found", NetworkNotFound),
        (r"no such secret|no secret with|^secret .* not found", SecretNotFound),
        (r"no such config|^config .* not found", ConfigNotFound),
        (r"no such node|^node .* not found", NodeNotFound),
        (r"no such service|^service .* not found", ServiceNotFound),
        (r"no such task|^task .* not found", TaskNotFound),
        (r"no such plugin|^plugin .* not found", PluginNotFound),
    )
)

#: A 404 that says the endpoint itself is missing (Podman's compat API lacks a few): no
#: resource to blame.
_NO_ENDPOINT = re.compile(r"^(404 )?(page )?not found\.?$", re.IGNORECASE)


def not_found_class(message: str, tag: str | None = None) -> type[NotFound]:
    """The `NotFound` subclass a 404 stands for: from the daemon's message when it names the
    missing kind of object, else from the operation's `tag`; plain `NotFound` when the
    endpoint itself is missing or nothing tells."""
    text = message.strip()
    if _NO_ENDPOINT.match(text):
        return NotFound
    for pattern, cls in _NOT_FOUND_MESSAGES:
        if pattern.search(text):
            return cls
    return _NOT_FOUND_BY_TAG.get(tag or "", NotFound)


def daemon_error(
    status: int,
    message: str,
    *,
    method: str = "",
    path: str = "",
    host: str = "",
    tag: str | None = None,
    pulling: str | None = None,
) -> DaemonError:
    """The `DaemonError` subclass for `status` (plain `DaemonError` for the others); a 404 is
    narrowed to its resource (`not_found_class`, `tag` the operation's spec tag); with
    `pulling` (the reference of a pull) any error is an `ImagePullError`."""
    if pulling is not None:
        return ImagePullError(
            message, reference=pulling, status=status, method=method, path=path, host=host
        )
    cls = _BY_STATUS.get(status, DaemonError)
    if cls is NotFound:
        cls = not_found_class(message, tag)
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
