"""The recorder on its own, offline: against a scripted peer and with bytes it cannot parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from engineapi import Client
from engineapi.replay import Cassette, RecordingError, RecordingTransport, ReplayTransport
from engineapi.replay._record import _Tap
from engineapi.transports.unix import UnixTransport
from tests.unit.test_pool import ScriptedPeer, ping_call


def test_a_request_the_daemon_dropped_is_not_recorded(tmp_path: Path) -> None:
    # The peer closes the kept-alive connection on the second request; the pool retries it.
    peer = ScriptedPeer(tmp_path / "peer.sock", [["answer", "drop"], ["answer"]])
    try:
        recorder = RecordingTransport(
            UnixTransport(str(tmp_path / "peer.sock")), tmp_path / "c.json"
        )
        with Client(f"unix://{tmp_path}/peer.sock", version="1.51", transport=recorder) as client:
            assert client.send(ping_call()) == b"OK"
            assert client.send(ping_call()) == b"OK"
    finally:
        peer.close()
    assert len(peer.requests) == 3
    path = recorder.save(negotiated=False)
    cassette = Cassette.load(path)
    assert [e.request.path for e in cassette.exchanges] == ["/_ping", "/_ping"]
    assert not cassette.meta.negotiated  # unversioned calls only: no API version to note
    # Replayed, the two requests find their two answers.
    replay = ReplayTransport(path)
    with Client(f"unix://{tmp_path}/peer.sock", version="1.51", transport=replay) as client:
        assert client.send(ping_call()) == client.send(ping_call()) == b"OK"
    replay.check()


def test_bytes_the_recorder_cannot_parse_make_the_cassette_unreliable(tmp_path: Path) -> None:
    recorder = RecordingTransport(UnixTransport("/nonexistent.sock"), tmp_path / "c.json")
    tap = _Tap(recorder)
    tap.client_data(b"NOT HTTP\r\n\r\n")  # never raises into the client's I/O
    with pytest.raises(RecordingError, match="malformed request line"):
        recorder.save()
    assert not (tmp_path / "c.json").exists()


def test_a_client_that_gave_up_waiting_leaves_an_unanswered_exchange(tmp_path: Path) -> None:
    recorder = RecordingTransport(UnixTransport("/nonexistent.sock"), tmp_path / "c.json")
    tap = _Tap(recorder)
    tap.client_data(b"POST /v1.51/containers/x/stop?t=3 HTTP/1.1\r\nHost: docker\r\n\r\n")
    tap.close()
    cassette = recorder.result()
    assert len(cassette.exchanges) == 1
    assert cassette.exchanges[0].response is None
    assert cassette.exchanges[0].request.query == [("t", "3")]
    assert cassette.meta.api_version == "1.51"
