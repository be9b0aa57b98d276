"""Distribution: what a registry holds for an image reference, asked through the daemon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engineapi import models
from engineapi.api._call import Call
from engineapi.api.images import registry_auth_header

if TYPE_CHECKING:
    from engineapi.models import AuthConfig, DistributionInspect

__all__ = ["inspect"]


def inspect(
    name: str, *, auth: AuthConfig | Mapping[str, Any] | None = None
) -> Call[DistributionInspect]:
    """The manifest descriptor (digest, media type, size) and platforms of image `name` in
    its registry, without pulling it — ``GET /distribution/{name}/json``.

    The daemon asks the registry; `auth` (sent as ``X-Registry-Auth``) is for a private one.
    """
    return Call(
        "DistributionInspect",
        name,
        headers=registry_auth_header(auth) if auth is not None else (),
        decode=lambda r: models.DistributionInspect.from_wire(r.json()),
    )
