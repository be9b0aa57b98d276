"""How long engineapi waits, split the way a Docker client needs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import attrs

__all__ = ["ClientTimeouts", "Timeouts"]


@attrs.frozen
class Timeouts:
    """Timeouts in seconds; ``None`` waits forever.

    There is deliberately no whole-body timeout here: a log or event stream may rightly run
    for hours, so a stream is bounded by how long it may stay silent (`read`), or as a whole
    only when asked, by its method's ``deadline=`` (`engineapi.errors.DeadlineExceeded`).
    """

    #: Opening the connection (and the TLS handshake).
    connect: float | None = 10.0
    #: From the end of the request to the response head. Operations that legitimately block
    #: (container wait, stop with a grace period) extend it for their own call.
    response: float | None = 120.0
    #: Longest silence between two pieces of a response body or stream.
    read: float | None = None
    #: Waiting for a free connection when all ``max_connections`` are in use (by open streams,
    #: most often): `engineapi.errors.PoolTimeout` after that long.
    pool: float | None = 30.0

    @classmethod
    def coerce(cls, value: Timeouts | float | None) -> Timeouts:
        """A `Timeouts` from a number (connect and response) or ``None`` (the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        return cls(connect=float(value), response=float(value))


@attrs.frozen
class ClientTimeouts(Timeouts):
    """A client's timeouts (``client.timeouts``): read them as a `Timeouts`, or call them to
    override some for a block — ``with client.timeouts(read=5): ...`` (or
    ``client.timeouts(Timeouts(...))``). The override belongs to the current thread or
    asyncio task (a `contextvars` value): other tasks using the same client keep theirs."""

    _scope: ContextVar[Timeouts | None] | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False
    )

    @contextmanager
    def __call__(
        self, value: Timeouts | float | None = None, /, **changes: float | None
    ) -> Iterator[Timeouts]:
        if self._scope is None:
            raise TypeError("only a client's timeouts can be scoped")
        base = Timeouts.coerce(value) if value is not None else _plain(self)
        scoped = attrs.evolve(base, **changes)
        token = self._scope.set(scoped)
        try:
            yield scoped
        finally:
            self._scope.reset(token)


def _plain(timeouts: Timeouts) -> Timeouts:
    return Timeouts(timeouts.connect, timeouts.response, timeouts.read, timeouts.pool)
