"""The replay transport with hand-written cassettes: matching, diffs, streams, hijack, timeouts."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import engineapi.replay
from engineapi import AsyncClient, Client
from engineapi._sync.streams import RawStream
from engineapi.api._call import Call, RawCall
from engineapi.errors import TimeoutError
from engineapi.replay import (
    ISOLATED_ENVIRON,
    Cassette,
    Exchange,
    HijackStep,
    Meta,
    ReplayMismatch,
    ReplayTransport,
    Request,
    Response,
    Scrubber,
)

HEADERS = [("Api-Version", "1.51"), ("Server", "Docker/28.5.1 (linux)")]
PING = Exchange(Request("HEAD", "/_ping"), Response(200, "OK", [*HEADERS, ("Content-Length", "0")]))
VERSION = Exchange(
    Request("GET", "/version"),
    Response(200, "OK", HEADERS, body=b'{"Version":"28.5.1","ApiVersion":"1.51"}\n'),
)


def cassette(*exchanges: Exchange) -> Cassette:
    return Cassette(
        Meta(engine="test", api_version="1.51", host="unix:///replay.sock"), list(exchanges)
    )


def client_for(transport: ReplayTransport, **kwargs: Any) -> Client:
    return Client("unix:///replay.sock", transport=transport, environ=ISOLATED_ENVIRON, **kwargs)


def json_call(method: str, path: str, **kwargs: Any) -> Call[Any]:
    return Call(
        "Test", method=method, path=path, decode=lambda r: r.json() if r.body else None, **kwargs
    )


def test_sync_and_async_clients_replay_the_same_cassette() -> None:
    transport = ReplayTransport(cassette(PING, VERSION))
    with client_for(transport) as client:
        assert client.system.version().version == "28.5.1"
        assert client.api_version() == "1.51"
    transport.check()

    async def main() -> str | None:
        transport = ReplayTransport(cassette(PING, VERSION))
        async with AsyncClient(
            "unix:///replay.sock", transport=transport, environ=ISOLATED_ENVIRON
        ) as client:
            version = await client.system.version()
        transport.check()
        return version.version

    assert asyncio.run(main()) == "28.5.1"


CREATE = Exchange(
    Request(
        "POST",
        "/containers/create",
        [("name", "web")],
        body=b'{"Image":"busybox","Cmd":["true"]}',
    ),
    Response(201, "Created", HEADERS, body=b'{"Id":"abc","Warnings":[]}\n'),
)


def test_a_request_that_does_not_match_shows_expected_and_actual() -> None:
    transport = ReplayTransport(cassette(PING, CREATE))
    with client_for(transport) as client, pytest.raises(ReplayMismatch) as info:
        client.send(
            json_call(
                "POST",
                "/containers/create",
                query={"name": "db"},
                json_body={"Image": "alpine", "Cmd": ["true"]},
            )
        )
    message = str(info.value)
    assert "exchange 2 of 2 is next (strict order)" in message
    assert "expected: POST /containers/create?name=web" in message
    assert "actual:   POST /containers/create?name=db" in message
    assert '-  "Image": "busybox"' in message and '+  "Image": "alpine"' in message
    assert "-name=web" in message and "+name=db" in message
    assert info.value.expected.path == "/containers/create"
    with pytest.raises(ReplayMismatch, match="1 mismatch"):
        transport.check()  # reported at the end even if the code under test caught it


def test_json_bodies_match_as_values() -> None:
    transport = ReplayTransport(cassette(PING, CREATE))
    with client_for(transport) as client:
        # Same value, other key order: still the recorded request.
        call = json_call(
            "POST",
            "/containers/create",
            query={"name": "web"},
            json_body={"Cmd": ["true"], "Image": "busybox"},
        )
        assert client.send(call) == {"Id": "abc", "Warnings": []}
    transport.check()


def test_unused_exchanges_are_reported_at_the_end() -> None:
    transport = ReplayTransport(cassette(PING, VERSION, CREATE))
    with client_for(transport) as client:
        client.system.version()
    with pytest.raises(ReplayMismatch, match=r"1 recorded exchange\(s\).*never requested") as info:
        transport.check()
    assert "3. POST /containers/create?name=web" in str(info.value)


def test_a_request_beyond_the_end_of_the_cassette() -> None:
    transport = ReplayTransport(cassette(PING, VERSION))
    with client_for(transport) as client:
        client.system.version()
        with pytest.raises(ReplayMismatch, match="beyond the end.*all 2 recorded exchanges"):
            client.system.version()


def test_the_api_version_must_be_the_recorded_one() -> None:
    transport = ReplayTransport(cassette(VERSION))
    with client_for(transport, version="1.41") as client:
        with pytest.raises(ReplayMismatch, match="uses API version 1.41.*recorded with 1.51"):
            client.system.version()


def test_order_any_takes_the_first_matching_exchange() -> None:
    info = Exchange(Request("GET", "/info"), Response(200, "OK", HEADERS, body=b'{"Name":"n"}\n'))
    strict = ReplayTransport(cassette(PING, VERSION, info))
    with client_for(strict) as client, pytest.raises(ReplayMismatch):
        client.system.info()
    loose = ReplayTransport(cassette(PING, VERSION, info), order="any")
    with client_for(loose) as client:
        assert client.system.info().name == "n"
        assert client.system.version().version == "28.5.1"
    loose.check()


def events_exchange(*, complete: bool) -> Exchange:
    chunks = [
        b'{"Type":"container","Action":"create","time":1}\n',
        b'{"Type":"container","Action":"start","time":2}\n',
    ]
    return Exchange(
        Request("GET", "/events"),
        Response(200, "OK", HEADERS, chunks=chunks, complete=complete),
    )


def test_a_stream_is_served_chunk_by_chunk() -> None:
    transport = ReplayTransport(cassette(PING, events_exchange(complete=True)))
    with client_for(transport) as client:
        assert [e.action for e in client.system.events()] == ["create", "start"]
        assert client._pool.idle_connections == 1  # ended cleanly, kept alive
    transport.check()


def test_a_stream_the_recording_left_open_times_out_like_a_silent_daemon() -> None:
    transport = ReplayTransport(cassette(PING, events_exchange(complete=False)))
    with client_for(transport, timeout=None) as client:
        client.timeouts = type(client.timeouts)(connect=5, response=5, read=0.5)
        seen = []
        with pytest.raises(TimeoutError):
            for event in client.system.events():
                seen.append(event.action)
        assert seen == ["create", "start"]
    transport.check()


def test_reading_past_the_recording_without_a_timeout_is_a_mismatch() -> None:
    transport = ReplayTransport(cassette(PING, events_exchange(complete=False)))
    with client_for(transport) as client, pytest.raises(ReplayMismatch, match="stopped reading"):
        list(client.system.events())


def test_a_request_never_answered_times_out() -> None:
    stop = Exchange(Request("POST", "/containers/x/stop", [("t", "3")]), None)
    transport = ReplayTransport(cassette(PING, stop))
    with client_for(transport) as client:
        client.timeouts = type(client.timeouts)(connect=5, response=0.5, read=None)
        with pytest.raises(TimeoutError):
            client.send(json_call("POST", "/containers/x/stop", query={"t": 3}))


def test_a_body_delimited_by_closing() -> None:
    export = Exchange(
        Request("GET", "/containers/x/export"),
        Response(200, "OK", HEADERS, body=b"\0" * 5000, until_close=True),
    )
    transport = ReplayTransport(cassette(PING, export, VERSION))
    with client_for(transport) as client:
        with RawStream(
            client, RawCall("ContainerExport", method="GET", path="/containers/x/export")
        ) as stream:
            assert stream.read() == b"\0" * 5000
        assert client._pool.idle_connections == 0  # closed, as the daemon did
        assert client.system.version().version == "28.5.1"  # on a new connection
    transport.check()


def attach_exchange(*, close_write: bool = True) -> Exchange:
    steps = [HijackStep("client", b"hello\n")]
    if close_write:
        steps.append(HijackStep("client", close_write=True))
    steps += [
        HijackStep("daemon", b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"),
        HijackStep("daemon", eof=True),
    ]
    return Exchange(
        Request(
            "POST",
            "/containers/x/attach",
            [("stream", "1"), ("stdin", "1")],
            [("Connection", "Upgrade"), ("Upgrade", "tcp")],
        ),
        Response(101, "UPGRADED", [("Connection", "Upgrade"), ("Upgrade", "tcp")]),
        steps,
    )


ATTACH = json_call("POST", "/containers/x/attach", query={"stream": True, "stdin": True})


def test_hijack_replays_both_directions_and_the_half_close() -> None:
    transport = ReplayTransport(cassette(PING, attach_exchange()))
    with client_for(transport) as client, client.hijack(ATTACH).stream as stream:
        stream.write(b"hel")
        stream.write(b"lo\n")  # other write boundaries than recorded: fine
        stream.close_write()
        out = b""
        while chunk := stream.read(4, timeout=5):
            out += chunk
    assert out == b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"
    transport.check()


def test_hijack_other_client_bytes_are_a_mismatch() -> None:
    transport = ReplayTransport(cassette(PING, attach_exchange()))
    with client_for(transport) as client, client.hijack(ATTACH).stream as stream:
        with pytest.raises(ReplayMismatch, match="other bytes") as info:
            stream.write(b"goodbye\n")
    assert "-hello" in str(info.value) and "+goodbye" in str(info.value)


def test_hijack_a_missing_half_close_is_reported_after_the_patience() -> None:
    transport = ReplayTransport(cassette(PING, attach_exchange()), patience=0.2)
    with client_for(transport) as client, client.hijack(ATTACH).stream as stream:
        stream.write(b"hello\n")
        with pytest.raises(ReplayMismatch, match=r"half-close \(close_write\) here"):
            stream.read(100)


def test_hijack_a_half_close_not_recorded_is_a_mismatch() -> None:
    transport = ReplayTransport(cassette(PING, attach_exchange(close_write=False)))
    with client_for(transport) as client, client.hijack(ATTACH).stream as stream:
        stream.write(b"hello\n")
        with pytest.raises(ReplayMismatch, match="no half-close"):
            stream.close_write()


def test_hijack_a_reader_thread_waits_for_the_writer() -> None:
    transport = ReplayTransport(cassette(PING, attach_exchange()))
    with client_for(transport) as client, client.hijack(ATTACH).stream as stream:
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.append(stream.read(100, timeout=5)))
        reader.start()  # reads before anything is written: waits, as on a real socket
        stream.write(b"hello\n")
        stream.close_write()
        reader.join(5)
    assert out == [b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"]


async def test_async_hijack_with_concurrent_reader_and_writer() -> None:
    transport = ReplayTransport(cassette(PING, attach_exchange()))
    async with AsyncClient(
        "unix:///replay.sock", transport=transport, environ=ISOLATED_ENVIRON
    ) as client:
        async with (await client.hijack(ATTACH)).stream as stream:

            async def read_all() -> bytes:
                out = b""
                while chunk := await stream.read(100, timeout=5):
                    out += chunk
                return out

            reader = asyncio.create_task(read_all())
            await asyncio.sleep(0.01)
            await stream.write(b"hello\n")
            await stream.close_write()
            assert await reader == b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"
    transport.check()


def test_scrubbed_requests_match_when_the_client_sends_the_real_secret() -> None:
    login = Exchange(
        Request(
            "POST",
            "/auth",
            body=b'{"username":"<scrubbed>","password":"<scrubbed>","serveraddress":"r.example"}',
        ),
        Response(200, "OK", HEADERS, body=b'{"Status":"Login Succeeded"}\n'),
    )
    transport = ReplayTransport(cassette(PING, login), scrubber=Scrubber())
    with client_for(transport) as client:
        body = {"username": "me", "password": "hunter2", "serveraddress": "r.example"}
        assert client.send(json_call("POST", "/auth", json_body=body)) == {
            "Status": "Login Succeeded"
        }
    transport.check()


def test_the_client_helpers_replay_and_check_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENGINEAPI_RECORD", raising=False)  # no mode given: replay
    monkeypatch.setenv("DOCKER_API_VERSION", "1.41")  # ignored: replay negotiates as recorded
    path = cassette(PING, VERSION).save(tmp_path / "c.json")
    with engineapi.replay.client(path) as client:
        assert client.system.version().version == "28.5.1"
        assert client.endpoint.host.url == "unix:///replay.sock"
    with pytest.raises(ReplayMismatch, match="never requested"):
        with engineapi.replay.client(path, "replay") as client:
            client.api_version()

    async def main() -> str | None:
        async with engineapi.replay.async_client(path) as client:
            return (await client.system.version()).version

    assert asyncio.run(main()) == "28.5.1"
