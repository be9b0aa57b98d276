"""Tasks: the containers a swarm service runs, one per slot — the Task tag's operations."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    OutputCall,
    Reply,
    Timestamp,
    decode_list,
    encode_filters,
)
from engineapi.api.services import swarm_logs_query

if TYPE_CHECKING:
    from engineapi.models import Task

__all__ = ["inspect", "list", "logs"]


def _task_tty(reply: Reply) -> bool:
    spec = reply.json().get("Spec") or {}
    return bool((spec.get("ContainerSpec") or {}).get("TTY"))


def list(*, filters: Filters | None = None) -> Call[builtins.list[Task]]:
    """The swarm's tasks — ``GET /tasks`` (managers only).

    `filters`: ``{"service": [name or id]}``, ``{"desired-state": ["running"]}``,
    ``{"node": [...]}``, ``{"label": [...]}``, ``{"id": [...]}``, ``{"name": [...]}``.
    """
    return Call(
        "TaskList",
        query={"filters": encode_filters(filters)},
        decode=decode_list(models.Task),
    )


def inspect(id: str) -> Call[Task]:
    """A task: its spec, node, slot, desired state and status (with the container ID) —
    ``GET /tasks/{id}``."""
    return Call("TaskInspect", id, decode=lambda r: models.Task.from_wire(r.json()))


def logs(
    id: str,
    *,
    stdout: bool = True,
    stderr: bool = True,
    follow: bool = False,
    since: Timestamp | None = None,
    timestamps: bool = False,
    tail: int | str | None = None,
    details: bool = False,
) -> OutputCall:
    """One task's output, as ``(stream, bytes)`` frames — ``GET /tasks/{id}/logs``.

    The options are those of `services.logs`; a TTY task's output is raw.
    """
    return OutputCall(
        "TaskLogs",
        id,
        query=swarm_logs_query(stdout, stderr, follow, since, timestamps, tail, details),
        tty_probe=Call("TaskInspect", id, decode=_task_tty),
    )
