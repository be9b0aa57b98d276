"""Per-layer progress of a pull, push or load, aggregated for display (sans-IO).

Feed each message of a progress stream to `ProgressTracker.feed()`; `layers` then holds the
latest state of every layer (in the order they first appeared), `total()` the bytes done and
known overall, and `render()` one text line per layer, ready for a terminal or a log::

    tracker = ProgressTracker()
    for message in client.images.pull("registry:5000/app:1"):
        tracker.feed(message)
        print("\\n".join(tracker.render()))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["LayerProgress", "ProgressTracker"]

_DONE = frozenset(
    {
        "pull complete",
        "already exists",
        "download complete",
        "pushed",
        "layer already exists",
        "mounted from",
        "loading layer",  # load reports no completion status; see `done` below
    }
)


@attrs.define
class LayerProgress:
    """What is known of one layer: its last status and byte counts (when the daemon sent any)."""

    id: str
    status: str = ""
    current: int | None = None
    total: int | None = None

    @property
    def done(self) -> bool:
        status = self.status.lower()
        if status.startswith("mounted from"):
            return True
        if status == "loading layer":
            return self.total is not None and self.current == self.total
        return status in _DONE

    @property
    def fraction(self) -> float | None:
        """0..1 when the layer's size is known, 1.0 once done."""
        if self.done:
            return 1.0
        if self.total and self.current is not None:
            return min(self.current / self.total, 1.0)
        return None


class ProgressTracker:
    """Aggregates progress messages (models or plain dicts) per layer id."""

    def __init__(self) -> None:
        self.layers: dict[str, LayerProgress] = {}
        #: Messages without a layer id (``Status: Downloaded newer image …``, digests).
        self.messages: list[str] = []

    def feed(self, message: object) -> None:
        """Take one message of a progress stream into account."""
        id_, status, current, total = _fields(message)
        if not id_:
            if status:
                self.messages.append(status)
            return
        layer = self.layers.get(id_)
        if layer is None:
            layer = self.layers[id_] = LayerProgress(id_)
        if status:
            if status != layer.status:  # a new phase (Downloading → Extracting) restarts counts
                layer.current = None
                layer.total = None
            layer.status = status
        if current is not None:
            layer.current = current
        if total is not None and total > 0:
            layer.total = total

    def total(self) -> tuple[int, int]:
        """(bytes done, bytes known) over the layers whose size the daemon reported."""
        done = known = 0
        for layer in self.layers.values():
            if layer.total:
                known += layer.total
                done += layer.total if layer.done else min(layer.current or 0, layer.total)
        return done, known

    @property
    def complete(self) -> bool:
        return bool(self.layers) and all(layer.done for layer in self.layers.values())

    def render(self, width: int = 30) -> list[str]:
        """One line per layer: ``<id>: <status> [=====>     ] 1.2 MB/3.4 MB``."""
        lines = []
        for layer in self.layers.values():
            line = f"{layer.id}: {layer.status}"
            fraction = layer.fraction
            if fraction is not None and not layer.done:
                filled = int(fraction * width)
                bar = "=" * max(filled - 1, 0) + (">" if filled else "") + " " * (width - filled)
                line += f" [{bar}] {_size(layer.current or 0)}/{_size(layer.total or 0)}"
            lines.append(line)
        return lines


def _fields(message: object) -> tuple[str, str, int | None, int | None]:
    """id, status, current, total of a message; a field of another type than the API says
    (a daemon's bug, a proxy's mangling) counts as absent, never as a crash."""
    if isinstance(message, Mapping):
        detail: Any = message.get("progressDetail")
        if not isinstance(detail, Mapping):
            detail = {}
        return (
            _text(message.get("id")),
            _text(message.get("status")),
            _count(detail.get("current")),
            _count(detail.get("total")),
        )
    detail = getattr(message, "progress_detail", None)
    # PushImageInfo has no `id` in the spec, though the daemon sends one: it is in `extra`.
    extra = getattr(message, "extra", None)
    if not isinstance(extra, Mapping):
        extra = {}
    return (
        _text(getattr(message, "id", None) or extra.get("id")),
        _text(getattr(message, "status", None)),
        _count(getattr(detail, "current", None)) if detail is not None else None,
        _count(getattr(detail, "total", None)) if detail is not None else None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> int | None:
    """A byte count: a non-negative int (a float is truncated), anything else is absent."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        return None
    return int(value)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
