"""Partial updates of swarm objects: inspect, merge, update with the version, retry.

A swarm object (service, node, secret, config, the swarm itself) is updated by sending its
whole spec with the ``Version.Index`` it was read at; an update based on a stale version is
refused ("update out of sequence"). `updated` is the flow every partial ``update(…)`` runs:
read the object, lay the caller's changes over its spec, send it with that version, and on
"out of sequence" (someone updated it in between) read it again and retry, a few times.
Pure: the clients drive the flow (see `engineapi.api._call.Flow`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from engineapi.api._call import Call, Flow, Pause
from engineapi.errors import DaemonError, InvalidArgument

__all__ = [
    "RETRIES",
    "merge_env",
    "merge_labels",
    "out_of_sequence",
    "own",
    "relabelled",
    "single",
    "spec_of",
    "updated",
    "version_of",
]

T = TypeVar("T")

#: How many times an update refused as out of sequence is read again and retried.
RETRIES = 5


def out_of_sequence(error: DaemonError) -> bool:
    """Whether the daemon refused an update for a stale version (swarmkit's words)."""
    return "out of sequence" in (error.message or str(error))


def updated(
    inspect: Call[Any],
    update: Callable[[Any], Call[T]],
    *,
    retry: bool = True,
) -> Flow[T]:
    """`inspect` the object, send ``update(current)``; on "update out of sequence" read it
    again and retry (up to `RETRIES` times), unless `retry` is false (a version the caller
    chose)."""
    attempt = 0
    while True:
        current = yield inspect
        try:
            result: T = yield update(current)
        except DaemonError as error:
            if not retry or attempt >= RETRIES or not out_of_sequence(error):
                raise
            attempt += 1
            yield Pause(0.05 * attempt)
            continue
        return result


def single(call: Call[T]) -> Flow[T]:
    """The flow of one request (an update whose spec and version are both given)."""
    result: T = yield call
    return result


def version_of(current: Any) -> int:
    """The ``Version.Index`` of an inspected swarm object."""
    index = getattr(getattr(current, "version", None), "index", None)
    if not isinstance(index, int):
        raise InvalidArgument(f"the daemon sent no Version.Index for {type(current).__name__}")
    return index


def spec_of(current: Any) -> dict[str, Any]:
    """The inspected object's spec as a wire dict the merge may change."""
    spec = getattr(current, "spec", None)
    return spec.to_wire() if spec is not None else {}


def own(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a spec body that the merge may change (the caller's stays as it was)."""
    return copy.deepcopy(dict(body))


def merge_labels(
    current: Mapping[str, str] | None, changes: Mapping[str, str | None], argument: str
) -> dict[str, str]:
    """`current` labels with `changes` laid over: a None value removes the label (the
    CLI's ``--label-rm``), others add or replace (``--label-add``)."""
    if not isinstance(changes, Mapping):
        raise InvalidArgument(
            f"{argument} must be a mapping {{label: value or None to remove}}", argument=argument
        )
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, str):
            merged[key] = value
        else:
            raise InvalidArgument(
                f"{argument}[{key!r}] must be a string (or None to remove it), not {value!r}",
                argument=argument,
            )
    return merged


def merge_env(current: Sequence[str] | None, changes: Mapping[str, str | None]) -> list[str]:
    """``K=V`` variables with `changes` laid over, in their order: a None value removes the
    variable (``--env-rm``), others replace it in place or are appended (``--env-add``)."""
    if not isinstance(changes, Mapping):
        raise InvalidArgument(
            "env must be a mapping {name: value or None to remove}", argument="env"
        )
    merged: dict[str, str] = {}
    for item in current or []:
        name = item.partition("=")[0]
        merged[name] = item
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, str):
            merged[name] = f"{name}={value}"
        else:
            raise InvalidArgument(
                f"env[{name!r}] must be a string (or None to remove it), not {value!r}",
                argument="env",
            )
    return list(merged.values())


def relabelled(
    inspect: Call[Any],
    given: dict[str, Any] | None,
    version: int | None,
    labels: Mapping[str, str | None] | None,
    send: Callable[[dict[str, Any], int], Call[None]],
) -> Flow[None]:
    """The update of an object whose labels are all that can change (secrets, configs):
    `given` (a whole spec) sent with `version` as it is, or the inspected spec with `labels`
    laid over, sent with the version it was read at (`updated`)."""
    if given is not None and labels is None and version is not None:
        return single(send(given, version))

    def make(current: Any) -> Call[None]:
        body = own(given) if given is not None else spec_of(current)
        if labels is not None:
            body["Labels"] = merge_labels(body.get("Labels"), labels, "labels")
        return send(body, version if version is not None else version_of(current))

    return updated(inspect, make, retry=version is None)
