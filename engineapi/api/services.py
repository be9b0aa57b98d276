"""Services: what a swarm runs — the Service tag's operations, plus `scale` and `rollback`."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    Flow,
    OperationFlow,
    OutputCall,
    Reply,
    Timestamp,
    decode_list,
    encode_filters,
    encode_timestamp,
    to_body,
)
from engineapi.api._shortcuts import command_list
from engineapi.api._update import (
    merge_env,
    merge_labels,
    own,
    single,
    spec_of,
    updated,
    version_of,
)
from engineapi.api.images import registry_auth_header
from engineapi.errors import InvalidArgument

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


def _update_call(
    id: str,
    spec: Any,
    version: int,
    rollback: str | None,
    registry_auth_from: str | None,
    auth: AuthConfig | Mapping[str, Any] | None,
) -> Call[ServiceUpdateResponse]:
    return Call(
        "ServiceUpdate",
        id,
        query={
            "version": version,
            "registryAuthFrom": registry_auth_from,
            "rollback": rollback,
        },
        headers=registry_auth_header(auth) if auth is not None else (),
        json_body=spec,
        decode=lambda r: models.ServiceUpdateResponse.from_wire(r.json()),
    )


def _merged(
    id: str,
    spec: dict[str, Any],
    image: str | None,
    command: Sequence[str] | str | None,
    env: Mapping[str, str | None] | None,
    labels: Mapping[str, str | None] | None,
    container_labels: Mapping[str, str | None] | None,
    replicas: int | None,
    force: bool,
) -> dict[str, Any]:
    """`spec` (a wire dict of our own) with the partial changes laid over it."""
    template = spec.setdefault("TaskTemplate", {})
    container = template.setdefault("ContainerSpec", {})
    if image is not None:
        container["Image"] = image
    if command is not None:
        container["Command"] = command_list(command)
    if env is not None:
        container["Env"] = merge_env(container.get("Env"), env)
    if container_labels is not None:
        container["Labels"] = merge_labels(
            container.get("Labels"), container_labels, "container_labels"
        )
    if labels is not None:
        spec["Labels"] = merge_labels(spec.get("Labels"), labels, "labels")
    if replicas is not None:
        mode = spec.get("Mode") or {}
        if "Replicated" not in mode and mode:
            raise InvalidArgument(
                f"service {id} is not replicated (mode {sorted(mode)}): cannot set replicas",
                argument="replicas",
            )
        replicated = dict(mode.get("Replicated") or {})
        replicated["Replicas"] = replicas
        spec["Mode"] = {**mode, "Replicated": replicated}
    if force:  # ``docker service update --force``: tasks are recreated even if unchanged
        template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
    return spec


def update(
    id: str,
    spec: ServiceSpec | Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
    image: str | None = None,
    command: Sequence[str] | str | None = None,
    env: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str | None] | None = None,
    container_labels: Mapping[str, str | None] | None = None,
    replicas: int | None = None,
    force: bool = False,
    rollback: str | None = None,
    registry_auth_from: str | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> OperationFlow[ServiceUpdateResponse]:
    """Update a service — ``POST /services/{id}/update`` (after ``GET /services/{id}``
    unless the whole `spec` and its `version` are given).

    Partly, as ``docker service update`` does: ``update("web", image="busybox:1.36",
    env={"MODE": "prod", "DEBUG": None}, labels={"team": "a"}, replicas=3)`` reads the
    service, lays the changes over its current spec (a None value removes a variable or a
    label; `command` replaces the command, `container_labels` are the containers' labels,
    `force` recreates the tasks), and sends it with the version it read; an update refused
    as "out of sequence" (someone else updated the service in between) is read and retried.

    Wholly: ``update("web", spec, version=current.version.index)`` sends `spec` as it is
    (the keywords, if any, laid over it); without `version` the current one is read first.
    A `version` you give is never retried. ``rollback="previous"`` returns to the previous
    spec instead (`rollback` does both). `registry_auth_from` (``spec`` or
    ``previous-spec``) picks the credentials kept with the service when no `auth` is given.
    """
    partial = (image, command, env, labels, container_labels, replicas)
    changes = any(value is not None for value in partial) or force
    if spec is not None:
        given = own(to_body(spec, models.ServiceSpec))
        if not changes and version is not None:
            return single(_update_call(id, given, version, rollback, registry_auth_from, auth))

    def make(current: Any) -> Call[ServiceUpdateResponse]:
        body = own(given) if spec is not None else spec_of(current)
        body = _merged(id, body, image, command, env, labels, container_labels, replicas, force)
        at = version if version is not None else version_of(current)
        return _update_call(id, body, at, rollback, registry_auth_from, auth)

    return updated(inspect(id), make, retry=version is None)


def rollback(id: str) -> Flow[ServiceUpdateResponse]:
    """Return a service to its previous spec, as ``docker service rollback`` does:
    ``GET /services/{id}`` for the version and spec, then ``POST /services/{id}/update``
    with ``rollback=previous``."""
    service: Any = yield inspect(id)
    result: ServiceUpdateResponse = yield _update_call(
        id, spec_of(service), version_of(service), "previous", None, None
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
    result: ServiceUpdateResponse = yield _update_call(
        id, spec, version_of(service), None, None, None
    )
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
