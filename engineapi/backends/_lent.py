"""What a backend has lent out, so that closing the backend ends it all."""

from __future__ import annotations

import weakref
from typing import Protocol

__all__ = ["Lent"]


class _Cuttable(Protocol):
    def cut(self) -> None:
        """Wake whoever reads this, in another thread or task (shut its socket down)."""


class Lent:
    """The responses and hijacked streams a backend handed out and may still be read: closing
    the backend (`cut_all`) wakes each reader, which then raises `ConnectionLost` saying the
    client was closed (it checks `closed`)."""

    __slots__ = ("closed", "items")

    def __init__(self) -> None:
        self.closed = False
        self.items: weakref.WeakSet[_Cuttable] = weakref.WeakSet()

    def cut_all(self) -> None:
        self.closed = True
        for item in list(self.items):
            item.cut()
