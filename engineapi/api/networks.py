"""Networks: every operation of the Network tag, as call builders."""

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
    from engineapi.models import (
        EndpointSettings,
        NetworkCreateRequest,
        NetworkCreateResponse,
        NetworkInspect,
        NetworkPruneResponse,
        NetworkSummary,
    )

__all__ = ["connect", "create", "delete", "disconnect", "inspect", "list", "prune"]


def _none(reply: Reply) -> None:
    return None


def list(*, filters: Filters | None = None) -> Call[builtins.list[NetworkSummary]]:
    """Networks — ``GET /networks``.

    `filters` as ``docker network ls --filter``: ``{"driver": ["bridge"]}``,
    ``{"label": ["team=a"]}``, ``{"name": ["app"]}``, ``{"type": ["custom"]}``, …
    """
    return Call(
        "NetworkList",
        query={"filters": encode_filters(filters)},
        decode=decode_list(models.NetworkSummary),
    )


def inspect(id: str, *, verbose: bool = False, scope: str | None = None) -> Call[NetworkInspect]:
    """A network, its IPAM and the containers attached to it — ``GET /networks/{id}``.

    `verbose` adds, for a swarm network, the services and tasks on it across the cluster;
    `scope` (``swarm``, ``global``, ``local``) picks among networks of the same name.
    """
    return Call(
        "NetworkInspect",
        id,
        query={"verbose": verbose or None, "scope": scope},
        decode=lambda r: models.NetworkInspect.from_wire(r.json()),
    )


def create(config: NetworkCreateRequest | Mapping[str, Any]) -> Call[NetworkCreateResponse]:
    """Create a network — ``POST /networks/create``.

    The typed form: ``NetworkCreateRequest(name="app", driver="bridge",
    ipam=IPAM(config=[IPAMConfig(subnet="10.50.0.0/24", gateway="10.50.0.1")]),
    labels={"team": "a"})``; a mapping with the API's keys is accepted too. In a swarm,
    ``driver="overlay"`` (``attachable=True`` to let plain containers join it).
    """
    return Call(
        "NetworkCreate",
        json_body=to_body(config, models.NetworkCreateRequest),
        decode=lambda r: models.NetworkCreateResponse.from_wire(r.json()),
    )


def delete(id: str) -> Call[None]:
    """Remove a network — ``DELETE /networks/{id}``."""
    return Call("NetworkDelete", id, decode=_none)


def connect(
    id: str,
    container: str,
    *,
    endpoint_config: EndpointSettings | Mapping[str, Any] | None = None,
) -> Call[None]:
    """Attach `container` to the network — ``POST /networks/{id}/connect``.

    `endpoint_config` sets the container's endpoint on it: ``EndpointSettings(aliases=["db"],
    ipam_config=EndpointIPAMConfig(ipv4_address="10.50.0.10"))``.
    """
    body: dict[str, Any] = {"Container": container}
    if endpoint_config is not None:
        body["EndpointConfig"] = to_body(endpoint_config, models.EndpointSettings)
    return Call("NetworkConnect", id, json_body=body, decode=_none)


def disconnect(id: str, container: str, *, force: bool = False) -> Call[None]:
    """Detach `container` from the network (`force`: even if it is not running) —
    ``POST /networks/{id}/disconnect``."""
    body: dict[str, Any] = {"Container": container}
    if force:
        body["Force"] = True
    return Call("NetworkDisconnect", id, json_body=body, decode=_none)


def prune(*, filters: Filters | None = None) -> Call[NetworkPruneResponse]:
    """Remove the networks no container uses — ``POST /networks/prune``.

    `filters`: ``{"until": ["24h"]}``, ``{"label": ["team=a"]}`` or ``{"label!": [...]}``.
    """
    return Call(
        "NetworkPrune",
        query={"filters": encode_filters(filters)},
        decode=lambda r: models.NetworkPruneResponse.from_wire(r.json()),
    )
