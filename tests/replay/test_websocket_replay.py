"""A WebSocket attach replays although the client picks a new random key and new frame masks
every time: the replayed handshake answers the new key, client frames compare unmasked."""

from __future__ import annotations

from pathlib import Path

import pytest

import engineapi.replay
from engineapi.replay._match import unmask_client_frames
from engineapi.streams.websocket import WebSocketConnection
from tests.conftest import Engine


def test_unmasking_keeps_lengths_and_ignores_the_key() -> None:
    first = WebSocketConnection().send_binary(b"same message") + WebSocketConnection().send_text(
        "x" * 300
    )
    second = WebSocketConnection().send_binary(b"same message") + WebSocketConnection().send_text(
        "x" * 300
    )
    assert first != second  # random masks
    assert unmask_client_frames(first) == unmask_client_frames(second)
    assert len(unmask_client_frames(first)) == len(first)
    cut = first[:9]
    assert unmask_client_frames(first).startswith(unmask_client_frames(cut))


def test_websocket_attach_records_and_replays(engine: Engine, tmp_path: Path) -> None:
    if engine.is_podman:
        pytest.skip("Podman 4.3's compat API has no /containers/{id}/attach/ws")
    cassette = tmp_path / "ws.json"

    def scenario(client: engineapi.Client) -> bytes:
        cid = client.containers.create(
            {"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True},
            name="engineapi-replay-ws",
        ).id
        assert cid
        try:
            with client.containers.attach_websocket(cid, stdin=True) as ws:
                client.containers.start(cid)
                ws.write(b"replayed websocket\n")
                received = b""
                while b"\n" not in received:
                    received += ws.read(timeout=10)
            return received
        finally:
            client.containers.delete(cid, force=True)

    with engineapi.replay.client(cassette, mode="record", host=engine.host) as client:
        live = scenario(client)
    with engineapi.replay.client(cassette, mode="replay") as client:
        replayed = scenario(client)
    assert live == replayed == b"replayed websocket\n"
