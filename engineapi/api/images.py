"""Images: list (more operations arrive with the images issue)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from engineapi import models
from engineapi.api._call import Call, Filters, decode_list, encode_filters

if TYPE_CHECKING:
    from engineapi.models import ImageSummary

__all__ = ["list"]


def list(
    *,
    all: bool = False,
    filters: Filters | None = None,
    shared_size: bool = False,
    digests: bool = False,
    manifests: bool = False,
    identity: bool = False,
) -> Call[builtins.list[ImageSummary]]:
    """Images, without intermediate layers unless `all` — ``GET /images/json``.

    `shared_size` adds how much each image shares with others, `digests` the repo digests,
    `manifests` the per-platform manifests and `identity` where each came from (both need a
    newer API; an older one raises `APIVersionError` before sending); `filters` as
    ``docker images --filter``.
    """
    return Call(
        "ImageList",
        "GET",
        "/images/json",
        query={
            "all": all or None,
            "filters": encode_filters(filters),
            "shared-size": shared_size or None,
            "digests": digests or None,
            "manifests": manifests or None,
            "identity": identity or None,
        },
        decode=decode_list(models.ImageSummary),
    )
