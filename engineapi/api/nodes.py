"""Nodes: the machines of a swarm — the Node tag's operations, as call builders."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    Reply,
    decode_list,
    encode_filters,
    to_body,
)

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


def update(id: str, spec: NodeSpec | Mapping[str, Any], *, version: int) -> Call[None]:
    """Change a node's role, availability (``active``, ``pause``, ``drain``) or labels —
    ``POST /nodes/{id}/update``.

    `version` is the node's current ``Version.Index``; the spec replaces the whole current
    one, so start from ``inspect(id).spec``. Draining moves the node's tasks elsewhere.
    """
    return Call(
        "NodeUpdate",
        id,
        query={"version": version},
        json_body=to_body(spec, models.NodeSpec),
        decode=_none,
    )
