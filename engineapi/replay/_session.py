"""Sessions: a client that records against a live engine or replays a cassette, one switch apart.

    with engineapi.replay.client("fixtures/ping.json") as client:   # replay (the default)
        client.system.ping()

    ENGINEAPI_RECORD=1 python …                                      # record: live, file written

Record mode talks to the engine the normal resolution finds (``host=``, ``DOCKER_HOST``, the
docker context, …) and writes the cassette when the block ends without an exception. Replay mode
needs no daemon: the client is built from the cassette's metadata (host, API version pinned
or negotiated as recorded) and ignores ``DOCKER_*`` variables; at the end of the block it
raises `ReplayMismatch` if any request did not match or any recorded exchange was not used.
"""

from __future__ import annotations

import os
import types
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from engineapi.replay._cassette import Cassette
from engineapi.replay._record import RecordingTransport
from engineapi.replay._replay import PATIENCE, ReplayTransport
from engineapi.replay._scrub import Scrubber

if TYPE_CHECKING:
    from engineapi._async.client import AsyncClient
    from engineapi._sync.client import Client
    from engineapi.config import TLSConfig

__all__ = ["RECORD_ENV", "Session", "async_client", "client", "record_requested"]

#: Set to 1 to record instead of replaying.
RECORD_ENV = "ENGINEAPI_RECORD"
#: ``"new_episodes"``: replay what the cassette has, record the rest against the live engine.
MODES = ("record", "replay", "new_episodes")
#: Where replay pretends to be when the cassette names no host.
_DEFAULT_HOST = "unix:///var/run/docker.sock"

#: The environment of a replaying client: nothing of the machine it runs on. No docker
#: configuration (credentials, contexts) is found and no credential helper is run, so a
#: cassette replays the same anywhere (``/nonexistent`` is the conventional home of no one).
ISOLATED_ENVIRON: Mapping[str, str] = types.MappingProxyType(
    {"HOME": "/nonexistent", "DOCKER_CONFIG": "/nonexistent/.docker", "PATH": ""}
)


def record_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``ENGINEAPI_RECORD`` asks for recording (1, true, yes, on)."""
    value = (os.environ if environ is None else environ).get(RECORD_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


class Session:
    """One recording or replay: the transport, the cassette path, and `finish()`.

    `mode` is ``"record"``, ``"replay"``, ``"new_episodes"`` (replay what the cassette has,
    record the rest live and rewrite the cassette) or ``None`` (record if ``ENGINEAPI_RECORD``
    is set).
    Recording options: `host`, `tls`, `version`, `environ` as for `engineapi.Client`, and
    `engine` (a name for the metadata). Both modes: `scrubber` (or `secrets` / `patterns` to
    build one), `volatile` rules for the drift check; replay: `order`, `patience`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: str | None = None,
        *,
        host: str | None = None,
        tls: TLSConfig | bool | None = None,
        version: str | None = None,
        environ: Mapping[str, str] | None = None,
        engine: str | None = None,
        scrubber: Scrubber | None = None,
        secrets: Iterable[str] = (),
        patterns: Iterable[str] = (),
        volatile: Iterable[str] = (),
        order: str = "strict",
        patience: float = PATIENCE,
    ) -> None:
        if mode is None:
            mode = "record" if record_requested() else "replay"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} or None, not {mode!r}")
        self.path = Path(path)
        self.mode = mode
        if scrubber is None:
            scrubber = Scrubber(patterns, secrets=secrets)
        self.scrubber = scrubber
        self.transport: RecordingTransport | ReplayTransport  # or an EpisodeTransport
        if mode == "record":
            from engineapi.config import resolve_api_version, resolve_endpoint
            from engineapi.transports import transport_for

            endpoint = resolve_endpoint(host, tls, environ=environ)
            recorder = RecordingTransport(
                transport_for(endpoint),
                Cassette(path=self.path),
                scrubber,
                engine=engine,
                volatile=volatile,
            )
            recorder.pinned_version = resolve_api_version(version, environ)
            self.transport = recorder
            self._host = endpoint.host.url
            self._client_options: dict[str, object] = {
                "host": host,
                "tls": tls,
                "version": version,
                "environ": environ,
            }
        else:
            cassette = Cassette.load(self.path)
            meta = cassette.meta
            if mode == "new_episodes":
                from engineapi.config import resolve_endpoint
                from engineapi.replay._episodes import EpisodeTransport
                from engineapi.transports import transport_for

                self.transport = EpisodeTransport(
                    transport_for(resolve_endpoint(host, tls, environ=environ)),
                    cassette,
                    scrubber,
                    order=order,
                    engine=engine,
                    volatile=tuple(volatile),
                )
            else:
                self.transport = ReplayTransport(
                    cassette, scrubber=scrubber, order=order, patience=patience
                )
            self._host = meta.host or _DEFAULT_HOST
            self._client_options = {
                "host": self._host,
                "version": None if meta.negotiated else meta.api_version,
                "environ": ISOLATED_ENVIRON,
            }

    @property
    def recording(self) -> bool:
        return self.mode == "record"

    def client(self, **options: object) -> Client:
        """A new `engineapi.Client` on this session's transport."""
        from engineapi._sync.client import Client

        return Client(**{**self._client_options, **options}, transport=self.transport)  # type: ignore[arg-type]

    def async_client(self, **options: object) -> AsyncClient:
        """A new `engineapi.AsyncClient` on this session's transport."""
        from engineapi._async.client import AsyncClient

        return AsyncClient(**{**self._client_options, **options}, transport=self.transport)  # type: ignore[arg-type]

    def finish(self, *, ok: bool = True) -> None:
        """End the session: record mode writes the cassette, replay mode checks it was all used.

        With `ok` false (the code under test failed) nothing is written or checked.
        """
        if not ok:
            return
        transport = self.transport
        from engineapi.replay._episodes import EpisodeTransport

        if isinstance(transport, EpisodeTransport):
            transport.player.check_mismatches()
            if transport.new_exchanges or transport.player.unused():
                transport.save()
        elif isinstance(transport, RecordingTransport):
            transport.save(negotiated=transport.pinned_version is None, host=self._host)
        else:
            transport.check()

    def __repr__(self) -> str:
        return f"<Session {self.mode} {self.path}>"


@contextmanager
def client(
    path: str | os.PathLike[str], mode: str | None = None, **options: object
) -> Iterator[Client]:
    """A `Client` that records to or replays `path`; see `Session` for `mode` and options."""
    session = Session(path, mode, **options)  # type: ignore[arg-type]
    ok = False
    the_client = session.client()
    try:
        yield the_client
        ok = True
    finally:
        the_client.close()
        session.finish(ok=ok)


@asynccontextmanager
async def async_client(
    path: str | os.PathLike[str], mode: str | None = None, **options: object
) -> AsyncIterator[AsyncClient]:
    """The `AsyncClient` twin of `client`."""
    session = Session(path, mode, **options)  # type: ignore[arg-type]
    ok = False
    the_client = session.async_client()
    try:
        yield the_client
        ok = True
    finally:
        await the_client.aclose()
        session.finish(ok=ok)
