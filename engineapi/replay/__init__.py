"""Recorded fixtures: record a session against a live engine, replay it with no daemon.

The seam is the transport: `RecordingTransport` wraps any transport and writes down the bytes
of every exchange (streams and hijacked connections included) into a `Cassette`, a reviewable
JSON file; `ReplayTransport` serves that file back to the sync or the async client. Secrets are
scrubbed before anything is written (`Scrubber`); a request the cassette did not record raises
`ReplayMismatch` with a diff. `drift()` compares two recordings, volatile values aside.
A cassette recorded on one machine replays on another: nothing of the replaying machine is read
(`ISOLATED_ENVIRON`: no ``DOCKER_HOST``, docker context, credentials or helper), tar request bodies (build contexts, archives) match by
content whatever their mtimes and owners, and the drift check blanks `HOST_FACTS`.

    import engineapi.replay

    with engineapi.replay.client("fixtures/ping.json", mode="record") as client:
        client.system.ping()                      # live; the file is written at the end
    with engineapi.replay.client("fixtures/ping.json") as client:
        client.system.ping()                      # replayed, no daemon needed

The pytest plugin (`engineapi.replay.pytest_plugin`, registered as an entry point) gives the
fixtures ``engine_client`` and ``async_engine_client``. Not imported by ``import engineapi``.
"""

from engineapi.replay._cassette import (
    Cassette,
    CassetteError,
    Exchange,
    HijackStep,
    Meta,
    Request,
    Response,
)
from engineapi.replay._drift import HOST_FACTS, drift, normalise
from engineapi.replay._match import ReplayMismatch
from engineapi.replay._record import RecordingError, RecordingTransport
from engineapi.replay._replay import ReplayTransport
from engineapi.replay._scrub import PLACEHOLDER, Scrubber
from engineapi.replay._session import (
    ISOLATED_ENVIRON,
    RECORD_ENV,
    Session,
    async_client,
    client,
    record_requested,
)

__all__ = [
    "HOST_FACTS",
    "ISOLATED_ENVIRON",
    "PLACEHOLDER",
    "RECORD_ENV",
    "Cassette",
    "CassetteError",
    "Exchange",
    "HijackStep",
    "Meta",
    "RecordingError",
    "RecordingTransport",
    "ReplayMismatch",
    "ReplayTransport",
    "Request",
    "Response",
    "Scrubber",
    "Session",
    "async_client",
    "client",
    "drift",
    "normalise",
    "record_requested",
]
