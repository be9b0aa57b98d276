"""Containers: list (more operations arrive with the containers issue)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from engineapi import models
from engineapi.api._call import Call, Filters, decode_list, encode_filters

if TYPE_CHECKING:
    from engineapi.models import ContainerSummary

__all__ = ["list"]


def list(
    *,
    all: bool = False,
    limit: int | None = None,
    size: bool = False,
    filters: Filters | None = None,
) -> Call[builtins.list[ContainerSummary]]:
    """Containers, running ones only unless `all` — ``GET /containers/json``.

    `limit` returns the most recently created ones (stopped included); `size` adds
    ``SizeRw``/``SizeRootFs`` (slow); `filters` as the CLI's ``docker ps --filter``.
    """
    return Call(
        "ContainerList",
        "GET",
        "/containers/json",
        query={
            "all": all or None,
            "limit": limit,
            "size": size or None,
            "filters": encode_filters(filters),
        },
        decode=decode_list(models.ContainerSummary),
    )
