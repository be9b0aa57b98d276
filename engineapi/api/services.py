"""Services: what a swarm runs — the Service tag's operations, plus `scale` and `rollback`."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    Flow,
    OutputCall,
    Reply,
    Timestamp,
    decode_list,
    encode_filters,
    encode_timestamp,
    to_body,
)
from engineapi.api.images import registry_auth_header

if TYPE_CHECKING:
    from engineapi.models import (
        AuthConfig,
        Service,
        ServiceCreateResponse,
        ServiceSpec,
        ServiceUpdateResponse,
    )

__all__ = [
    "create",
    "delete",
    "inspect",
    "list",
    "logs",
    "rollback",
    "scale",
    "update",
]


def _none(reply: Reply) -> None:
    return None


def _service_tty(reply: Reply) -> bool:
    spec = reply.json().get("Spec") or {}
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return bool(container.get("TTY"))


def list(*, filters: Filters | None = None, status: bool = False) -> Call[builtins.list[Service]]:
    """The swarm's services — ``GET /services`` (managers only).

    `status` adds each service's running/desired task counts (``service_status``);
    `filters`: ``{"name": [...]}``, ``{"label": ["team=a"]}``, ``{"mode": ["replicated"]}``,
    ``{"id": [...]}``.
    """
    return Call(
        "ServiceList",
        query={"filters": encode_filters(filters), "status": status or None},
        decode=decode_list(models.Service),
    )


def create(
    spec: ServiceSpec | Mapping[str, Any],
    *,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> Call[ServiceCreateResponse]:
    """Create a service — ``POST /services/create``.

    ``ServiceSpec(name="web", task_template=TaskSpec(container_spec=TaskSpecContainerSpec(
    image="busybox", command=["sleep", "1d"])), mode=ServiceSpecMode(
    replicated=ServiceSpecModeReplicated(replicas=2)))``. `auth` (sent as
    ``X-Registry-Auth``) lets the nodes pull a private image.
    """
    return Call(
        "ServiceCreate",
        headers=registry_auth_header(auth) if auth is not None else (),
        json_body=to_body(spec, models.ServiceSpec),
        decode=lambda r: models.ServiceCreateResponse.from_wire(r.json()),
    )


def inspect(id: str, *, insert_defaults: bool = False) -> Call[Service]:
    """A service: its spec, the previous spec, version, endpoint and update status —
    ``GET /services/{id}``; `insert_defaults` fills in the defaults the spec left out."""
    return Call(
        "ServiceInspect",
        id,
        query={"insertDefaults": insert_defaults or None},
        decode=lambda r: models.Service.from_wire(r.json()),
    )


def delete(id: str) -> Call[None]:
    """Remove a service; its tasks are stopped — ``DELETE /services/{id}``."""
    return Call("ServiceDelete", id, decode=_none)


def update(
    id: str,
    spec: ServiceSpec | Mapping[str, Any],
    *,
    version: int,
    rollback: str | None = None,
    registry_auth_from: str | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> Call[ServiceUpdateResponse]:
    """Replace a service's spec (image, env, replicas, …) — ``POST /services/{id}/update``.

    `version` is the service's current ``Version.Index`` (from `inspect`): an update based on
    a stale version is refused. The spec replaces the whole current one: start from
    ``inspect(id).spec``. ``rollback="previous"`` returns to the previous spec instead (send
    the current spec with it; `rollback` does both). `registry_auth_from` (``spec`` or
    ``previous-spec``) picks the credentials kept with the service when no `auth` is given.
    """
    return Call(
        "ServiceUpdate",
        id,
        query={
            "version": version,
            "registryAuthFrom": registry_auth_from,
            "rollback": rollback,
        },
        headers=registry_auth_header(auth) if auth is not None else (),
        json_body=to_body(spec, models.ServiceSpec),
        decode=lambda r: models.ServiceUpdateResponse.from_wire(r.json()),
    )


def rollback(id: str) -> Flow[ServiceUpdateResponse]:
    """Return a service to its previous spec, as ``docker service rollback`` does:
    ``GET /services/{id}`` for the version and spec, then ``POST /services/{id}/update``
    with ``rollback=previous``."""
    service: Any = yield inspect(id)
    result: ServiceUpdateResponse = yield update(
        id, service.spec, version=service.version.index, rollback="previous"
    )
    return result


def scale(id: str, replicas: int) -> Flow[ServiceUpdateResponse]:
    """Set a replicated service's number of tasks: ``GET /services/{id}``, then
    ``POST /services/{id}/update`` with the same spec and `replicas`."""
    service: Any = yield inspect(id)
    spec = service.spec.to_wire()
    mode = spec.get("Mode") or {}
    if "Replicated" not in mode and mode:
        raise ValueError(f"service {id} is not replicated (mode {sorted(mode)}): cannot scale")
    spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    result: ServiceUpdateResponse = yield update(id, spec, version=service.version.index)
    return result


def swarm_logs_query(
    stdout: bool,
    stderr: bool,
    follow: bool,
    since: Timestamp | None,
    timestamps: bool,
    tail: int | str | None,
    details: bool,
) -> dict[str, object]:
    """The query of a service's or a task's logs (the two endpoints take the same options)."""
    return {
        "details": details or None,
        "follow": follow or None,
        "stdout": stdout,
        "stderr": stderr,
        "since": encode_timestamp(since),
        "timestamps": timestamps or None,
        "tail": tail,
    }


def logs(
    id: str,
    *,
    stdout: bool = True,
    stderr: bool = True,
    follow: bool = False,
    since: Timestamp | None = None,
    timestamps: bool = False,
    tail: int | str | None = None,
    details: bool = False,
) -> OutputCall:
    """The output of every task of a service, as ``(stream, bytes)`` frames —
    ``GET /services/{id}/logs``.

    As container logs: `follow` keeps the stream open, `since` bounds it, `tail` keeps the
    last lines. `details` prefixes each line with its task's attributes
    (``com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,…``). Multiplexed or raw (a
    TTY service) is decided from the Content-Type (API ≥ 1.42) or the service's TTY flag.
    """
    return OutputCall(
        "ServiceLogs",
        id,
        query=swarm_logs_query(stdout, stderr, follow, since, timestamps, tail, details),
        tty_probe=Call("ServiceInspect", id, decode=_service_tty),
    )
