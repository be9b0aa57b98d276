"""Our scenarios, replayed offline from ``fixtures/<engine>/`` (recorded live with
``ENGINEAPI_RECORD=1``): system, listing, containers and exec, hijacked attach with half-close,
events, streamed request bodies, raw body streams, scrubbed credentials — sync and async."""

from __future__ import annotations

from pathlib import Path

import pytest

from engineapi import AsyncClient, Client
from engineapi.replay import ISOLATED_ENVIRON, RecordingTransport, ReplayTransport, Scrubber
from tests.replay.conftest import FIXTURES, open_session, run, run_scenario
from tests.replay.scenarios import API_VERSIONS, SCENARIOS, cases


@pytest.mark.parametrize(("engine_name", "name"), cases())
def test_scenario(
    engine_name: str, name: str, record_mode: bool, request: pytest.FixtureRequest
) -> None:
    if not record_mode:
        request.getfixturevalue("no_network")
    scenario = SCENARIOS[name]
    session = open_session(engine_name, scenario, record=record_mode)
    version = run_scenario(session, scenario)
    # Replay negotiated what the recording negotiated, and the cassette says so.
    assert version == API_VERSIONS[engine_name]
    transport = session.transport
    if isinstance(transport, ReplayTransport):
        meta = transport.cassette.meta
        assert meta.engine == engine_name
        assert meta.api_version == version
        assert meta.negotiated


@pytest.mark.parametrize(("engine_name", "name"), cases())
def test_recording_a_replay_gives_the_same_cassette(
    engine_name: str, name: str, tmp_path: Path, no_network: None
) -> None:
    """The recorder, checked offline: recording a replayed scenario reproduces its cassette."""
    scenario = SCENARIOS[name]
    scrubber = Scrubber(scenario.patterns, secrets=scenario.secrets)
    replay = ReplayTransport(FIXTURES / engine_name / f"{name}.json", scrubber=scrubber)
    recorder = RecordingTransport(replay, tmp_path / "again.json", scrubber, engine=engine_name)
    host = replay.cassette.meta.host
    run(
        scenario,
        lambda: Client(host, transport=recorder, environ=ISOLATED_ENVIRON),
        lambda: AsyncClient(host, transport=recorder, environ=ISOLATED_ENVIRON),
    )
    replay.check()
    again = recorder.result(host=host)
    assert again.exchanges == replay.cassette.exchanges
    original = replay.cassette.meta
    assert (again.meta.engine, again.meta.server, again.meta.api_version, again.meta.host) == (
        original.engine,
        original.server,
        original.api_version,
        original.host,
    )
