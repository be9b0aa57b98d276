"""Configs: non-sensitive files a swarm hands to services — the Config tag's operations.

The API carries a config's data base64-encoded; the builders take bytes (or text) and
encode them.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import Call, Filters, OperationFlow, Reply, decode_list, encode_filters
from engineapi.api._update import own, relabelled
from engineapi.api.secrets import decode_id, spec_body

if TYPE_CHECKING:
    from engineapi.models import Config, ConfigSpec, Driver, IDResponse

__all__ = ["create", "delete", "inspect", "list", "update"]


def _none(reply: Reply) -> None:
    return None


def list(*, filters: Filters | None = None) -> Call[builtins.list[Config]]:
    """Configs, with their data — ``GET /configs`` (swarm managers only).

    `filters`: ``{"name": [...]}``, ``{"label": ["team=a"]}``, ``{"id": [...]}``,
    ``{"names": [...]}``.
    """
    return Call(
        "ConfigList",
        query={"filters": encode_filters(filters)},
        decode=decode_list(models.Config),
    )


def create(
    spec: ConfigSpec | Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    data: bytes | str | None = None,
    labels: Mapping[str, str] | None = None,
    templating: Driver | Mapping[str, Any] | None = None,
) -> Call[IDResponse]:
    """Create a config; its ID — ``POST /configs/create``.

    ``create(name="app.conf", data=b"port = 80\\n")``: `data` is bytes (or text, sent as
    UTF-8) and is base64-encoded here. A `spec` (``ConfigSpec`` or a mapping with the API's
    keys, its ``Data`` already base64 — or bytes, encoded here) may be given instead;
    keywords override its fields. `templating` names a template driver
    (``Driver(name="golang")``).
    """
    return Call(
        "ConfigCreate",
        json_body=spec_body(
            spec,
            model=models.ConfigSpec,
            name=name,
            data=data,
            labels=labels,
            Templating=templating,
        ),
        decode=decode_id,
    )


def inspect(id: str) -> Call[Config]:
    """A config: its spec (with the data, base64), version and dates —
    ``GET /configs/{id}``; ``base64.b64decode(config.spec.data)`` is the content."""
    return Call("ConfigInspect", id, decode=lambda r: models.Config.from_wire(r.json()))


def update(
    id: str,
    spec: ConfigSpec | Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
    labels: Mapping[str, str | None] | None = None,
) -> OperationFlow[None]:
    """Change a config's labels (nothing else can change) — ``POST /configs/{id}/update``
    (after ``GET /configs/{id}`` unless the whole `spec` and its `version` are given).

    ``update(id, labels={"team": "b", "old": None})`` reads the config, lays the labels over
    its own (None removes one) and sends its spec with the version it read, retried when
    refused as "out of sequence". ``update(id, spec, version=…)`` sends `spec` as it is
    (its whole current spec, ``inspect(id).spec``, with the new labels); a `version` you give
    is never retried.
    """
    given = own(spec_body(spec, model=models.ConfigSpec)) if spec is not None else None
    return relabelled(
        inspect(id), given, version, labels, lambda body, at: _update_call(id, body, at)
    )


def _update_call(id: str, body: Any, version: int) -> Call[None]:
    return Call("ConfigUpdate", id, query={"version": version}, json_body=body, decode=_none)


def delete(id: str) -> Call[None]:
    """Remove a config; one in use by a service is a `Conflict` — ``DELETE /configs/{id}``."""
    return Call("ConfigDelete", id, decode=_none)
