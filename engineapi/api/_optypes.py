"""The classes of the operations table (``_operations.py``, generated) and version helpers."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs

from engineapi._apiversion import MIN_API_VERSION, version_key
from engineapi.api._routes import ROUTES

ParamLocation = Literal["query", "path", "header", "body"]


@attrs.frozen(kw_only=True)
class Param:
    """One parameter of an operation, as the spec describes it."""

    name: str
    """The wire name: query key, path placeholder, header name or the body's spec name."""
    python_name: str
    """``name`` as a Python identifier (``fromImage`` → ``from_image``)."""
    location: ParamLocation
    type: str
    """``string``/``integer``/``boolean``/``array``; for a body, the model annotation
    (``ContainerCreateRequest``, ``list[PluginPrivilege]``) or ``binary``."""
    item_type: str | None = None
    """The type of an array's items."""
    collection_format: str | None = None
    """How an array is sent: ``csv`` (one value, commas) or ``multi`` (the key repeated)."""
    required: bool = False
    since: str = "1.41"
    """The first API version whose spec has the parameter."""
    until: str | None = None
    """The last API version whose spec has it, if newer specs dropped it."""
    deprecated: bool = False
    enum: tuple[object, ...] | None = None
    default: object = None
    description: str = ""
    """The first sentence of the spec's description."""

    def available_in(self, version: str) -> bool:
        """Whether a daemon speaking API *version* knows this parameter (per the specs)."""
        v = version_key(version)
        return version_key(self.since) <= v and (self.until is None or v <= version_key(self.until))


@attrs.frozen(kw_only=True, eq=False)
class Operation:
    """One Engine API operation (compared by identity: each exists once, in the table)."""

    operation_id: str
    tag: str
    """The spec's first tag (``Container``)."""
    namespace: str
    """The client namespace (``containers``)."""
    method_name: str
    """The method in that namespace (``list``)."""
    http_method: str
    path: str
    """The path template, without the version prefix (``/containers/{id}/json``)."""
    summary: str
    since: str
    """The first API version whose spec has the operation."""
    deprecated: bool
    params: Mapping[str, Param]
    """By wire name, in spec order."""
    request_model: str | None
    """The models class of the JSON body (of its items if ``request_is_list``)."""
    request_is_list: bool
    response_model: str | None
    """The models class of the JSON success response (of its items if ``response_is_list``)."""
    response_is_list: bool
    success_codes: tuple[int, ...]
    """The documented 1xx/2xx status codes."""
    produces: tuple[str, ...]
    consumes: tuple[str, ...]

    def params_in(self, location: ParamLocation) -> tuple[Param, ...]:
        """The parameters sent in one place (``"query"``, ``"path"``, …), in spec order."""
        return tuple(p for p in self.params.values() if p.location == location)

    def available_in(self, version: str) -> bool:
        """Whether a daemon speaking API *version* has this operation (per the specs)."""
        return version_key(self.since) <= version_key(version)


# -- the compact form ``_operations.py`` is written in ------------------------------------------


def make_param(
    name: str, location: ParamLocation, type: str, *, python_name: str | None = None, **facts: Any
) -> Param:
    """A `Param`; `python_name` defaults to the wire name (written only where they differ)."""
    return Param(name=name, location=location, type=type, python_name=python_name or name, **facts)


def make_operation(
    operation_id: str,
    tag: str,
    place: str,
    summary: str,
    *,
    since: str = MIN_API_VERSION,
    deprecated: bool = False,
    request_model: str | None = None,
    request_is_list: bool = False,
    response_model: str | None = None,
    response_is_list: bool = False,
    success_codes: tuple[int, ...],
    produces: tuple[str, ...],
    consumes: tuple[str, ...],
    params: tuple[Param, ...] = (),
) -> Operation:
    """An `Operation` placed at ``"namespace.method"``; method and path from `ROUTES`."""
    namespace, method_name = place.split(".")
    http_method, path = ROUTES[operation_id]
    return Operation(
        operation_id=operation_id,
        tag=tag,
        namespace=namespace,
        method_name=method_name,
        http_method=http_method,
        path=path,
        summary=summary,
        since=since,
        deprecated=deprecated,
        params=MappingProxyType({p.name: p for p in params}),
        request_model=request_model,
        request_is_list=request_is_list,
        response_model=response_model,
        response_is_list=response_is_list,
        success_codes=success_codes,
        produces=produces,
        consumes=consumes,
    )


def operation_table(*operations: Operation) -> Mapping[str, Operation]:
    """The read-only table by operationId, in spec order."""
    return MappingProxyType({op.operation_id: op for op in operations})
