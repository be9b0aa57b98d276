"""Negotiation, and the check that a call exists in the API version in use (the version facts
themselves live in `engineapi._apiversion`)."""

from __future__ import annotations

from typing import Any

from engineapi._apiversion import MAX_API_VERSION, MIN_API_VERSION, version_key
from engineapi.errors import APIVersionError, RemoteProtocolError

__all__ = ["MAX_API_VERSION", "MIN_API_VERSION", "check", "negotiate", "version_key"]


_MIN_KEY = version_key(MIN_API_VERSION)
_MAX_KEY = version_key(MAX_API_VERSION)


def negotiate(server_version: str | None, host: str) -> str:
    """The version to use with a daemon whose newest is `server_version`."""
    if not server_version:
        raise RemoteProtocolError(
            f"the daemon at {host} did not send an Api-Version header on /_ping; "
            "pin a version with version= or DOCKER_API_VERSION"
        )
    try:
        key = version_key(server_version)
    except ValueError:
        raise RemoteProtocolError(
            f"the daemon at {host} sent a malformed Api-Version {server_version!r}"
        ) from None
    if key < _MIN_KEY:
        raise APIVersionError(
            f"the daemon at {host} speaks API {server_version}, older than {MIN_API_VERSION} "
            "(Docker 20.10), the oldest engineapi supports; upgrade the engine"
        )
    return MAX_API_VERSION if key > _MAX_KEY else server_version


def _operations() -> Any:
    # The table is big; load it on the first versioned call, not at import.
    from engineapi.api._operations import OPERATIONS

    return OPERATIONS


def check(call: Any, version: tuple[int, int], version_text: str | None) -> None:
    """Raise `APIVersionError` if the operation or one of its given parameters is newer than
    the API version in use. Nothing has been sent at this point."""
    operation = _operations().get(call.operation_id)
    if operation is None:
        return
    if version_key(operation.since) > version:
        raise APIVersionError(
            f"{call.operation_id} ({operation.http_method} {operation.path}) needs API "
            f"{operation.since}; this daemon is used with API {version_text}"
        )
    for name in call.params:
        param = operation.params.get(name)
        if param is None:
            continue
        if version_key(param.since) > version:
            raise APIVersionError(
                f"parameter {name!r} of {call.operation_id} needs API {param.since}; "
                f"this daemon is used with API {version_text}"
            )
        if param.until is not None and version_key(param.until) < version:
            raise APIVersionError(
                f"parameter {name!r} of {call.operation_id} was removed after API "
                f"{param.until}; this daemon is used with API {version_text}"
            )


def supported_query(call: Any, version: tuple[int, int]) -> list[tuple[str, str]]:
    """The pairs of `call`'s ``optional_query`` whose parameters `version` has.

    A function of its own: a comprehension in the client's request path would make its
    variables cells, two more objects for the cyclic GC on every request."""
    return [(name, value) for name, value in call.optional_query if supported(call, name, version)]


def supported(call: Any, name: str, version: tuple[int, int]) -> bool:
    """Whether the operation of `call` has the parameter `name` in the API version in use."""
    operation = _operations().get(call.operation_id)
    param = operation.params.get(name) if operation is not None else None
    if param is None:
        return True
    return version_key(param.since) <= version and (
        param.until is None or version <= version_key(param.until)
    )
