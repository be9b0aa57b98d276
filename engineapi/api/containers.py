"""Containers: list (more operations arrive with the containers issue)."""

from __future__ import annotations

import builtins

from engineapi.api._call import Call, Filters, encode_filters
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
        decode=lambda r: [ContainerSummary.from_wire(item) for item in r.json() or ()],
    )
