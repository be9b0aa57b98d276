"""Swarm: create, join, inspect, update, lock and leave a swarm — the Swarm tag's operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import Call, OperationFlow, Reply, to_body
from engineapi.api._update import merge_labels, own, single, spec_of, updated, version_of

if TYPE_CHECKING:
    from engineapi.models import (
        SwarmInitRequest,
        SwarmJoinRequest,
        SwarmSpec,
        SwarmUnlockRequest,
        UnlockKeyResponse,
    )

__all__ = ["init", "inspect", "join", "leave", "unlock", "unlock_key", "update"]

#: Where a node listens for swarm traffic unless told otherwise (the docker CLI's default).
DEFAULT_LISTEN_ADDR = "0.0.0.0:2377"


def _none(reply: Reply) -> None:
    return None


def _node_id(reply: Reply) -> str:
    return str(reply.json())


#: The size of the subnets cut from a default address pool (the docker CLI's default; Docker
#: 20.10's allocator fails on the 0 an omitted field would mean).
DEFAULT_SUBNET_SIZE = 24


def _with_listen_addr(
    config: Any, model: type[models.SwarmInitRequest] | type[models.SwarmJoinRequest]
) -> dict[str, Any]:
    body: dict[str, Any] = to_body(config, model) if config is not None else {}
    if not body.get("ListenAddr"):
        body["ListenAddr"] = DEFAULT_LISTEN_ADDR
    return body


def _init_body(config: Any) -> dict[str, Any]:
    body = _with_listen_addr(config, models.SwarmInitRequest)
    if body.get("DefaultAddrPool") and not body.get("SubnetSize"):
        body["SubnetSize"] = DEFAULT_SUBNET_SIZE
    return body


# (`models.Swarm`, not `Swarm`: the generated sync namespace class is called Swarm.)
def inspect() -> Call[models.Swarm]:
    """The swarm: its ID, spec, version and join tokens — ``GET /swarm`` (managers only).

    ``swarm.inspect().join_tokens.worker`` is what a worker joins with. An engine that is not
    in a swarm answers 503 (`ServiceUnavailable`), a worker too.
    """
    return Call("SwarmInspect", decode=lambda r: models.Swarm.from_wire(r.json()))


def init(config: SwarmInitRequest | Mapping[str, Any] | None = None) -> Call[str]:
    """Make this engine the first manager of a new swarm; the node's ID —
    ``POST /swarm/init``.

    ``SwarmInitRequest(advertise_addr="10.0.0.5", listen_addr="10.0.0.5:2377",
    default_addr_pool=["10.20.0.0/16"])``. As in the docker CLI, `listen_addr` defaults to
    ``0.0.0.0:2377`` and `subnet_size` (with a `default_addr_pool`) to 24. A host with several
    addresses needs `advertise_addr`.
    """
    return Call("SwarmInit", json_body=_init_body(config), decode=_node_id)


def join(config: SwarmJoinRequest | Mapping[str, Any]) -> Call[None]:
    """Join a swarm as a worker or manager — ``POST /swarm/join``.

    ``SwarmJoinRequest(remote_addrs=["10.0.0.5:2377"], join_token=tokens.worker,
    advertise_addr="10.0.0.6")``; the token decides the role. `listen_addr` defaults to
    ``0.0.0.0:2377``.
    """
    return Call(
        "SwarmJoin", json_body=_with_listen_addr(config, models.SwarmJoinRequest), decode=_none
    )


def leave(*, force: bool = False) -> Call[None]:
    """Leave the swarm — ``POST /swarm/leave``.

    A manager must `force` it (the last manager's leaving ends the swarm and its state).
    """
    return Call(
        "SwarmLeave",
        query={"force": force or None},
        decode=_none,
        response_timeout=None,
    )


def update(
    spec: SwarmSpec | Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
    labels: Mapping[str, str | None] | None = None,
    autolock: bool | None = None,
    task_history_limit: int | None = None,
    rotate_worker_token: bool = False,
    rotate_manager_token: bool = False,
    rotate_manager_unlock_key: bool = False,
) -> OperationFlow[None]:
    """Change the swarm's spec (raft, dispatcher, CA, autolock, …) or rotate its tokens —
    ``POST /swarm/update`` (after ``GET /swarm`` unless the whole `spec` and its `version`
    are given).

    Partly, as ``docker swarm update``: ``update(autolock=True)``, ``update(labels={"env":
    "prod"})`` (None removes a label), ``update(task_history_limit=2)``,
    ``update(rotate_worker_token=True)`` read the swarm, lay the changes over its spec and
    send it with the version read, retried when refused as "out of sequence". Wholly:
    ``update(spec, version=…)`` sends `spec` as it is; a `version` you give is never retried.
    """
    changes = labels is not None or autolock is not None or task_history_limit is not None
    rotate = {
        "rotateWorkerToken": rotate_worker_token or None,
        "rotateManagerToken": rotate_manager_token or None,
        "rotateManagerUnlockKey": rotate_manager_unlock_key or None,
    }
    if spec is not None:
        given = own(to_body(spec, models.SwarmSpec))
        if not changes and version is not None:
            return single(_update_call(given, version, rotate))

    def make(current: Any) -> Call[None]:
        body = own(given) if spec is not None else spec_of(current)
        if labels is not None:
            body["Labels"] = merge_labels(body.get("Labels"), labels, "labels")
        if autolock is not None:
            body.setdefault("EncryptionConfig", {})["AutoLockManagers"] = autolock
        if task_history_limit is not None:
            orchestration = body.setdefault("Orchestration", {})
            orchestration["TaskHistoryRetentionLimit"] = task_history_limit
        at = version if version is not None else version_of(current)
        return _update_call(body, at, rotate)

    return updated(inspect(), make, retry=version is None)


def _update_call(body: Any, version: int, rotate: Mapping[str, bool | None]) -> Call[None]:
    return Call("SwarmUpdate", query={"version": version, **rotate}, json_body=body, decode=_none)


def unlock_key() -> Call[UnlockKeyResponse]:
    """The key that unlocks an autolocked swarm's managers after a restart —
    ``GET /swarm/unlockkey``."""
    return Call(
        "SwarmUnlockkey",
        decode=lambda r: models.UnlockKeyResponse.from_wire(r.json()),
    )


def unlock(key: str | SwarmUnlockRequest | Mapping[str, Any]) -> Call[None]:
    """Unlock a locked manager with the swarm's unlock key — ``POST /swarm/unlock``.

    A manager that is not locked refuses it (the daemon's error is raised).
    """
    body = {"UnlockKey": key} if isinstance(key, str) else to_body(key, models.SwarmUnlockRequest)
    return Call("SwarmUnlock", json_body=body, decode=_none)
