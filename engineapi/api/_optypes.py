"""The classes of the operations table (``_operations.py``, generated) and version helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from engineapi._apiversion import version_key

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
