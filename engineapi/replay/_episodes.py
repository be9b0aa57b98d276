"""`EpisodeTransport`: replay what the cassette has, record what it has not (``new_episodes``).

Each connection starts replayed. When a request matches no recorded exchange the connection
goes live at that request boundary: a connection to the engine is opened through a recording
tap, the request's bytes are sent there, and the rest of that connection is live and recorded.
(A client sends a request on a connection only after reading the previous answer whole, so the
bytes written since the last read are exactly the request.) `save()` writes the exchanges in the
order this run made them — the recorded ones as they were, the new ones scrubbed; recorded
exchanges this run did not use are dropped, so the cassette replays strictly afterwards.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from engineapi.errors import RecordingError
from engineapi.replay._cassette import Cassette, Exchange, Request
from engineapi.replay._match import Conversation, Player
from engineapi.replay._record import AsyncRecordingStream, RecordingStream, RecordingTransport, _Tap
from engineapi.replay._replay import PATIENCE, AsyncReplayStream, ReplayStream
from engineapi.replay._scrub import Scrubber

if TYPE_CHECKING:
    from engineapi.transports.base import Transport

__all__ = ["EpisodeTransport"]


class _GoLive(Exception):
    """The request is new: the connection goes to the live engine."""


class _EpisodePlayer(Player):
    def __init__(self, transport: EpisodeTransport, cassette: Cassette, **options: object) -> None:
        super().__init__(cassette, transport.scrubber, lock=threading.Lock(), **options)  # type: ignore[arg-type]
        self._transport = transport

    def take(self, request: Request) -> Exchange:
        exchange = self.find(request)
        if exchange is None:
            raise _GoLive
        self._transport._sequence_add(False, exchange)
        return exchange


class EpisodeTransport(RecordingTransport):
    """Replays `cassette` and records, through `inner` (the live engine), what it lacks."""

    def __init__(
        self,
        inner: Transport,
        cassette: Cassette,
        scrubber: Scrubber | None = None,
        *,
        order: str = "strict",
        engine: str | None = None,
        volatile: list[str] | tuple[str, ...] = (),
    ) -> None:
        super().__init__(inner, Cassette(path=cassette.path), scrubber, engine=engine)
        self.recorded = cassette
        self.volatile = list(dict.fromkeys([*cassette.volatile, *volatile]))
        self.player = _EpisodePlayer(self, cassette, order=order)
        self.sequence: list[tuple[bool, Exchange]] = []

    def connect(self, timeout: float | None) -> EpisodeStream:  # type: ignore[override]
        return EpisodeStream(self, timeout)

    async def aconnect(self, timeout: float | None) -> AsyncEpisodeStream:  # type: ignore[override]
        return AsyncEpisodeStream(self, timeout)

    def _sequence_add(self, new: bool, exchange: Exchange) -> None:
        with self._lock:
            self.sequence.append((new, exchange))

    def _add(self, exchange: Exchange) -> None:
        super()._add(exchange)
        self._sequence_add(True, exchange)

    def _drop(self, exchange: Exchange) -> None:
        super()._drop(exchange)
        with self._lock:
            self.sequence = [(n, e) for n, e in self.sequence if e is not exchange]

    @property
    def new_exchanges(self) -> int:
        return sum(1 for new, _ in self.sequence if new)

    def save(self, *, negotiated: bool = True, host: str | None = None) -> Path:
        """Write the cassette: this run's exchanges in order, the new ones scrubbed."""
        if self.problems:
            raise RecordingError("; ".join(self.problems))
        with self._lock:
            exchanges = [self.scrubber.exchange(e) if new else e for new, e in self.sequence]
        cassette = Cassette(self.recorded.meta, exchanges, self.volatile, self.recorded.path)
        return cassette.save()


class EpisodeStream:
    """A connection replayed until a request is new, then live (and recorded)."""

    def __init__(self, transport: EpisodeTransport, timeout: float | None) -> None:
        self._transport = transport
        self._timeout = timeout
        self._replay = ReplayStream(Conversation(transport.player), PATIENCE)
        self._live: RecordingStream | None = None
        self._pending = bytearray()

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        if self._live is not None:
            return self._live.read(max_bytes, timeout)
        self._pending.clear()
        return self._replay.read(max_bytes, timeout)

    def write(self, data: bytes, timeout: float | None) -> None:
        if self._live is not None:
            self._live.write(data, timeout)
            return
        self._pending += data
        try:
            self._replay.write(data, timeout)
        except _GoLive:
            transport = self._transport
            self._live = RecordingStream(transport.inner.connect(self._timeout), _Tap(transport))
            self._replay.close()
            self._live.write(bytes(self._pending), timeout)
            self._pending.clear()

    def close_write(self) -> None:
        (self._live or self._replay).close_write()

    def close(self) -> None:
        self._replay.close()
        if self._live is not None:
            self._live.close()

    def is_readable(self) -> bool:
        return (self._live or self._replay).is_readable()


class AsyncEpisodeStream:
    """The asyncio twin of `EpisodeStream`."""

    def __init__(self, transport: EpisodeTransport, timeout: float | None) -> None:
        self._transport = transport
        self._timeout = timeout
        self._replay = AsyncReplayStream(Conversation(transport.player), PATIENCE)
        self._live: AsyncRecordingStream | None = None
        self._pending = bytearray()

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        if self._live is not None:
            return await self._live.read(max_bytes, timeout)
        self._pending.clear()
        return await self._replay.read(max_bytes, timeout)

    async def write(self, data: bytes, timeout: float | None) -> None:
        if self._live is not None:
            await self._live.write(data, timeout)
            return
        self._pending += data
        try:
            await self._replay.write(data, timeout)
        except _GoLive:
            transport = self._transport
            inner = await transport.inner.aconnect(self._timeout)
            self._live = AsyncRecordingStream(inner, _Tap(transport))
            await self._replay.aclose()
            await self._live.write(bytes(self._pending), timeout)
            self._pending.clear()

    async def close_write(self) -> None:
        if self._live is not None:
            await self._live.close_write()
        else:
            await self._replay.close_write()

    async def aclose(self) -> None:
        await self._replay.aclose()
        if self._live is not None:
            await self._live.aclose()

    def is_readable(self) -> bool:
        if self._live is not None:
            return self._live.is_readable()
        return self._replay.is_readable()
