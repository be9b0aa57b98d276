"""Nodes: the machines of a swarm — the Node tag's operations, as call builders."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    OperationFlow,
    Reply,
    decode_list,
    encode_filters,
    to_body,
)
from engineapi.api._update import merge_labels, own, single, spec_of, updated, version_of

if TYPE_CHECKING:
    from engineapi.models import Node, NodeSpec

__all__ = ["delete", "inspect", "list", "update"]


def _none(reply: Reply) -> None:
    return None


def list(*, filters: Filters | None = None) -> Call[builtins.list[Node]]:
    """The swarm's nodes — ``GET /nodes`` (managers only).

    `filters`: ``{"role": ["worker"]}``, ``{"membership": ["accepted"]}``,
    ``{"node.label": ["zone=a"]}``, ``{"id": [...]}``, ``{"name": [...]}``.
    """
    return Call(
        "NodeList",
        query={"filters": encode_filters(filters)},
        decode=decode_list(models.Node),
    )


def inspect(id: str) -> Call[Node]:
    """A node: spec, description (hostname, engine, resources), status, manager status —
    ``GET /nodes/{id}``; ``self`` names the node answering."""
    return Call("NodeInspect", id, decode=lambda r: models.Node.from_wire(r.json()))


def delete(id: str, *, force: bool = False) -> Call[None]:
    """Remove a node from the swarm — ``DELETE /nodes/{id}``.

    A node still up must leave first, or be removed with `force`.
    """
    return Call("NodeDelete", id, query={"force": force or None}, decode=_none)


def update(
    id: str,
    spec: NodeSpec | Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
    availability: str | None = None,
    role: str | None = None,
    labels: Mapping[str, str | None] | None = None,
) -> OperationFlow[None]:
    """Change a node's availability (``active``, ``pause``, ``drain``), role (``worker``,
    ``manager``) or labels — ``POST /nodes/{id}/update`` (after ``GET /nodes/{id}`` unless
    the whole `spec` and its `version` are given).

    Partly, as ``docker node update``: ``update(id, availability="drain", labels={"zone":
    "a", "old": None})`` reads the node, lays the changes over its spec (a None label is
    removed) and sends it with the version it read, retried when refused as "out of
    sequence". Wholly: ``update(id, spec, version=…)`` sends `spec` as it is; a `version`
    you give is never retried. Draining moves the node's tasks elsewhere.
    """
    changes = availability is not None or role is not None or labels is not None
    if spec is not None:
        given = own(to_body(spec, models.NodeSpec))
        if not changes and version is not None:
            return single(_update_call(id, given, version))

    def make(current: Any) -> Call[None]:
        body = own(given) if spec is not None else spec_of(current)
        if availability is not None:
            body["Availability"] = availability
        if role is not None:
            body["Role"] = role
        if labels is not None:
            body["Labels"] = merge_labels(body.get("Labels"), labels, "labels")
        at = version if version is not None else version_of(current)
        return _update_call(id, to_body(body, models.NodeSpec), at)

    return updated(inspect(id), make, retry=version is None)


def _update_call(id: str, body: Any, version: int) -> Call[None]:
    return Call("NodeUpdate", id, query={"version": version}, json_body=body, decode=_none)
