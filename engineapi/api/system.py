"""System: ping, version, info, events, disk usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    Reply,
    StreamCall,
    Timestamp,
    encode_filters,
    encode_timestamp,
    to_body,
)
from engineapi.http import Headers

if TYPE_CHECKING:
    from engineapi.models import (
        AuthConfig,
        AuthResponse,
        EventMessage,
        SystemDataUsageResponse,
        SystemInfo,
        SystemVersion,
    )

__all__ = [
    "PingResult",
    "auth",
    "data_usage",
    "events",
    "info",
    "ping",
    "ping_head",
    "version",
]


@attrs.frozen
class PingResult:
    """What ``/_ping`` tells about the daemon, read from its response headers."""

    #: The newest API version the daemon supports (``Api-Version``).
    api_version: str | None
    #: ``linux`` or ``windows`` (``OSType``).
    os_type: str | None
    #: Whether the daemon runs with experimental features (``Docker-Experimental``).
    experimental: bool
    #: The builder the daemon recommends, ``1`` (classic) or ``2`` (BuildKit).
    builder_version: str | None
    #: Swarm state: ``inactive``, ``pending``, ``error``, ``locked``, ``active/worker``,
    #: ``active/manager``; ``None`` when the daemon does not say.
    swarm: str | None
    #: The ``Server`` header (e.g. ``Docker/28.5.1 (linux)``, ``Libpod/4.3.1 (linux)``).
    server: str | None

    @classmethod
    def from_reply(cls, reply: Reply) -> PingResult:
        global _last_ping
        headers = reply.headers
        last = _last_ping
        if last is not None and last[0] is headers:
            # The same head as the last ping's (engineapi's HTTP engine hands back the one
            # Headers for a head it has seen byte for byte): the same, immutable, result.
            return last[1]
        # engineapi's own Headers: six dict lookups, not six method calls (another backend's
        # mapping is read through its case-insensitive get).
        get = headers.lowercase.get if type(headers) is Headers else headers.get
        experimental = get("docker-experimental")
        result = cls(  # positional, in field order: the cheaper call
            get("api-version"),
            get("ostype"),
            experimental is not None and experimental.lower() == "true",
            get("builder-version"),
            get("swarm"),
            get("server"),
        )
        if type(headers) is Headers:
            _last_ping = (headers, result)  # one tuple: swapped atomically
        return result


# The last ping's headers (engineapi's own) and result.
_last_ping: tuple[Headers, PingResult] | None = None


def ping() -> Call[PingResult]:
    """Check the daemon answers and read what it tells about itself — ``GET /_ping``.

    Unversioned, so it works before the API version is known.
    """
    return Call("SystemPing", decode=PingResult.from_reply, versioned=False)


def ping_head() -> Call[PingResult]:
    """`ping` without a body — ``HEAD /_ping``; version negotiation uses this one."""
    return Call("SystemPingHead", decode=PingResult.from_reply, versioned=False)


def version() -> Call[SystemVersion]:
    """Engine and component versions — ``GET /version``."""
    return Call(
        "SystemVersion",
        decode=lambda r: models.SystemVersion.from_wire(r.json()),
    )


def info() -> Call[SystemInfo]:
    """System-wide information: containers, images, drivers, swarm, … — ``GET /info``."""
    return Call("SystemInfo", decode=lambda r: models.SystemInfo.from_wire(r.json()))


def events(
    *,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    filters: Filters | None = None,
) -> StreamCall[EventMessage]:
    """Real-time events from the daemon, one `EventMessage` each — ``GET /events``.

    Without `until` the stream runs until closed. `since`/`until` take a datetime, Unix
    seconds, a `timedelta` back from now or the daemon's own string forms. `filters` as the
    CLI's ``--filter``: ``{"type": ["container"], "event": ["start", "die"]}``.
    """
    return StreamCall(
        "SystemEvents",
        decode_item=models.EventMessage.from_wire,
        query={
            "since": encode_timestamp(since),
            "until": encode_timestamp(until),
            "filters": encode_filters(filters),
        },
        response_timeout=True,
    )


def data_usage(
    *, type: Sequence[str] | None = None, verbose: bool | None = None
) -> Call[SystemDataUsageResponse]:
    """Disk space used by images, containers, volumes and the build cache — ``GET /system/df``.

    `type` limits the answer to some of ``container``, ``image``, ``volume``, ``build-cache``.
    """
    query: dict[str, Any] = {"type": list(type) if type is not None else None, "verbose": verbose}
    return Call(
        "SystemDataUsage",
        query=query,
        decode=lambda r: models.SystemDataUsageResponse.from_wire(r.json()),
        response_timeout=None,  # sizing every layer can take minutes on a big host
    )


def _auth_response(reply: Reply) -> AuthResponse:
    if not reply.body.strip():
        # 204 (no body): the spec's "no error", a success without a status text; `status` is
        # typed as always present, so it gets the text daemons give a success.
        return models.AuthResponse(status="Login Succeeded")
    return models.AuthResponse.from_wire(reply.json())


def auth(config: AuthConfig | Mapping[str, Any]) -> Call[AuthResponse]:
    """Check credentials against a registry, as ``docker login`` does — ``POST /auth``.

    ``AuthConfig(username="me", password="…", serveraddress="registry.example:5000")``;
    without `serveraddress` Docker Hub is meant. Success is ``status == "Login Succeeded"``
    (with an ``identity_token`` when the registry hands one out; a 204 answer, which has no
    body, gives that status too); wrong credentials are the
    daemon's error (`Unauthorized`, or `ServerError` for engines that report it as 500).
    """
    return Call(
        "SystemAuth",
        json_body=to_body(config),
        decode=_auth_response,
        response_timeout=None,  # the daemon talks to the registry first
    )
