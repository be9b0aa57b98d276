"""Secrets: sensitive data a swarm hands to services — the Secret tag's operations.

The API carries a secret's data base64-encoded; the builders take bytes (or text) and
encode them.
"""

from __future__ import annotations

import base64
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
from engineapi.api._update import own, relabelled

if TYPE_CHECKING:
    from engineapi.models import Driver, IDResponse, Secret, SecretSpec

__all__ = ["create", "delete", "inspect", "list", "update"]


def _none(reply: Reply) -> None:
    return None


def encode_data(data: bytes | str) -> str:
    """Secret or config data as the API carries it: base64 (text is encoded as UTF-8 first)."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    return base64.b64encode(raw).decode("ascii")


def spec_id_key(data: Any) -> Any:
    """Docker's ``{"ID": …}`` as the spec's ``{"Id": …}`` (anything else unchanged)."""
    if isinstance(data, dict) and "Id" not in data and "ID" in data:
        data = {"Id": data["ID"], **{k: v for k, v in data.items() if k != "ID"}}
    return data


def decode_id(reply: Reply) -> IDResponse:
    """The created object's ID: Docker sends ``{"ID": …}`` where the spec says ``Id``."""
    return models.IDResponse.from_wire(spec_id_key(reply.json()))


def spec_body(
    spec: Any,
    *,
    model: type[models.SecretSpec] | type[models.ConfigSpec] = models.SecretSpec,
    name: str | None = None,
    data: bytes | str | None = None,
    labels: Mapping[str, str] | None = None,
    **drivers: Any,
) -> dict[str, Any]:
    """A secret or config spec as JSON: `spec` (a model, a mapping or None) with the keywords
    given laid over it. `data` is base64-encoded here, and so is a bytes ``Data`` in `spec`;
    `drivers` (``Driver=…``, ``Templating=…``) are models or mappings."""
    body: dict[str, Any] = to_body(spec, model) if spec is not None else {}
    if name is not None:
        body["Name"] = name
    if labels is not None:
        body["Labels"] = dict(labels)
    for key, value in drivers.items():
        if value is not None:
            body[key] = to_body(value, models.Driver)
    if data is not None:
        body["Data"] = encode_data(data)
    elif isinstance(body.get("Data"), bytes | bytearray | memoryview):
        body["Data"] = encode_data(bytes(body["Data"]))
    return body


def list(*, filters: Filters | None = None) -> Call[builtins.list[Secret]]:
    """Secrets, without their data — ``GET /secrets`` (swarm managers; Podman has its own).

    `filters`: ``{"name": [...]}``, ``{"label": ["team=a"]}``, ``{"id": [...]}``,
    ``{"names": [...]}``.
    """
    return Call(
        "SecretList",
        query={"filters": encode_filters(filters)},
        decode=decode_list(models.Secret),
    )


def create(
    spec: SecretSpec | Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    data: bytes | str | None = None,
    labels: Mapping[str, str] | None = None,
    driver: Driver | Mapping[str, Any] | None = None,
    templating: Driver | Mapping[str, Any] | None = None,
) -> Call[IDResponse]:
    """Create a secret; its ID — ``POST /secrets/create``.

    ``create(name="db-password", data=b"s3cret")``: `data` is bytes (or text, sent as UTF-8)
    and is base64-encoded here. A `spec` (``SecretSpec`` or a mapping with the API's keys,
    its ``Data`` already base64 — or bytes, encoded here) may be given instead; keywords
    override its fields. `driver` names an external secret store, `templating` a template
    driver (``Driver(name="golang")``).
    """
    body = spec_body(
        spec, name=name, data=data, labels=labels, Driver=driver, Templating=templating
    )
    return Call(
        "SecretCreate",
        json_body=body,
        decode=decode_id,
    )


def inspect(id: str) -> Call[Secret]:
    """A secret's spec (without the data), version and dates — ``GET /secrets/{id}``."""
    return Call("SecretInspect", id, decode=lambda r: models.Secret.from_wire(r.json()))


def update(
    id: str,
    spec: SecretSpec | Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
    labels: Mapping[str, str | None] | None = None,
) -> OperationFlow[None]:
    """Change a secret's labels (nothing else can change) — ``POST /secrets/{id}/update``
    (after ``GET /secrets/{id}`` unless the whole `spec` and its `version` are given).

    ``update(id, labels={"team": "b", "old": None})`` reads the secret, lays the labels over
    its own (None removes one) and sends its spec with the version it read, retried when
    refused as "out of sequence". ``update(id, spec, version=…)`` sends `spec` as it is
    (its whole current spec, ``inspect(id).spec``, with the new labels); a `version` you give
    is never retried.
    """
    given = own(spec_body(spec)) if spec is not None else None
    return relabelled(
        inspect(id), given, version, labels, lambda body, at: _update_call(id, body, at)
    )


def _update_call(id: str, body: Any, version: int) -> Call[None]:
    return Call("SecretUpdate", id, query={"version": version}, json_body=body, decode=_none)


def delete(id: str) -> Call[None]:
    """Remove a secret; one in use by a service is a `Conflict` — ``DELETE /secrets/{id}``."""
    return Call("SecretDelete", id, decode=_none)
