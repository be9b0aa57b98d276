"""Volumes: every operation of the Volume tag, as call builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import Call, Filters, Reply, encode_filters, to_body

if TYPE_CHECKING:
    from engineapi.models import (
        Volume,
        VolumeCreateRequest,
        VolumeListResponse,
        VolumePruneResponse,
        VolumeUpdateRequest,
    )

__all__ = ["create", "delete", "inspect", "list", "prune", "update"]


def _none(reply: Reply) -> None:
    return None


def list(*, filters: Filters | None = None) -> Call[VolumeListResponse]:
    """Volumes, and the warnings of drivers that could not list theirs — ``GET /volumes``.

    `filters` as ``docker volume ls --filter``: ``{"dangling": ["true"]}``,
    ``{"driver": ["local"]}``, ``{"label": ["team=a"]}``, ``{"name": ["data"]}``.
    """
    return Call(
        "VolumeList",
        query={"filters": encode_filters(filters)},
        decode=lambda r: models.VolumeListResponse.from_wire(r.json()),
    )


def create(
    config: VolumeCreateRequest | Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    driver: str | None = None,
    driver_opts: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Call[Volume]:
    """Create a volume (an anonymous one without a name) — ``POST /volumes/create``.

    Either a `config` (``VolumeCreateRequest(name="data", labels={"team": "a"})``, or a
    mapping with the API's keys) or the keywords; a keyword given overrides the config's
    field. Creating a volume whose name exists returns the existing one.
    """
    body: dict[str, Any] = to_body(config, models.VolumeCreateRequest) if config is not None else {}
    for key, value in (
        ("Name", name),
        ("Driver", driver),
        ("DriverOpts", driver_opts),
        ("Labels", labels),
    ):
        if value is not None:
            body[key] = dict(value) if isinstance(value, Mapping) else value
    return Call(
        "VolumeCreate",
        json_body=body,
        decode=lambda r: models.Volume.from_wire(r.json()),
    )


def inspect(name: str) -> Call[Volume]:
    """A volume: driver, mountpoint, labels, options, usage — ``GET /volumes/{name}``."""
    return Call(
        "VolumeInspect",
        name,
        decode=lambda r: models.Volume.from_wire(r.json()),
    )


def update(name: str, spec: VolumeUpdateRequest | Mapping[str, Any], *, version: int) -> Call[None]:
    """Change a cluster volume's availability — ``PUT /volumes/{name}`` (API ≥ 1.42).

    Only swarm cluster volumes (CSI) can be updated; `version` is the volume's current
    ``ClusterVolume.Version.Index``. An engine that is not a swarm manager answers with its
    error (raised as `DaemonError`), an older API raises `APIVersionError` before sending.
    """
    return Call(
        "VolumeUpdate",
        name,
        query={"version": version},
        json_body=to_body(spec, models.VolumeUpdateRequest),
        decode=_none,
    )


def delete(name: str, *, force: bool = False) -> Call[None]:
    """Remove a volume (`force`: even if the driver fails to) — ``DELETE /volumes/{name}``.

    A volume in use by a container is a `Conflict`.
    """
    return Call(
        "VolumeDelete",
        name,
        query={"force": force or None},
        decode=_none,
    )


def prune(*, filters: Filters | None = None) -> Call[VolumePruneResponse]:
    """Remove the volumes no container uses — ``POST /volumes/prune``.

    From API 1.42 only anonymous volumes are removed unless ``filters={"all": ["true"]}``;
    ``{"label": ["team=a"]}`` narrows it down.
    """
    return Call(
        "VolumePrune",
        query={"filters": encode_filters(filters)},
        decode=lambda r: models.VolumePruneResponse.from_wire(r.json()),
        response_timeout=None,
    )
